"""``tag --cluster``: Dask workers run the tagger, this process alone writes the archive.

The serial tagger is the reference: the same transcripts tagged on a two-worker LocalCluster
must give the same entities and index lemmas, row for row.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from support import db_rows, insert_transcript, run_cli

from livingmemory.archive.store import open_archive
from livingmemory.tagging.pipeline import tag_transcripts

INTERVIEWS = [
    ["Rodila sem se leta 1932 na Jesenicah.", "Oče je delal v železarni, mama pa doma."],
    ["France Prešeren je pisal pesmi.", "Prešeren je živel v Kranju."],
    ["Po vojni smo se preselili v Škofjo Loko.", "Tam sem hodila v šolo."],
    ["V petdesetih letih je Iskra odprla tovarno v Kranju.", "Delala sem pri Iskri."],
    ["Pozimi smo se sankali na Blejskem jezeru.", "Stric Janez Novak je igral harmoniko."],
]
# Columns that say when or which row, not what was found (places are numbered in the order
# results arrive; their names are compared instead).
VOLATILE = {"id", "created_at", "place_id"}


def tagged_state(database: Path) -> tuple[list[dict], list[dict]]:
    entities = [
        {k: v for k, v in row.items() if k not in VOLATILE}
        for row in db_rows(
            database,
            "SELECT e.*, p.name AS place FROM entities e LEFT JOIN places p ON p.id = e.place_id "
            "ORDER BY e.recording_id, e.segment_id, e.start_char, e.label",
        )
    ]
    lemmas = db_rows(database, "SELECT id, lemmas FROM segments ORDER BY id")
    return entities, lemmas


@pytest.mark.slow
def test_local_cluster_tags_like_a_serial_run(archive_db: Path, make_interview) -> None:
    pytest.importorskip("distributed")
    for texts in INTERVIEWS:
        make_interview(texts, narrators=["Marija Košir"])
    clustered = archive_db.parent / "clustered.db"
    shutil.copy(archive_db, clustered)
    with open_archive(archive_db) as archive:
        serial = tag_transcripts(archive)
    result = run_cli(
        "tag", "--archive", clustered, "--cluster", "local", "--workers", "2", "--json"
    )
    assert result.exit_code == 0, str(result)
    entities, lemmas = tagged_state(clustered)
    assert entities, "the serial tagger found nothing: the comparison would prove nothing"
    expected_entities, expected_lemmas = tagged_state(archive_db)
    assert lemmas == expected_lemmas
    for got, expected in zip(entities, expected_entities, strict=True):
        assert got == expected
    assert sorted(serial.tagged) == sorted(
        (row["recording_id"], row["entities"]) for row in json.loads(result.stdout)
    )
    # Resumable: a second run finds every transcript tagged and changes nothing.
    again = run_cli("tag", "--archive", clustered, "--cluster", "local", "--workers", "2")
    assert again.exit_code == 0, str(again)
    assert "Nothing to tag" in again.stdout
    assert tagged_state(clustered) == (entities, lemmas)


def test_bad_cluster_address_is_one_line(archive_db: Path, make_interview) -> None:
    make_interview(INTERVIEWS[0])
    result = run_cli("tag", "--archive", archive_db, "--cluster", "nonsense")
    assert result.exit_code != 0
    assert len(result.error_lines) == 1 and "--cluster 'nonsense'" in result.error_lines[0]
    assert "Traceback" not in result.stdout + result.stderr
    assert db_rows(archive_db, "SELECT count(*) AS n FROM entities")[0]["n"] == 0


def test_tags_of_a_transcript_corrected_meanwhile_are_not_stored(
    archive_db: Path, make_interview
) -> None:
    """A cluster worker may hold a transcript for minutes; if a correction became current in
    the meantime, its result must not replace the new transcript's tags."""
    from livingmemory.errors import LivingMemoryError
    from livingmemory.tagging.fuzzy import FuzzyPlaceSpotter
    from livingmemory.tagging.pipeline import (
        _topic_index,
        analyse,
        archive_gazetteer,
        commit_tags,
        pipeline_for,
        transcript_segments,
        transcripts_to_tag,
    )

    recording_id = make_interview(INTERVIEWS[0])
    with open_archive(archive_db) as archive:
        gazetteer = archive_gazetteer(archive)
        [row] = transcripts_to_tag(archive, gazetteer)
        pipeline = pipeline_for("sl", gazetteer)
        result = analyse(row, transcript_segments(archive, row["id"]), [], pipeline,
                         FuzzyPlaceSpotter(gazetteer), _topic_index())  # fmt: skip
        assert result.rows  # there was something to store
        insert_transcript(archive, recording_id, ["Popravljeno besedilo."], source="human")
        archive.db.conn.commit()
        with pytest.raises(LivingMemoryError, match="changed while it was being tagged"):
            commit_tags(archive, result, gazetteer)
    assert db_rows(archive_db, "SELECT count(*) AS n FROM entities")[0]["n"] == 0

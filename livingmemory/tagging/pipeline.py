"""Tagging transcripts: who, where, when and what about, pointing at the second it is said.

For each current transcript not yet tagged by the current pipeline version (which includes a
fingerprint of the gazetteer and the archive's vocabulary, so adding a place re-tags), run the
language's pipeline over its segments, add approximate place matches and topics, and replace
the transcript's *machine* entities in one transaction. Entities added by people
(``source = 'human'``) are never touched.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Protocol, cast

import yaml
from spacy.tokens import Doc

from livingmemory.archive.store import Archive, utc_now
from livingmemory.errors import InputError, LivingMemoryError
from livingmemory.tagging import LanguagePipeline, pipeline_for, pipeline_version
from livingmemory.tagging.fuzzy import FuzzyPlaceSpotter
from livingmemory.tagging.gazetteer import Gazetteer, load_gazetteer
from livingmemory.transcription.quality import untrusted
from livingmemory.words import fold, lemmatize_word

METHOD_CONFIDENCE = {"gazetteer": 0.95, "model": 0.8, "rule": 0.75, "metadata": 0.95}


@lru_cache(maxsize=1)
def topics() -> dict[str, dict[str, Any]]:
    """The controlled subject list: topic code -> {sl, en, label, lemmas}.

    Codes (``war``, ``farming``...) are what the archive stores, so renaming a label never
    re-tags anything; ``sl`` and ``en`` are the names people read, ``label`` both together.
    """
    text = (resources.files("livingmemory") / "data" / "topics.yml").read_text("utf-8")
    data = yaml.safe_load(text)["topics"]
    for entry in data.values():
        entry["label"] = f"{entry['sl']} / {entry['en']}"
    return data


def topic_label(code: str, language: str | None = "sl") -> str:
    """A topic's name for readers: Slovenian by default, ``en`` for English, ``None`` for
    both ("vojna / war"); an unknown code comes back unchanged."""
    entry = topics().get(code)
    if entry is None:
        return code
    if language in ("sl", "en"):
        return str(entry[language])
    return str(entry["label"])


def _topic_index() -> dict[str, str]:
    index = {}
    for topic, data in topics().items():
        for lemma in data["lemmas"]:
            index[fold(lemma)] = topic
    return index


class TagProgress(Protocol):
    def begin(self, total: int) -> None: ...
    def advance(self, transcript: dict[str, Any], entities: int) -> None: ...


@dataclass
class TagBatch:
    tagged: list[tuple[int, int]] = field(default_factory=list)  # (recording, entities)


VOCABULARY_FILE = "vocabulary.yml"


def archive_gazetteer(archive: Archive) -> Gazetteer:
    """The shipped gazetteer, the archive's ``vocabulary.yml`` (same format as
    ``data/gazetteer.yml``, next to the archive) if present, then ``vocab add`` entries."""
    extra = [p for p in (archive.root / VOCABULARY_FILE,) if p.is_file()]
    return load_gazetteer(extra, vocabulary=archive.db["vocabulary"].rows)


def transcripts_to_tag(
    archive: Archive, gazetteer: Gazetteer, ids: Iterable[int] | None = None, force: bool = False
) -> list[dict[str, Any]]:
    where, params = "", []
    ids = list(ids or [])
    if ids:
        for recording_id in ids:
            archive.recording(recording_id)  # "there is no recording #N": not a silent no-op
        where = f"AND t.recording_id IN ({','.join('?' * len(ids))})"
        params = ids
    rows = archive.db.query(
        "SELECT t.id, t.recording_id, t.language, t.tagged_version, r.language AS "
        "recording_language, r.title FROM transcripts t JOIN recordings r ON r.id = "
        "t.recording_id JOIN current_transcripts c ON c.transcript_id = t.id "
        f"WHERE 1 {where} ORDER BY t.recording_id, t.id",
        params,
    )
    return [
        row
        for row in rows
        if force
        or row["tagged_version"]
        != pipeline_version(row["language"] or row["recording_language"], gazetteer)
    ]


def tag_transcripts(
    archive: Archive,
    ids: Iterable[int] | None = None,
    *,
    force: bool = False,
    progress: TagProgress | None = None,
) -> TagBatch:
    """Tag every transcript that needs it; each one commits on its own."""
    gazetteer = archive_gazetteer(archive)
    todo = transcripts_to_tag(archive, gazetteer, ids, force)
    batch = TagBatch()
    if progress:
        progress.begin(len(todo))
    pipelines: dict[str, LanguagePipeline] = {}
    spotter = FuzzyPlaceSpotter(gazetteer)
    topic_index = _topic_index()
    for row in todo:
        language = row["language"] or row["recording_language"] or "xx"
        if language not in pipelines:
            pipelines[language] = pipeline_for(language, gazetteer)
        count = _tag_one(archive, row, pipelines[language], gazetteer, spotter, topic_index)
        batch.tagged.append((row["recording_id"], count))
        if progress:
            progress.advance(row, count)
    return batch


def index_lemma(token: Any, language: str) -> str:
    """The one lemma a word is indexed by (one per word, so lemma phrases still match).

    lemmagen is case-sensitive: a sentence-initial "Vojna" comes out as "vojen", so an
    ordinary word at the start of a sentence is lemmatised in lower case; names (inside an
    entity) and capitalised words elsewhere keep their case-sensitive lemma ("Kranju" ->
    "kranj").
    """
    lemma = token._.lm_lemma or token.lemma_.casefold()
    if token.is_sent_start and not token.ent_type_ and token.text[:1].isupper():
        return lemmatize_word(token.lower_, language)
    return lemma


def _seconds_at(segment: dict[str, Any], char: int) -> float:
    """When the character at ``char`` is said: from word timestamps if stored, otherwise
    interpolated across the segment."""
    text = segment["text"] or ""
    if segment.get("words"):
        words = json.loads(segment["words"])
        position = 0
        for word in words:
            found = text.find(word["word"].strip(), position)
            if found >= 0:
                position = found + len(word["word"].strip())
                if position > char:
                    return round(float(word["start"]), 2)
    share = char / max(1, len(text))
    return round(segment["start"] + share * (segment["end"] - segment["start"]), 2)


@dataclass
class TagResult:
    """What tagging one transcript found: machine tags and index lemmas, not yet stored.

    Computing it needs no archive (a cluster worker can do it); storing it is
    :func:`commit_tags`, done by the one process that writes the archive.
    """

    transcript_id: int
    recording_id: int
    pipeline_version: str
    segment_ids: list[int]
    lemmas: dict[int, str]
    rows: list[dict[str, Any]]


def transcript_segments(archive: Archive, transcript_id: int) -> list[dict[str, Any]]:
    """The segments the tagger reads, in order."""
    return list(
        archive.db.query(
            "SELECT id, start, end, text, words, flags FROM segments WHERE transcript_id = ? "
            "ORDER BY position",
            [transcript_id],
        )
    )


def analyse(
    transcript: dict[str, Any],
    segments: list[dict[str, Any]],
    people: Iterable[str],
    pipeline: LanguagePipeline,
    spotter: FuzzyPlaceSpotter,
    topic_index: dict[str, str],
) -> TagResult:
    """Tag one transcript's segments (pure: reads nothing, writes nothing)."""
    people = list(people)
    rows, lemmas = [], {}
    context: dict[str, Any] = {}
    for segment in segments:
        doc = run_pipeline(pipeline, segment["text"] or "", people, context)
        lemmas[segment["id"]] = " ".join(
            index_lemma(t, pipeline.language) for t in doc if not t.is_punct and not t.is_space
        )
        if untrusted(segment["flags"]):
            continue  # an echo of the prompt or a loop: no tag from words nobody said
        base = {
            "recording_id": transcript["recording_id"],
            "segment_id": segment["id"],
            "pipeline": pipeline.name,
            "pipeline_version": pipeline.version,
            "source": "machine",
        }
        for entity in doc_entities(doc, pipeline.language, spotter, topic_index, people):
            rows.append(
                {**base, **entity, "start_seconds": _seconds_at(segment, entity["start_char"])}
            )
    return TagResult(
        transcript_id=transcript["id"],
        recording_id=transcript["recording_id"],
        pipeline_version=pipeline.version,
        segment_ids=[s["id"] for s in segments],
        lemmas=lemmas,
        rows=rows,
    )


def commit_tags(archive: Archive, result: TagResult, gazetteer: Gazetteer) -> int:
    """Store one transcript's tags in one transaction: machine tags replaced, human ones kept.

    Raises :class:`LivingMemoryError`, storing nothing, when the transcript is no longer the
    recording's current one (a correction saved while a cluster worker was tagging it): its
    tags would replace the new transcript's, which would then count as tagged.
    """
    db = archive.db
    with db.atomic():
        current = archive.current_transcript(result.recording_id)
        if current is None or current["id"] != result.transcript_id:
            raise LivingMemoryError(
                f"recording #{result.recording_id} changed while it was being tagged: run tag again"
            )
        ids = result.segment_ids
        if ids:
            marks = ",".join("?" * len(ids))
            db.execute(
                f"DELETE FROM entities WHERE source = 'machine' AND segment_id IN ({marks})", ids
            )
        # Tags of transcripts that a newer run or a human review replaced would linger in
        # the facets.
        db.execute(
            "DELETE FROM entities WHERE source = 'machine' AND recording_id = ? AND segment_id IN "
            "(SELECT s.id FROM segments s WHERE s.recording_id = ? AND s.transcript_id != ?)",
            [result.recording_id, result.recording_id, result.transcript_id],
        )
        for segment_id, lemma_text in result.lemmas.items():
            db.execute("UPDATE segments SET lemmas = ? WHERE id = ?", [lemma_text, segment_id])
        rows = [dict(row) for row in result.rows]
        for row in rows:
            entry = gazetteer.get(row["canonical"]) if row["label"] in ("LOC", "ORG") else None
            if entry is not None:
                row["place_id"] = _place_id(archive, entry)
        if rows:
            db.table("entities").insert_all(rows, alter=False)
        db.execute(
            "UPDATE transcripts SET tagged_version = ?, tagged_at = ? WHERE id = ?",
            [result.pipeline_version, utc_now(), result.transcript_id],
        )
    return len(rows)


def _tag_one(
    archive: Archive,
    transcript: dict[str, Any],
    pipeline: LanguagePipeline,
    gazetteer: Gazetteer,
    spotter: FuzzyPlaceSpotter,
    topic_index: dict[str, str],
) -> int:
    segments = transcript_segments(archive, transcript["id"])
    people = archive.people_names(transcript["recording_id"])
    result = analyse(transcript, segments, people, pipeline, spotter, topic_index)
    return commit_tags(archive, result, gazetteer)


def _decade(value: str | None) -> int | None:
    if not value or not value[:4].isdigit():
        return None
    return int(value[:4]) // 10 * 10


def run_pipeline(
    pipeline: LanguagePipeline,
    text: str,
    people: Iterable[str] = (),
    context: dict[str, Any] | None = None,
) -> Doc:
    """Run ``pipeline`` over one piece of text.

    ``people`` are names known from the metadata; ``context`` is carried from one piece to
    the next of the same interview or document, so a surname introduced with its first name
    ("France Prešeren") is found alone later ("Prešeren je ...").
    """
    doc = pipeline.nlp.make_doc(text)
    doc.user_data["people"] = tuple(people)
    doc.user_data["lm_context"] = context if context is not None else {}
    for _, component in pipeline.nlp.pipeline:
        doc = component(doc)
    return doc


# Long: one row layout for every kind of tag (entities, approximate places, topics), so they stay
# comparable.
def doc_entities(
    doc: Doc,
    language: str,
    spotter: FuzzyPlaceSpotter,
    topic_index: dict[str, str],
    people: Iterable[str] = (),
) -> list[dict[str, Any]]:
    """Entities of a tagged doc as rows: label, text, canonical, lemma, value, decade,
    character offsets, confidence and method; approximate places and topics included."""
    people = set(people)
    rows: list[dict[str, Any]] = []
    fuzzy = spotter.spot(doc, language)
    fuzzy_chars = {c for m in fuzzy for c in range(m.start_char, m.end_char)}
    for ent in doc.ents:
        if fuzzy_chars & set(range(ent.start_char, ent.end_char)):
            continue  # a weak rule guess that the gazetteer (fuzzily) identified better
        canonical = ent.ent_id_ or ent._.lm_canonical or ent.text
        method = "gazetteer" if ent.ent_id_ else ("rule" if ent._.lm_canonical else "model")
        if ent.label_ == "PER" and canonical in people:
            method = "metadata"
        value = ent._.lm_value
        rows.append(
            {
                "label": ent.label_,
                "text": ent.text,
                "canonical": canonical,
                "lemma": " ".join(t._.lm_lemma or t.lemma_ for t in ent),
                "value": value,
                "decade": _decade(value),
                "start_char": ent.start_char,
                "end_char": ent.end_char,
                "confidence": min(METHOD_CONFIDENCE[method], ent._.lm_confidence),
                "method": method,
            }
        )
    for match in fuzzy:
        rows.append(
            {
                "label": "LOC",
                "text": match.text,
                "canonical": match.canonical,
                "lemma": None,
                "value": None,
                "decade": None,
                "start_char": match.start_char,
                "end_char": match.end_char,
                "confidence": match.confidence,
                "method": "fuzzy",
            }
        )
    seen: set[str] = set()
    for token in doc:
        forms = token._.lm_forms or (token.lemma_, token.lower_)
        topic = next((topic_index[f] for f in map(fold, forms) if f in topic_index), None)
        if topic and topic not in seen:
            seen.add(topic)
            rows.append(
                {
                    "label": "TOPIC",
                    "text": token.text,
                    "canonical": topic,
                    "lemma": token._.lm_lemma,
                    # Both names, so the published site and exports can show them.
                    "value": topic_label(topic, None),
                    "decade": None,
                    "start_char": token.idx,
                    "end_char": token.idx + len(token.text),
                    "confidence": 0.6,
                    "method": "keyword",
                }
            )
    return rows


class TextTagger:
    """Tag any text outside an archive (``livingmemory entities``, benchmarks).

    One tagger reads one document: calls to :meth:`entities` share what earlier lines
    taught it (people already named in full), as lines of one transcript would; call
    :meth:`new_document` between unrelated texts.
    """

    def __init__(self, language: str, gazetteer: Gazetteer | None = None) -> None:
        self.gazetteer = gazetteer if gazetteer is not None else load_gazetteer()
        self.pipeline = pipeline_for(language, self.gazetteer)
        self.language = self.pipeline.language
        self.spotter = FuzzyPlaceSpotter(self.gazetteer)
        self.topic_index = _topic_index()
        self.context: dict[str, Any] = {}

    def new_document(self) -> None:
        self.context = {}

    def doc(self, text: str, people: Iterable[str] = ()) -> Doc:
        return run_pipeline(self.pipeline, text, people, self.context)

    def entities(
        self, text: str, people: Iterable[str] = (), topics: bool = True
    ) -> list[dict[str, Any]]:
        """Entities in ``text`` sorted by position, each with ``start``/``end`` character
        offsets, ``label``, ``text``, ``canonical``, ``confidence`` and ``method`` (plus
        ``value`` for dates and topic names in both languages)."""
        people = tuple(people)
        doc = self.doc(text, people)
        rows = doc_entities(doc, self.language, self.spotter, self.topic_index, people)
        out = []
        for row in rows:
            if row["label"] == "TOPIC" and not topics:
                continue
            entity = {
                "start": row["start_char"],
                "end": row["end_char"],
                "label": row["label"],
                "text": row["text"],
                "canonical": row["canonical"],
                "confidence": round(float(row["confidence"]), 2),
                "method": row["method"],
            }
            if row["value"] is not None:
                entity["value"] = row["value"]
            if row["label"] == "TOPIC":
                entity["sl"] = topic_label(row["canonical"], "sl")
                entity["en"] = topic_label(row["canonical"], "en")
            out.append(entity)
        return sorted(out, key=lambda e: (e["start"], -e["end"], e["label"]))


def read_text_lines(source: str) -> Iterator[str]:
    """Lines of a file, or of standard input for ``-``; a missing or unreadable file, or
    one that is not UTF-8 text, is an :class:`InputError`."""
    if source == "-":
        yield from sys.stdin
        return
    path = Path(source)
    try:
        with path.open(encoding="utf-8") as handle:
            yield from handle
    except FileNotFoundError:
        raise InputError(source, "no such file") from None
    except IsADirectoryError:
        raise InputError(source, "is a folder, not a text file") from None
    except UnicodeDecodeError:
        raise InputError(source, "not UTF-8 text") from None
    except OSError as error:
        raise InputError(source, f"cannot read ({error.strerror or error})") from None


def tag_lines(
    lines: Iterable[str],
    language: str,
    *,
    source: str = "-",
    gazetteer: Gazetteer | None = None,
    topics: bool = True,
) -> Iterator[dict[str, Any]]:
    """One result per input line: plain text (``{"line", "text", "entities"}``) or JSON
    lines with a ``text`` field (the object's own fields, plus ``entities``).

    The format is chosen by the first non-empty line; offsets count characters of each
    line's text. A JSON line without text, or that does not parse, is an
    :class:`InputError` naming the line.
    """
    tagger = TextTagger(language, gazetteer)
    json_lines: bool | None = None
    for number, line in enumerate(lines, 1):
        line = line.rstrip("\r\n")
        if json_lines is None and line.strip():
            json_lines = line.lstrip().startswith("{")
        if json_lines:
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise InputError(source, f"line {number}: not JSON ({error.msg})") from None
            if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                raise InputError(source, f'line {number}: no "text" field')
            yield {**record, "entities": tagger.entities(record["text"], topics=topics)}
        else:
            yield {"line": number, "text": line, "entities": tagger.entities(line, topics=topics)}


def _place_id(archive: Archive, entry: Any) -> int:
    db = archive.db
    row = db.execute("SELECT id FROM places WHERE name = ?", [entry.name]).fetchone()
    values = [entry.kind, entry.type, entry.region, entry.lat, entry.lon, entry.source]
    if row:
        db.execute(
            "UPDATE places SET kind = ?, type = ?, region = ?, latitude = ?, longitude = ?, "
            "source = ? WHERE id = ?",
            [*values, row[0]],
        )
        return row[0]
    cursor = db.execute(
        "INSERT INTO places (name, kind, type, region, latitude, longitude, source) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [entry.name, *values],
    )
    return cast(int, cursor.lastrowid)  # an INSERT always sets lastrowid

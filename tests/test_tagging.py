"""Tagging: places, people, organisations, dates and topics in transcripts, and re-tagging.

No audio is transcribed here: transcripts are written straight into the archive with known
text (``make_interview`` in conftest), then tagged with ``livingmemory tag`` or
:func:`livingmemory.tagging.pipeline.tag_transcripts`. Tests that look at the spaCy pipelines
directly
build each one once per module.
"""

from __future__ import annotations

import json
import re
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import spacy
from support import (
    SHARED,
    db_rows,
    entity_rows,
    insert_transcript,
    run_cli,
)

from livingmemory.archive.store import open_archive
from livingmemory.tagging import english, generic, pipeline_for, slovenian
from livingmemory.tagging.fuzzy import FuzzyPlaceSpotter
from livingmemory.tagging.gazetteer import load_gazetteer
from livingmemory.tagging.pipeline import METHOD_CONFIDENCE, tag_transcripts, topics

SSJ_TEST = SHARED / "data" / "text" / "sl_ssj_ud" / "sl_ssj-ud-test.conllu"

# -- pipelines, built once per module -------------------------------------------------------


@pytest.fixture(scope="module")
def gazetteer():  # type: ignore[no-untyped-def]
    return load_gazetteer()


@pytest.fixture(scope="module")
def sl_nlp(gazetteer):  # type: ignore[no-untyped-def]
    return slovenian.build("sl", gazetteer)


@pytest.fixture(scope="module")
def en_nlp(gazetteer):  # type: ignore[no-untyped-def]
    return english.build("en", gazetteer)


@pytest.fixture(scope="module")
def de_nlp(gazetteer):  # type: ignore[no-untyped-def]
    return generic.build("de", gazetteer)


@pytest.fixture(scope="module")
def spotter(gazetteer) -> FuzzyPlaceSpotter:  # type: ignore[no-untyped-def]
    return FuzzyPlaceSpotter(gazetteer)


def analyse(nlp: spacy.language.Language, text: str, people: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    """Run a pipeline the way ``tag`` does: the recording's people in ``user_data``."""
    doc = nlp.make_doc(text)
    doc.user_data["people"] = list(people)
    for _, component in nlp.pipeline:
        doc = component(doc)
    return doc


def canonical(ent: Any) -> str:
    """The canonical name ``tag`` stores for an entity."""
    return ent.ent_id_ or ent._.lm_canonical or ent.text


def summary(doc: Any) -> list[tuple[str, str, str]]:
    return [(e.label_, e.text, canonical(e)) for e in doc.ents]


def tag_json(archive_db: Path, *args: object) -> list[dict[str, Any]]:
    result = run_cli("tag", "--archive", archive_db, "--json", *args)
    assert result.exit_code == 0, str(result)
    assert result.exception is None, str(result)
    return json.loads(result.stdout)


def machine_entities(archive_db: Path, recording_id: int | None = None) -> list[dict[str, Any]]:
    if recording_id is None:
        return entity_rows(archive_db, "e.source = 'machine'")
    return entity_rows(archive_db, "e.source = 'machine' AND e.recording_id = ?", (recording_id,))


# -- places: inflected Slovenian names ------------------------------------------------------

# (sentence, the mention as said, canonical name): every case form a narrator uses.
PLACE_MENTIONS = [
    ("Živeli smo v Kranju.", "Kranju", "Kranj"),
    ("Mama je prišla iz Škofje Loke.", "Škofje Loke", "Škofja Loka"),
    ("Oče je delal na Jesenicah.", "Jesenicah", "Jesenice"),
    ("Rodila sem se v Železnikih.", "Železnikih", "Železniki"),
    ("Koča stoji pod Triglavom.", "Triglavom", "Triglav"),
    ("Poleti smo bili na Bledu.", "Bledu", "Bled"),
    ("Pozimi je v Bohinju veliko snega.", "Bohinju", "Bohinj"),
    ("V Kranjski Gori smo smučali.", "Kranjski Gori", "Kranjska Gora"),
    ("Na Pokljuki smo pasli krave.", "Pokljuki", "Pokljuka"),
    ("Brat je študiral v Celovcu.", "Celovcu", "Celovec"),
    ("Stric je odšel v Argentino.", "Argentino", "Argentina"),
    ("Teta je živela v Trstu.", "Trstu", "Trst"),
    ("Oče je delal na Dunaju.", "Dunaju", "Dunaj"),
    ("V Tržiču so delali čevlje.", "Tržiču", "Tržič"),
    ("Hodila sem v šolo v Radovljici.", "Radovljici", "Radovljica"),
    ("Na Jesenice smo se preselili.", "Jesenice", "Jesenice"),
    ("Ob nedeljah smo šli v Ljubljano.", "Ljubljano", "Ljubljana"),
    ("Z Bleda smo prišli peš.", "Bleda", "Bled"),
    ("V Škofji Loki je bil sejem.", "Škofji Loki", "Škofja Loka"),
    ("Z Dunaja je pisal pisma.", "Dunaja", "Dunaj"),
]

# Ordinary sentences without a single name in them (bled = pale: Bled needs a capital).
NO_NAMES = [
    "Bil je bled in utrujen, ker je delal vso noč.",
    "Bila je bleda od strahu.",
    "Vsak dan smo hodili peš v šolo in nazaj domov.",
    "Mama je kuhala kosilo, oče pa je kosil travo.",
    "Pozimi je zapadlo veliko snega in ceste so bile zaprte.",
    "Na njivi smo sadili krompir in fižol.",
]


def test_inflected_slovenian_places_are_all_found(archive_db: Path, make_interview) -> None:
    recording_id = make_interview([s for s, _, _ in PLACE_MENTIONS])
    tag_json(archive_db)
    found = {
        (row["segment_text"], row["text"], row["canonical"])
        for row in machine_entities(archive_db, recording_id)
        if row["label"] == "LOC"
    }
    missed = [m for m in PLACE_MENTIONS if m not in found]
    recall = (len(PLACE_MENTIONS) - len(missed)) / len(PLACE_MENTIONS)
    print(f"inflected place recall: {len(PLACE_MENTIONS) - len(missed)}/{len(PLACE_MENTIONS)}")
    assert not missed, f"recall {recall:.2f}; missed {missed}; found {sorted(found)}"
    # Every one of them is a gazetteer match with the full confidence and a map point.
    rows = [r for r in machine_entities(archive_db, recording_id) if r["label"] == "LOC"]
    assert {r["method"] for r in rows} == {"gazetteer"}
    assert all(r["confidence"] == METHOD_CONFIDENCE["gazetteer"] for r in rows)
    places = {p["name"]: p for p in db_rows(archive_db, "SELECT * FROM places")}
    gazetteer = load_gazetteer()
    for row in rows:
        place = places[row["canonical"]]
        assert row["place_id"] == place["id"]
        entry = gazetteer.get(row["canonical"])
        assert (place["latitude"], place["longitude"]) == (entry.lat, entry.lon)


@pytest.mark.parametrize("sentence", NO_NAMES)
def test_ordinary_slovenian_sentences_have_no_names(sl_nlp, sentence: str) -> None:
    doc = analyse(sl_nlp, sentence)
    assert [e for e in doc.ents if e.label_ in ("LOC", "ORG", "PER")] == [], summary(doc)


# Everyday words that are also a form of a gazetteer name or alias once lemmatised: "pol"
# (half; Pola = Pulj), "sto" (hundred; STO), "kamen" (stone; Kamen), "nemško" (German, the
# language), "prahu" (dust; lemmagen gives "prah" for Praga too), "loki" (a riverside meadow).
COMMON_WORDS = [
    "Čakali smo pol ure na vlak.",
    "To je bilo pred sto leti.",
    "Na njivi je ležal velik kamen.",
    "Doma smo govorili nemško.",
    "Na podstrešju je bilo veliko prahu.",
    "Krave so se pasle na loki ob reki.",
]


@pytest.mark.parametrize("sentence", COMMON_WORDS)
def test_lower_case_everyday_words_are_not_places(sl_nlp, sentence: str) -> None:
    doc = analyse(sl_nlp, sentence)
    assert [e for e in doc.ents if e.label_ in ("LOC", "ORG")] == [], summary(doc)


@pytest.mark.parametrize(
    ("sentence", "mention", "place"),
    [
        ("V KRANJU SMO ŽIVELI", "KRANJU", "Kranj"),
        ("NA JESENICAH SMO DELALI V ŽELEZARNI", "JESENICAH", "Jesenice"),
    ],
)
def test_all_caps_text_still_finds_places(sl_nlp, sentence: str, mention: str, place: str) -> None:
    doc = analyse(sl_nlp, sentence)
    assert ("LOC", mention, place) in summary(doc)


@pytest.mark.parametrize(
    "sentence", ["V KRANJU SMO ŽIVELI", "V HIŠI SMO ŽIVELI SKUPAJ", "POTEM SMO ŠLI DOMOV"]
)
def test_all_caps_words_are_not_people_or_unknown_places(sl_nlp, sentence: str) -> None:
    """Shouting (or an all-caps transcript) makes every word capitalised: that alone must not
    turn "SMO ŽIVELI" ("we lived") into a person or "HIŠI" (house) into a place."""
    doc = analyse(sl_nlp, sentence)
    invented = [e for e in doc.ents if e.label_ == "PER" or (e.label_ == "LOC" and not e.ent_id_)]
    assert invented == [], summary(doc)


# -- dates --------------------------------------------------------------------------------

DATES = [
    ("sl", "Rodil sem se 13. maja 1945 v Kranju.", "13. maja 1945", "1945-05-13"),
    ("sl", "To je bilo leta 1954 poleti.", "leta 1954", "1954"),
    ("sl", "Po vojni je bilo težko.", "Po vojni", "war"),
    ("sl", "Med vojno smo bili doma.", "Med vojno", "war"),
    ("sl", "V petdesetih letih smo gradili hišo.", "petdesetih letih", "1950s"),
    ("sl", "V 50-ih smo gradili hišo.", "50-ih", "1950s"),
    ("en", "My father left Bohinj in 1923.", "1923", "1923"),
    ("en", "In the fifties we moved to Kranj.", "fifties", "1950s"),
    ("en", "After the war my mother worked in Kranj.", "After the war", "war"),
    ("en", "He was born on May 13, 1945.", "May 13, 1945", "1945-05-13"),
    ("en", "We came back to Bohinj in the 1950s.", "1950s", "1950s"),
    ("de", "Nach dem Krieg gingen wir nach Wien.", "Nach dem Krieg", "war"),
    ("de", "Im Jahre 1938 zogen wir um.", "1938", "1938"),
]


@pytest.mark.parametrize(("language", "sentence", "mention", "value"), DATES)
def test_dates_are_normalised(
    request: pytest.FixtureRequest, language: str, sentence: str, mention: str, value: str
) -> None:
    nlp = request.getfixturevalue(f"{language}_nlp")
    doc = analyse(nlp, sentence)
    dates = [e for e in doc.ents if e.label_ == "DATE"]
    assert [(e.text, e._.lm_value) for e in dates if mention in e.text] != [], summary(doc)
    assert value in [e._.lm_value for e in dates if mention in e.text], [
        (e.text, e._.lm_value) for e in dates
    ]


def test_stored_dates_carry_value_and_decade(archive_db: Path, make_interview) -> None:
    texts = [s for lang, s, _, _ in DATES if lang == "sl"]
    recording_id = make_interview(texts)
    tag_json(archive_db)
    rows = [r for r in machine_entities(archive_db, recording_id) if r["label"] == "DATE"]
    stored = {(r["segment_text"], r["value"], r["decade"]) for r in rows}
    for _, sentence, _, value in (d for d in DATES if d[0] == "sl"):
        decade = int(value[:4]) // 10 * 10 if value[:4].isdigit() else None
        assert (sentence, value, decade) in stored, sorted(stored, key=str)
    # Faceting by decade: the 1940s and the 1950s, and undated "war" mentions apart.
    facets = {
        row["decade"]: row["n"]
        for row in db_rows(
            archive_db,
            "SELECT decade, count(*) AS n FROM entities WHERE label = 'DATE' GROUP BY decade",
        )
    }
    expected = Counter(
        int(value[:4]) // 10 * 10 if value[:4].isdigit() else None
        for lang, _, _, value in DATES
        if lang == "sl"
    )
    assert facets == dict(expected)


# -- people -------------------------------------------------------------------------------


def test_narrator_from_metadata_is_tagged_in_any_case_form(
    archive_dir: Path, archive_db: Path, audio_files
) -> None:
    result = run_cli(
        "add", audio_files["wav"], "--archive", archive_db, "--json",
        "--narrator", "Marija Košir", "--language", "sl",
    )  # fmt: skip
    assert result.exit_code == 0, str(result)
    recording_id = json.loads(result.stdout)[0]["recording_id"]
    texts = [
        "Marija Košir je povedala, kako so živeli po vojni.",
        "Dolgo sem se pogovarjala z Marijo Košir.",
    ]
    with open_archive(archive_db) as archive:
        _, segment_ids = insert_transcript(archive, recording_id, texts)
    tag_json(archive_db)
    people = [r for r in machine_entities(archive_db, recording_id) if r["label"] == "PER"]
    assert [(r["segment_id"], r["text"]) for r in people] == [
        (segment_ids[0], "Marija Košir"),
        (segment_ids[1], "Marijo Košir"),
    ]
    assert {r["canonical"] for r in people} == {"Marija Košir"}
    assert {r["method"] for r in people} == {"metadata"}
    assert all(r["confidence"] == METHOD_CONFIDENCE["metadata"] for r in people)


@pytest.mark.parametrize(
    ("sentence", "mention"),
    [
        ("Janez Novak je bil kovač.", "Janez Novak"),
        ("Pri Janezu Novaku smo kupili kravo.", "Janezu Novaku"),
        ("Moj brat Janez Novak je bil kovač.", "Janez Novak"),
    ],
)
def test_first_name_rule_finds_people(
    archive_db: Path, make_interview, sentence: str, mention: str
) -> None:
    recording_id = make_interview([sentence])
    tag_json(archive_db)
    people = [r for r in machine_entities(archive_db, recording_id) if r["label"] == "PER"]
    assert [(r["text"], r["canonical"]) for r in people] == [(mention, "Janez Novak")]
    assert people[0]["method"] == "rule"


# -- organisations --------------------------------------------------------------------------


def test_organisations_rule_gazetteer_and_company(archive_db: Path, make_interview) -> None:
    recording_id = make_interview(
        [
            "Društvo upokojencev Jesenice je organiziralo izlet.",
            "Delala sem v Železarni Jesenice.",
            "Alpina d.d. izdeluje čevlje.",
        ]
    )
    tag_json(archive_db)
    orgs = {
        r["canonical"]: r for r in machine_entities(archive_db, recording_id) if r["label"] == "ORG"
    }
    assert set(orgs) == {"Društvo upokojencev Jesenice", "Železarna Jesenice", "Alpina"}
    assert orgs["Društvo upokojencev Jesenice"]["text"] == "Društvo upokojencev Jesenice"
    assert orgs["Železarna Jesenice"]["text"] == "Železarni Jesenice"
    assert orgs["Železarna Jesenice"]["method"] == "gazetteer"
    assert orgs["Alpina"]["text"].startswith("Alpina")
    # The ironworks has a place with coordinates for the map, taken from the gazetteer.
    entry = load_gazetteer().get("Železarna Jesenice")
    [place] = db_rows(
        archive_db, "SELECT * FROM places WHERE id = ?", (orgs["Železarna Jesenice"]["place_id"],)
    )
    assert place["name"] == "Železarna Jesenice"
    assert place["kind"] == "organisation"
    assert (place["latitude"], place["longitude"]) == (entry.lat, entry.lon)


@pytest.mark.parametrize(
    ("sentence", "mention"),
    [
        ("Oče je delal v Železarni Jesenice kot kovač.", "Železarni Jesenice"),
        ("Železarna Jesenice zaposluje tisoče ljudi.", "Železarna Jesenice"),
        ("Društvo upokojencev Jesenice organizira izlete vsako leto.",
         "Društvo upokojencev Jesenice"),
    ],
)  # fmt: skip
def test_organisation_span_stops_at_the_name(sl_nlp, sentence: str, mention: str) -> None:
    """The organisation rule must not swallow the verb and objects after the name."""
    doc = analyse(sl_nlp, sentence)
    assert [e.text for e in doc.ents if e.label_ == "ORG"] == [mention], summary(doc)


# -- topics -------------------------------------------------------------------------------


def test_topics_from_the_controlled_list(archive_db: Path, make_interview) -> None:
    texts = [
        "Med vojno so partizani prišli na našo kmetijo in vzeli kravo.",
        "Zjutraj smo pili kavo.",
    ]
    recording_id = make_interview(texts)
    tag_json(archive_db)
    rows = [r for r in machine_entities(archive_db, recording_id) if r["label"] == "TOPIC"]
    first = [r for r in rows if r["segment_text"] == texts[0]]
    assert {r["canonical"] for r in first} >= {"war", "farming"}
    assert {r["canonical"] for r in rows} <= set(topics())
    # One TOPIC row per topic and segment, pointing at a word that really is there.
    assert len(first) == len({r["canonical"] for r in first})
    for row in rows:
        assert row["segment_text"][row["start_char"] : row["end_char"]] == row["text"]
        assert row["method"] == "keyword"


@pytest.mark.parametrize(
    ("sentence", "topic"),
    [
        ("Vojna je vzela očeta.", "war"),
        ("Šola je bila daleč od doma.", "school"),
        ("Mama je vsak dan pekla kruh.", "family"),
    ],
)
def test_topic_word_at_the_start_of_a_sentence(
    archive_db: Path, make_interview, sentence: str, topic: str
) -> None:
    """Sentence-initial capitals must not hide a topic word ("Vojna" is still vojna)."""
    recording_id = make_interview([sentence])
    tag_json(archive_db)
    rows = [r for r in machine_entities(archive_db, recording_id) if r["label"] == "TOPIC"]
    assert topic in {r["canonical"] for r in rows}, rows


# -- approximate places (noisy transcripts) -----------------------------------------------


def test_whisper_mangled_place_is_found_fuzzily(archive_db: Path, make_interview) -> None:
    """Offline Whisper wrote "na Jesenicah" as "na jese nitsa" (see fuzzy.py)."""
    sentence = "Potem smo živeli na jese nitsa."
    recording_id = make_interview([sentence])
    tag_json(archive_db)
    rows = [r for r in machine_entities(archive_db, recording_id) if r["label"] == "LOC"]
    assert [(r["canonical"], r["method"]) for r in rows] == [("Jesenice", "fuzzy")], rows
    row = rows[0]
    assert row["confidence"] < METHOD_CONFIDENCE["gazetteer"]
    assert sentence[row["start_char"] : row["end_char"]] == row["text"] == "jese nitsa"
    assert row["place_id"] is not None


@pytest.mark.parametrize(
    ("sentence", "mention", "place"),
    [
        ("Skofja Loka je lepo mesto.", "Skofja Loka", "Škofja Loka"),
        ("Prišla je iz Skofje Loke.", "Skofje Loke", "Škofja Loka"),
        ("Rodila sem se v Skofji Loki.", "Skofji Loki", "Škofja Loka"),
        ("Rodila sem se v Zeleznikih.", "Zeleznikih", "Železniki"),
    ],
)
def test_unaccented_place_names(sl_nlp, spotter, sentence: str, mention: str, place: str) -> None:
    """Correctly spelled names without their č, š, ž: the place, and only it, is found, and
    the tag covers the whole name as said."""
    doc = analyse(sl_nlp, sentence)
    fuzzy = spotter.spot(doc)
    # As the tagger does (tag.py): a fuzzy gazetteer match replaces entities it overlaps.
    covered = {c for m in fuzzy for c in range(m.start_char, m.end_char)}
    found = {
        (e.text, canonical(e))
        for e in doc.ents
        if e.label_ == "LOC" and not covered & set(range(e.start_char, e.end_char))
    }
    found |= {(m.text, m.canonical) for m in fuzzy}
    assert {p for _, p in found} == {place}, found
    assert (mention, place) in found, found


CLEAN_SENTENCES = [
    "Vsak dan smo hodili peš v šolo in nazaj domov.",
    "Mama je kuhala kosilo, oče pa je kosil travo.",
    "Po vojni je postal kovač.",
    "Otroci so pustili kolesa pred hišo.",
    "Zdravnik je rekel, da ima motnje srca.",
    "Na vso moč se je branil.",
    "Ločimo še zeleni in črni čaj.",
    "Oče je šel v vojsko in postal partizan.",
    "Šli smo do vode in nazaj.",
    "Otrok je hodil po štirih.",
    "We went to school every day and came home in the evening.",
    "It was a hard life, but we were happy.",
    "My brother became a postal worker in the town.",
]


@pytest.mark.parametrize("sentence", CLEAN_SENTENCES)
def test_no_fuzzy_places_in_clean_text(
    request: pytest.FixtureRequest, spotter, sentence: str
) -> None:
    nlp = request.getfixturevalue("en_nlp" if sentence.isascii() else "sl_nlp")
    matches = spotter.spot(analyse(nlp, sentence))
    assert matches == [], matches


@pytest.mark.shared
def test_fuzzy_matches_per_thousand_sentences_in_ssj(sl_nlp, spotter) -> None:
    """Precision on real, clean Slovenian: the SSJ UD test set (1282 sentences of news,
    fiction and science, no place names misspelled), so every fuzzy match is a false one.
    Each is printed for a human to judge.

    Measured 2026-11: before the preposition rule in fuzzy.py, 79 matches (61.6 per 1000:
    "postal" -> Puštal, "motnje" -> Mošnje, "slovenska" -> Slovenija ...); with it, 9
    matches = 7.0 per 1000, all false ("in postal" -> Puštal twice, "do motnje" -> Mošnje,
    "s sesanjem" -> Sežana, "v krvave" -> Krvavec, "na štirih" -> Štajerska, "od vode in" ->
    Bohinj via Wochein, "do nošenja" -> Nomenj, "na ... Primorskih" -> Primorska). The bound
    keeps a margin over that; lower it as precision improves, never raise it.
    """
    if not SSJ_TEST.is_file():
        pytest.skip(f"shared text corpus not found at {SSJ_TEST}")
    texts = [
        line[len("# text = ") :].strip()
        for line in SSJ_TEST.read_text(encoding="utf-8").splitlines()
        if line.startswith("# text = ")
    ]
    assert len(texts) > 1000
    matches = []
    for text in texts:
        for match in spotter.spot(analyse(sl_nlp, text)):
            matches.append(match)
            print(f"fuzzy: {match.text!r} -> {match.canonical} (d={match.distance}) | {text[:100]}")
    per_thousand = 1000 * len(matches) / len(texts)
    print(f"{len(matches)} fuzzy matches in {len(texts)} sentences = {per_thousand:.1f} per 1000")
    assert per_thousand < FUZZY_PER_THOUSAND_BOUND


# Measured 7.0 per 1000 (9 in 1282 sentences, see above); 10 leaves room for 3-4 more.
FUZZY_PER_THOUSAND_BOUND = 10.0


# -- timing: the second it is said ----------------------------------------------------------


def test_entity_time_from_word_timestamps_or_interpolated(archive_db: Path, make_interview) -> None:
    texts = ["Živeli smo v Kranju.", "Potem smo se preselili na Jesenice."]
    words = [
        [
            {"word": " Živeli", "start": 100.0, "end": 100.5, "probability": 0.9},
            {"word": " smo", "start": 100.5, "end": 100.8, "probability": 0.9},
            {"word": " v", "start": 100.8, "end": 101.0, "probability": 0.9},
            {"word": " Kranju.", "start": 101.3, "end": 101.9, "probability": 0.9},
        ],
        None,
    ]
    recording_id = make_interview(texts, starts=[100.0, 200.0], words=words)
    tag_json(archive_db)
    rows = {r["canonical"]: r for r in machine_entities(archive_db, recording_id)}
    assert rows["Kranj"]["start_seconds"] == pytest.approx(101.3)
    # No word timestamps: interpolated over the segment (200 s + 5 s long).
    share = texts[1].index("Jesenice") / len(texts[1])
    assert rows["Jesenice"]["start_seconds"] == pytest.approx(200.0 + share * 5.0, abs=0.01)


# -- re-tagging -----------------------------------------------------------------------------

INTERVIEW = [
    "Rodila sem se 13. maja 1945 v Kranju.",
    "Po vojni je oče delal v Železarni Jesenice.",
    "Janez Novak je bil kovač na Jesenicah.",
    "Med vojno so partizani prišli na našo kmetijo.",
]


def _entity_keys(rows: list[dict[str, Any]]) -> list[tuple]:  # type: ignore[type-arg]
    return sorted(
        (r["segment_id"], r["label"], r["text"], r["canonical"], r["start_char"], r["method"])
        for r in rows
    )


def test_second_tag_run_does_nothing(archive_db: Path, make_interview) -> None:
    recording_id = make_interview(INTERVIEW)
    [first] = tag_json(archive_db)
    rows = machine_entities(archive_db)
    assert first == {"recording_id": recording_id, "entities": len(rows)}
    assert len(rows) >= 8
    [transcript] = db_rows(archive_db, "SELECT * FROM transcripts")
    assert transcript["tagged_version"] and transcript["tagged_at"]

    assert tag_json(archive_db) == []
    again = run_cli("tag", "--archive", archive_db)
    assert again.exit_code == 0, str(again)
    assert "Nothing to tag" in again.stdout
    assert machine_entities(archive_db) == rows  # same rows, same ids: nothing rewritten
    assert db_rows(archive_db, "SELECT * FROM transcripts") == [transcript]


def test_force_retags_with_identical_result(archive_db: Path, make_interview) -> None:
    recording_id = make_interview(INTERVIEW)
    tag_json(archive_db)
    before = machine_entities(archive_db)
    [forced] = tag_json(archive_db, "--force")
    after = machine_entities(archive_db)
    assert forced == {"recording_id": recording_id, "entities": len(before)}
    assert len(after) == len(before)
    assert _entity_keys(after) == _entity_keys(before)
    # Only this recording when one is named.
    other = make_interview(["Živeli smo v Kranju."])
    assert [r["recording_id"] for r in tag_json(archive_db, other, "--force")] == [other]


def test_human_tags_survive_retagging(archive_db: Path, make_interview) -> None:
    recording_id = make_interview(INTERVIEW)
    tag_json(archive_db)
    [segment] = db_rows(archive_db, "SELECT id, text FROM segments WHERE position = 1")
    human = {
        "recording_id": recording_id,
        "segment_id": segment["id"],
        "label": "PER",
        "text": "oče",
        "canonical": "Franc Košir",
        "start_char": segment["text"].index("oče"),
        "end_char": segment["text"].index("oče") + 3,
        "source": "human",
    }
    with open_archive(archive_db) as archive:
        human_id = archive.db["entities"].insert(human).last_pk
    machine = _entity_keys(machine_entities(archive_db))
    tag_json(archive_db, "--force")
    [kept] = entity_rows(archive_db, "e.source = 'human'")
    assert kept["id"] == human_id
    assert {k: kept[k] for k in human} == human
    assert _entity_keys(machine_entities(archive_db)) == machine


def test_retranscribed_recording_keeps_no_stale_machine_tags(
    archive_db: Path, make_interview
) -> None:
    """A new current transcript replaces the old one; the old one's machine tags must not
    linger in the facets (they point at text that is no longer the transcript)."""
    recording_id = make_interview(["Živeli smo v Kranju."])
    tag_json(archive_db)
    with open_archive(archive_db) as archive:
        _, new_segments = insert_transcript(archive, recording_id, ["Živeli smo v Tržiču."])
    tag_json(archive_db)
    rows = machine_entities(archive_db, recording_id)
    assert {r["segment_id"] for r in rows} == set(new_segments)
    assert {r["canonical"] for r in rows if r["label"] == "LOC"} == {"Tržič"}


# -- the archive's own vocabulary -----------------------------------------------------------


def test_vocab_add_makes_tag_rerun_and_find_the_new_place(archive_db: Path, make_interview) -> None:
    sentence = "Poleti smo bili na Planini Konjščici."
    recording_id = make_interview([sentence])
    tag_json(archive_db)
    assert not [r for r in machine_entities(archive_db) if r["method"] == "gazetteer"]
    [before] = db_rows(archive_db, "SELECT tagged_version FROM transcripts")

    added = run_cli(
        "vocab", "add", "Planina Konjščica", "--type", "pasture",
        "--lat", "46.29", "--lon", "13.98", "--archive", archive_db,
    )  # fmt: skip
    assert added.exit_code == 0, str(added)
    [entry] = db_rows(archive_db, "SELECT * FROM vocabulary")
    assert (entry["name"], entry["kind"], entry["type"]) == (
        "Planina Konjščica",
        "place",
        "pasture",
    )

    # No --force: the vocabulary changed, so the pipeline version did, so it re-tags.
    result = run_cli("tag", "--archive", archive_db)
    assert result.exit_code == 0, str(result)
    assert "Nothing to tag" not in result.stdout
    [after] = db_rows(archive_db, "SELECT tagged_version FROM transcripts")
    assert after["tagged_version"] != before["tagged_version"]
    [row] = [r for r in machine_entities(archive_db, recording_id) if r["label"] == "LOC"]
    assert (row["text"], row["canonical"], row["method"]) == (
        "Planini Konjščici",
        "Planina Konjščica",
        "gazetteer",
    )
    [place] = db_rows(archive_db, "SELECT * FROM places WHERE id = ?", (row["place_id"],))
    assert (place["name"], place["type"]) == ("Planina Konjščica", "pasture")
    assert place["latitude"] == pytest.approx(46.29)
    assert place["longitude"] == pytest.approx(13.98)
    assert tag_json(archive_db) == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--kind", "river"], "unknown kind"),
        (["--lat", "46.29"], "--lon"),
        (["--lon", "13.98"], "--lat"),
        (["--lat", "146.29", "--lon", "13.98"], "not on Earth"),
    ],
)
def test_vocab_add_bad_input_is_one_line_error(
    archive_db: Path, options: list[str], message: str
) -> None:
    result = run_cli("vocab", "add", "Planina Konjščica", *options, "--archive", archive_db)
    assert result.exit_code == 1, str(result)
    assert result.exception is None, str(result)
    assert len(result.error_lines) == 1, str(result)
    assert message in result.error_lines[0]
    assert "Traceback" not in result.stdout + result.stderr
    assert db_rows(archive_db, "SELECT * FROM vocabulary") == []


def test_vocab_list_shows_added_entries(archive_db: Path) -> None:
    for name in ("Planina Konjščica", "Zadruga Bohinj"):
        kind = "place" if name.startswith("Planina") else "organisation"
        assert run_cli("vocab", "add", name, "--kind", kind, "--archive", archive_db).exit_code == 0
    result = run_cli("vocab", "list", "--archive", archive_db, "--json")
    assert result.exit_code == 0, str(result)
    listed = {row["name"]: row["kind"] for row in json.loads(result.stdout)}
    assert listed == {"Planina Konjščica": "place", "Zadruga Bohinj": "organisation"}


# -- languages ------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["it", "fi", None])
def test_language_without_pipeline_falls_back_with_a_warning(
    archive_db: Path, make_interview, language: str | None
) -> None:
    recording_id = make_interview(
        ["Trieste 1950.", "Mio padre lavorava a Trieste nel 1950."], language=language
    )
    with open_archive(archive_db) as archive, pytest.warns(UserWarning, match="no tagging"):
        batch = tag_transcripts(archive)
    assert [r for r, _ in batch.tagged] == [recording_id]
    rows = machine_entities(archive_db, recording_id)
    assert ("LOC", "Trst") in {(r["label"], r["canonical"]) for r in rows}
    assert ("DATE", "1950") in {(r["label"], r["value"]) for r in rows}
    assert {r["pipeline"] for r in rows} == {f"generic-rules-{language or 'xx'}"}


def test_language_without_pipeline_through_the_cli(archive_db: Path, make_interview) -> None:
    recording_id = make_interview(["Isäni asui Helsingissä vuonna 1950."], language="fi")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        [tagged] = tag_json(archive_db)
    assert tagged["recording_id"] == recording_id
    dates = [r for r in machine_entities(archive_db) if r["label"] == "DATE"]
    assert [(r["value"], r["decade"]) for r in dates] == [("1950", 1950)]


def test_german_uses_lemmagen_without_warning(archive_db: Path, make_interview) -> None:
    recording_id = make_interview(
        ["Mein Vater arbeitete in Klagenfurt.", "Nach dem Krieg gingen wir nach Wien."],
        language="de",
    )
    with open_archive(archive_db) as archive, warnings.catch_warnings():
        warnings.simplefilter("error")
        tag_transcripts(archive)
    rows = machine_entities(archive_db, recording_id)
    got = {(r["label"], r["text"], r["canonical"]) for r in rows if r["label"] != "TOPIC"}
    assert ("LOC", "Klagenfurt", "Celovec") in got
    assert ("LOC", "Wien", "Dunaj") in got
    assert ("DATE", "war") in {(r["label"], r["value"]) for r in rows}


@pytest.mark.parametrize(
    "sentence",
    ["Wir haben in der Schule Deutsch gelernt.", "Mein Vater hat im Winter Holz gehackt."],
)
def test_german_capitalised_nouns_are_not_names(de_nlp, sentence: str) -> None:
    """German capitalises every noun: two nouns in a row are not a person's name, and
    "Schule" (school) followed by more words is not an organisation."""
    doc = analyse(de_nlp, sentence)
    assert [e for e in doc.ents if e.label_ in ("PER", "ORG")] == [], summary(doc)


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        ("de", "Im Jahre 1938 kam er spät nach Hause."),
        ("de", "Wir kommen aus einem kleinen Dorf."),
        ("it", "Siamo andati a casa."),
    ],
)
def test_generic_pipeline_does_not_turn_verbs_into_places(
    gazetteer, language: str, sentence: str
) -> None:
    """Gazetteer names lemmatised as if they were German or Italian words become verbs
    ("Kamen" -> "kommen", "Sava" -> "essere"), which then match every "kam" or "siamo"."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nlp = pipeline_for(language, gazetteer).nlp
    doc = analyse(nlp, sentence)
    assert [e for e in doc.ents if e.label_ == "LOC"] == [], summary(doc)


# -- empty transcripts ----------------------------------------------------------------------


def test_empty_transcripts_tag_without_error(archive_db: Path, make_interview) -> None:
    no_segments = make_interview([])
    blank = make_interview(["", "   ", "…"])
    result = run_cli("tag", "--archive", archive_db, "--json")
    assert result.exit_code == 0, str(result)
    assert result.exception is None, str(result)
    assert json.loads(result.stdout) == [
        {"recording_id": no_segments, "entities": 0},
        {"recording_id": blank, "entities": 0},
    ]
    versions = db_rows(archive_db, "SELECT tagged_version FROM transcripts")
    assert all(v["tagged_version"] for v in versions)
    assert tag_json(archive_db) == []


# -- English ----------------------------------------------------------------------------------


def test_english_pipeline(archive_db: Path, make_interview) -> None:
    sentence = "My father left Bohinj in 1923 and worked in Cleveland."
    recording_id = make_interview([sentence], language="en")
    tag_json(archive_db)
    rows = [r for r in machine_entities(archive_db, recording_id) if r["label"] != "TOPIC"]
    got = {(r["label"], r["text"], r["canonical"]) for r in rows}
    assert {("LOC", "Bohinj", "Bohinj"), ("LOC", "Cleveland", "Cleveland")} <= got
    [date] = [r for r in rows if r["label"] == "DATE"]
    assert (date["text"], date["value"], date["decade"]) == ("1923", "1923", 1920)
    bohinj = next(r for r in rows if r["canonical"] == "Bohinj")
    assert bohinj["method"] == "gazetteer"
    assert bohinj["place_id"] is not None
    assert {r["pipeline"] for r in rows} == {"en_core_web_sm-rules-en"}
    for row in rows:
        assert sentence[row["start_char"] : row["end_char"]] == row["text"]


def test_english_model_entities_are_mapped_to_archive_labels(en_nlp) -> None:
    doc = analyse(en_nlp, "Mary Smith met the mayor of Pittsburgh at Ellis Island in 1920.")
    assert {e.label_ for e in doc.ents} <= {"LOC", "ORG", "PER", "DATE"}
    assert ("PER", "Mary Smith") in {(e.label_, e.text) for e in doc.ents}


# -- serialisation ----------------------------------------------------------------------------

SERIALISE = [
    "Rodila sem se 13. maja 1945 v Kranju.",
    "Mama je prišla iz Škofje Loke, oče pa je delal v Železarni Jesenice.",
    "Janez Novak je bil kovač na Jesenicah.",
    "Z Marijo Košir smo po vojni hodili na Pokljuko.",
    "Društvo upokojencev Jesenice je organiziralo izlet v Celovec.",
]


def test_slovenian_pipeline_survives_to_disk_and_spacy_load(sl_nlp, tmp_path: Path) -> None:
    from livingmemory.tagging import register_components

    register_components()  # what a fresh process does before spacy.load

    sl_nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    assert loaded.pipe_names == sl_nlp.pipe_names
    for text in SERIALISE:
        original = analyse(sl_nlp, text, ("Marija Košir",))
        again = analyse(loaded, text, ("Marija Košir",))
        assert original.ents, text
        assert [
            (e.label_, e.start_char, e.end_char, canonical(e), e._.lm_value) for e in again.ents
        ] == [
            (e.label_, e.start_char, e.end_char, canonical(e), e._.lm_value) for e in original.ents
        ]


def test_pipeline_version_changes_with_the_gazetteer(gazetteer) -> None:
    from livingmemory.tagging import pipeline_version

    extended = load_gazetteer(
        vocabulary=[{"name": "Planina Konjščica", "kind": "place", "latitude": 46.29,
                     "longitude": 13.98}]
    )  # fmt: skip
    assert pipeline_version("sl", gazetteer) == pipeline_version("sl", load_gazetteer())
    assert pipeline_version("sl", extended) != pipeline_version("sl", gazetteer)
    assert re.fullmatch(r".+\+gaz\.[0-9a-f]{10}", pipeline_version("sl", gazetteer))

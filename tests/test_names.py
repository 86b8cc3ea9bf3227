"""Slovenian names without a model: each rule family of ``lm_sl_names`` on real Slovenian
sentences (written for these tests), the traps of issue 16, the ``entities`` command and the
gold-file benchmark reader."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support import SHARED, entity_rows, run_cli

from livingmemory.tagging.gazetteer import load_gazetteer
from livingmemory.tagging.pipeline import TextTagger, tag_lines, topic_label, topics

ROOT = Path(__file__).resolve().parents[1]
SSJ_TEST = SHARED / "data" / "text" / "sl_ssj_ud" / "sl_ssj-ud-test.conllu"


@pytest.fixture(scope="module")
def tagger() -> TextTagger:
    return TextTagger("sl", load_gazetteer())


def found(tagger: TextTagger, text: str) -> list[tuple[str, str, str]]:
    tagger.new_document()
    return [(e["text"], e["label"], e["canonical"]) for e in tagger.entities(text, topics=False)]


# -- people ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "mention", "canonical"),
    [
        ("France Prešeren je živel v Kranju.", "France Prešeren", "France Prešeren"),
        ("V šoli smo brali Franceta Prešerna.", "Franceta Prešerna", "France Prešeren"),
        ("Ana je šla k Petru Novaku v Kranj.", "Petru Novaku", "Peter Novak"),
        # a foreign name: the extent is right; its nominative is lemmagen's guess
        ("Potem ko so bili Francozi izgnani, je vladal Mohamed Ali Paša.", "Mohamed Ali Paša",
         None),
    ],
)  # fmt: skip
def test_first_name_and_capitalised_words_are_a_person(
    tagger: TextTagger, sentence: str, mention: str, canonical: str | None
) -> None:
    result = found(tagger, sentence)
    assert (mention, "PER") in {(t, label) for t, label, _ in result}
    if canonical:
        assert (mention, "PER", canonical) in result


def test_first_name_before_a_surname_is_no_country(tagger: TextTagger) -> None:
    """The trap: "France" alone is in the gazetteer as Francija."""
    labels = {(text, label) for text, label, _ in found(tagger, "France Prešeren je pesnik.")}
    assert ("France Prešeren", "PER") in labels
    assert not any(label == "LOC" for _, label in labels)


@pytest.mark.parametrize(
    ("sentence", "mention"),
    [
        ("Gospod Kopitar je prišel na obisk.", "Kopitar"),
        ("Župnik Kos je maševal vsako nedeljo.", "Kos"),
        ("Pri pouku nas je učitelj Zupan učil zgodovino.", "Zupan"),
        ("Anka je v tretjem letu vladanja ubil princ Majova no Okimi.", "Majova no Okimi"),
    ],
)
def test_surname_after_a_title_or_role(tagger: TextTagger, sentence: str, mention: str) -> None:
    assert (mention, "PER") in {(t, label) for t, label, _ in found(tagger, sentence)}


def test_role_before_a_place_keeps_the_place(tagger: TextTagger) -> None:
    result = found(tagger, "Bil je predsednik Slovenije in župan Kranja.")
    assert ("Slovenije", "LOC", "Slovenija") in result
    assert ("Kranja", "LOC", "Kranj") in result
    assert not any(label == "PER" for _, label, _ in result)


@pytest.mark.parametrize(
    ("sentence", "mention", "canonical"),
    [
        ("Vsi so brali Cankarja in Prešerna.", "Prešerna", "Prešeren"),
        ("Rešitev je našel šele Eulerju podoben matematik.", "Eulerju", "Euler"),
        ("O tem je pisal že Trubar.", "Trubar", "Trubar"),
    ],
)
def test_known_surnames_alone_in_any_case(
    tagger: TextTagger, sentence: str, mention: str, canonical: str
) -> None:
    assert (mention, "PER", canonical) in found(tagger, sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "Kos je zletel na češnjo.",  # a blackbird, at the start of a sentence
        "Kralj je imel tri hčere.",  # a king
        "Rad je hodil v hribe.",  # "gladly", not Rado
        "Vera v Boga je bila močna.",  # faith, and God is no place
        "Zdravljenje in odziv na zdravljenje sta si podobna.",
    ],
)
def test_everyday_words_are_not_people(tagger: TextTagger, sentence: str) -> None:
    assert [e for e in found(tagger, sentence) if e[1] in ("PER", "LOC")] == []


def test_a_surname_named_in_full_is_found_alone_later(tagger: TextTagger) -> None:
    tagger.new_document()
    tagger.entities("Moj sosed Tone Hribovšek je bil kovač.")
    later = tagger.entities("Hribovška so vsi poznali.", topics=False)
    assert [(e["text"], e["label"], e["canonical"]) for e in later] == [
        ("Hribovška", "PER", "Tone Hribovšek")
    ]
    tagger.new_document()  # another text: the memory is gone
    assert tagger.entities("Hribovška so vsi poznali.", topics=False) == []


def test_names_of_peoples_are_people(tagger: TextTagger) -> None:
    result = found(tagger, "Med vojno so Nemci izselili mnogo Slovencev.")
    assert ("Nemci", "PER", "Nemec") in result
    assert ("Slovencev", "PER", "Slovenec") in result


def test_first_name_alone_inside_a_sentence(tagger: TextTagger) -> None:
    assert ("Micko", "PER", "Micka") in found(tagger, "Takrat sem spoznala Micko.")


# -- organisations -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "mention"),
    [
        ("Vlada Republike Slovenije je sprejela sklep.", "Vlada Republike Slovenije"),
        ("Ministrstvo za kmetijstvo in gozdarstvo je objavilo razpis.",
         "Ministrstvo za kmetijstvo in gozdarstvo"),
        ("Oče je bil član Društva kmečkih žena Cerklje.", "Društva kmečkih žena Cerklje"),
        ("Zakon je sprejel Državni zbor.", "Državni zbor"),
        ("Dela pri NK Triglav že deset let.", "NK Triglav"),
        ("Podporo je napovedal tudi NATO.", "NATO"),
    ],
)  # fmt: skip
def test_organisation_patterns(tagger: TextTagger, sentence: str, mention: str) -> None:
    assert (mention, "ORG") in {(t, label) for t, label, _ in found(tagger, sentence)}


def test_government_is_an_organisation_not_a_place(tagger: TextTagger) -> None:
    result = found(tagger, "Vlada Republike Slovenije je sprejela sklep.")
    assert not any(label == "LOC" for _, label, _ in result)


@pytest.mark.parametrize(
    ("sentence", "mention", "canonical"),
    [
        ("Delal je pri Petrolu.", "Petrolu", "Petrol"),
        ("Kupovali smo v Poslovnem sistemu Mercator.", "Poslovnem sistemu Mercator", "Mercator"),
        ("Mama je bila zaposlena v Krki.", "Krki", "Krka"),
    ],
)
def test_known_companies_in_any_inflection(
    tagger: TextTagger, sentence: str, mention: str, canonical: str
) -> None:
    assert (mention, "ORG", canonical) in found(tagger, sentence)


def test_acronym_explaining_a_common_noun_is_no_organisation(tagger: TextTagger) -> None:
    result = found(tagger, "Respiratorni sincicijski virus (RSV) se širi s stikom.")
    assert not any(label == "ORG" for _, label, _ in result)


def orgs(tagger: TextTagger, text: str) -> list[str]:
    return [t for t, label, _ in found(tagger, text) if label == "ORG"]


@pytest.mark.parametrize(
    ("sentence", "wanted"),
    [
        # a kind of thing before capitals: a type or a standard, not a body
        ("Prednost zaslonov IPS je v veliki kotni vidljivosti.", []),
        ("Nasičene maščobe zvišujejo holesterol LDL.", []),
        ("Strani so napisane v jeziku HTML, ki ga razume vsak brskalnik.", []),
        # a term's short form after "angl."
        ("Novejša so tipala, imenovana mikroelektromehanski sistemi (angl. MEMS).", []),
        # a headline in capitals, a speaker label
        ("STRAH PRED PODRAŽITVIJO - V Krškem prenavljajo pošto.", []),
        ("JAZ: Zdi se mi, da to ni posrečeno.", []),
        # units, championships and roman numerals are no organisations
        ("Hiša porabi 4000 kWh elektrike, lani je bilo januarsko SP za moške.", []),
        ("Po II. svetovni vojni je Občina Radovljica dobila novo šolo.",
         ["Občina Radovljica"]),
        ("Leta 1945 je kralj Peter II. zapustil državo.", []),
        # the genitive of a real body after a noun stays one
        ("Strokovnjaki OECD napovedujejo rast, skupščina ZZZS pa o tem odloča.",
         ["OECD", "ZZZS"]),
        ("Casagrande je prvi na svetovni lestvici UCI.", ["UCI"]),
        ("Film sem si ogledal na programu HBO.", ["HBO"]),
        # an acronym with a case ending; a model number is none
        ("Poslanci SDS-a so glasovali proti.", ["SDS-a"]),
        ("Nadomestil ga je AH-64, ki je bil hitrejši.", []),
    ],
)  # fmt: skip
def test_acronyms_of_things_and_headlines_are_no_organisations(
    tagger: TextTagger, sentence: str, wanted: list[str]
) -> None:
    assert orgs(tagger, sentence) == wanted


def test_an_acronym_matches_only_its_own_spelling(tagger: TextTagger) -> None:
    """ "EU" lemmatised to "e": a lone "E" (a car class, a vitamin) was the European Union."""
    assert orgs(tagger, "Lani predstavljeni avtomobili razreda E so zahtevni.") == []
    assert orgs(tagger, "Vitamini A, D, E in K so topni v maščobi.") == []
    result = found(tagger, "O tem so v EU-ju odločili lani, Slovenija pa je članica EU.")
    assert [(t, c) for t, label, c in result if label == "ORG"] == [
        ("EU-ju", "Evropska unija"),
        ("EU", "Evropska unija"),
    ]


def test_organisation_names_start_with_a_capital(tagger: TextTagger) -> None:
    """Slovenski pravopis: a name is capitalised; "državni zbor", "slovenska vlada" written
    small describe the body, and gold NER leaves them out."""
    assert orgs(tagger, "Predlog je potem poslal v državni zbor, slovenska vlada pa ga je "
                        "podprla.") == []  # fmt: skip
    assert orgs(tagger, "Predlog je potem poslal v Državni zbor.") == ["Državni zbor"]


@pytest.mark.parametrize(
    ("sentence", "wanted"),
    [
        # a list inside the "za" phrase, closed by "in"
        ("Ministrstvo za kmetijstvo, gozdarstvo in prehrano bo razpis objavilo jutri.",
         ["Ministrstvo za kmetijstvo, gozdarstvo in prehrano"]),
        # a list that no "in" closes ends the name before the comma
        ("Pri Agenciji za okolje, ki je izdala opozorilo, so bili zaskrbljeni.",
         ["Agenciji za okolje"]),
        # the seat of a university or a court is part of its name
        ("Na Univerzi v Mariboru je predaval tri leta.", ["Univerzi v Mariboru"]),
        ("Okrožno sodišče v Kranju je zadevo zavrnilo.", ["Okrožno sodišče v Kranju"]),
        # a person after a complete name is someone there, not part of it
        ("Brez dovoljenja direktorja Uprave za zračno plovbo Matjaža Sonca ni šlo.",
         ["Uprave za zračno plovbo"]),
        # a preposition starts a phrase about the organisation
        ("Orkester pod vodstvom Uweja Theimerja je igral dobro.", []),
        # a capitalised head inside a sentence with a genitive plural after it
        ("Vsi so bili člani Društva upokojencev in Zveze borcev.",
         ["Društva upokojencev", "Zveze borcev"]),
        ("Mama je hodila v Društvo kmečkih žena.", ["Društvo kmečkih žena"]),
        ("Občina je lani zgradila cesto.", []),
        # an adjective + head opening a sentence needs a name after the head
        ("Krajevna skupnost Naklo je uredila cesto.", ["Krajevna skupnost Naklo"]),
        ("Tovrstna uprava je bila draga.", []),
        # partisan units and choirs
        ("Bil je v Kokrškem odredu, potem pa v Prešernovi brigadi.",
         ["Kokrškem odredu", "Prešernovi brigadi"]),
        ("Na koncertu je nastopil Oktet Lipa.", ["Oktet Lipa"]),
    ],
)  # fmt: skip
def test_organisation_heads_and_their_phrases(
    tagger: TextTagger, sentence: str, wanted: list[str]
) -> None:
    assert orgs(tagger, sentence) == wanted


@pytest.mark.parametrize(
    ("sentence", "wanted"),
    [
        ("Sosed je imel delavnico Mizarstvo Novak s.p. v Kranju.", ["Mizarstvo Novak s.p."]),
        ("Delnice družbe Krka, d. d., so včeraj zrasle.", ["Krka, d. d."]),
        ("Stanovanja je zgradil Gradis d.o.o. iz Ljubljane.", ["Gradis d.o.o."]),
    ],
)
def test_company_forms(tagger: TextTagger, sentence: str, wanted: list[str]) -> None:
    assert orgs(tagger, sentence) == wanted


@pytest.mark.parametrize(
    ("sentence", "wanted"),
    [
        # a kind opening a sentence stands in apposition: the name is what follows
        ("Podjetje Akrapovič izdeluje izpušne sisteme.", ["Akrapovič"]),
        ("Skupina Koki si je sposodila ime od papagaja.", ["Koki"]),
        # a kind in the plural names members, not a body
        ("Sodelovalo je 285 tekmovalcev iz 27 klubov Madžarske in Hrvaške.", []),
        ("V vasi je živela skupina Nemcev.", []),
    ],
)
def test_organisations_after_their_kind(
    tagger: TextTagger, sentence: str, wanted: list[str]
) -> None:
    assert orgs(tagger, sentence) == wanted


@pytest.mark.parametrize(
    ("sentence", "wanted"),
    [
        ("Wham! je bil angleški glasbeni duet, ki sta ga sestavljala George Michael in "
         "Andrew Ridgeley.", ["Wham!"]),
        ("Laibach je slovenska glasbena skupina.", ["Laibach"]),
        ("Akrapovič je slovensko podjetje, ki izdeluje izpušne sisteme.", ["Akrapovič"]),
        # a function word opening the sentence is no subject; a place stays a place
        ("Res je agencija zavrla lastninjenje.", []),
        ("Kranj je mesto na Gorenjskem.", []),
        ("Etnična skupina je bila majhna.", []),
    ],
)  # fmt: skip
def test_a_definition_makes_its_subject_an_organisation(
    tagger: TextTagger, sentence: str, wanted: list[str]
) -> None:
    assert orgs(tagger, sentence) == wanted


def test_definition_traps_keep_people_and_places(tagger: TextTagger) -> None:
    result = {(t, label) for t, label, _ in found(tagger, "Wham! je bil angleški glasbeni "
              "duet, ki sta ga sestavljala George Michael in Andrew Ridgeley.")}  # fmt: skip
    assert {("George Michael", "PER"), ("Andrew Ridgeley", "PER")} <= result
    assert ("Kranj", "LOC") in {(t, label) for t, label, _ in
                                found(tagger, "Kranj je mesto na Gorenjskem.")}  # fmt: skip
    poet = found(tagger, "France Prešeren je bil slovenski pesnik.")
    assert [(t, label) for t, label, _ in poet] == [("France Prešeren", "PER")]


@pytest.mark.parametrize(
    ("sentence", "mention", "canonical"),
    [
        ("Kredit je najel pri Abanki.", "Abanki", "Abanka"),
        ("Delal je pri Kolektorju v Idriji.", "Kolektorju", "Kolektor"),
        ("Vse to je pisal za Gorenjski glas.", "Gorenjski glas", "Gorenjski glas"),
        ("Podatke je objavil Statistični urad.", "Statistični urad",
         "Statistični urad Republike Slovenije"),
        ("Na Inštitutu Jožef Stefan dela deset let.", "Inštitutu Jožef Stefan",
         "Inštitut Jožef Stefan"),
    ],
)  # fmt: skip
def test_more_known_organisations_in_any_inflection(
    tagger: TextTagger, sentence: str, mention: str, canonical: str
) -> None:
    """Also at the end of a sentence: "glas." and "urad." are no abbreviations there."""
    assert (mention, "ORG", canonical) in found(tagger, sentence)


def test_sentence_initial_capitals_are_no_organisation(tagger: TextTagger) -> None:
    assert orgs(tagger, "Stari ljudje so delali v Iskri.") == ["Iskri"]
    assert orgs(tagger, "Vodstvo Petrola je odstopilo.") == ["Petrola"]


# -- places ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "mention"),
    [
        ("Agrarna politika je v Evropi privedla do nižjih cen.", "Evropi"),
        ("Prvo zožanje Donave je pri Golubcu.", "Donave"),
        ("Od moskovskega Kremlja ga ločuje Rdeči trg.", "Rdeči trg"),
        ("Zaradi tega je park na Debelem rtiču zavarovan.", "Debelem rtiču"),
        ("Gorovje Khangai je staro gorovje v osrednji Mongoliji.", "Mongoliji"),
        ("Gorovje Khangai je staro gorovje v osrednji Mongoliji.", "Gorovje Khangai"),
        ("Kariero je pričel v Švici, v mestu Biel.", "Biel"),
        ("Vasarijev koridor je bil zgrajen v petih mesecih.", "Vasarijev koridor"),
    ],
)
def test_world_places_and_place_nouns(tagger: TextTagger, sentence: str, mention: str) -> None:
    assert (mention, "LOC") in {(t, label) for t, label, _ in found(tagger, sentence)}


def test_places_named_after_people_are_places(tagger: TextTagger) -> None:
    result = found(tagger, "Živel je na Trgu Franceta Prešerna v Kranju.")
    assert ("Trgu Franceta Prešerna", "LOC", "Trg Franceta Prešerna") in result
    school = found(tagger, "Hodila je v Gimnazijo Franceta Prešerna.")
    assert school == [("Gimnazijo Franceta Prešerna", "ORG", "Gimnazija Franceta Prešerna")]


def test_organisations_named_by_their_kind(tagger: TextTagger) -> None:
    result = found(tagger, "Delal je v podjetju Petrol, pisal pa je za časnik Delo.")
    assert {("Petrol", "ORG"), ("Delo", "ORG")} <= {(t, label) for t, label, _ in result}
    assert [e for e in found(tagger, "Skupina otrok je šla domov.") if e[1] == "ORG"] == []


def test_capitalised_adjective_alone_is_no_place(tagger: TextTagger) -> None:
    result = found(tagger, "Vojska je krenila proti Albanskemu kraljestvu in Dalíjevih slik.")
    assert ("Albanskemu", "LOC") not in {(t, label) for t, label, _ in result}


# -- dates -------------------------------------------------------------------------------


def test_years_are_durations_not_decades(tagger: TextTagger) -> None:
    tagger.new_document()
    durations = tagger.entities("Trideset let je delal v tovarni, petdeset let je živel tu.")
    assert [e for e in durations if e["label"] == "DATE"] == []
    decades = tagger.entities("V tridesetih letih in konec petdesetih let je bilo težko.")
    assert [e["value"] for e in decades if e["label"] == "DATE"] == ["1930s", "1950s"]


# -- topics in two languages -------------------------------------------------------------


def test_topics_have_slovenian_and_english_names() -> None:
    assert topics()["war"]["sl"] == "vojna" and topics()["war"]["en"] == "war"
    for code, entry in topics().items():
        assert entry["sl"] and entry["en"], code
    assert topic_label("farming", "sl") == "kmetovanje"
    assert topic_label("farming", "en") == "farming"
    assert topic_label("farming", None) == "kmetovanje / farming"
    assert topic_label("no-such-topic") == "no-such-topic"


def test_topic_entities_carry_both_names(tagger: TextTagger) -> None:
    entities = tagger.entities("Po vojni je oče delal na kmetiji.")
    farming = next(e for e in entities if e["label"] == "TOPIC" and e["canonical"] == "farming")
    assert (farming["sl"], farming["en"]) == ("kmetovanje", "farming")


# -- the entities command ----------------------------------------------------------------


def test_tag_lines_plain_text_offsets_point_at_the_words() -> None:
    lines = ["France Prešeren je živel v Kranju.", "", "Prešeren je umrl."]
    results = list(tag_lines(lines, "sl", topics=False))
    assert [r["line"] for r in results] == [1, 2, 3]
    for result in results:
        for e in result["entities"]:
            assert result["text"][e["start"] : e["end"]] == e["text"]
            assert 0 < e["confidence"] <= 1
    assert results[1]["entities"] == []
    # the third line remembers the first
    assert results[2]["entities"][0]["canonical"] == "France Prešeren"


def test_entities_command_json_lines(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    rows = [{"id": "a", "text": "Gospod Kopitar je prišel iz Bohinja."},
            {"id": "b", "text": "Delal je pri Petrolu."}]  # fmt: skip
    source.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", "utf-8")
    result = run_cli("entities", str(source), "--language", "sl", "--json")
    assert result.exit_code == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == ["a", "b"]
    first = {(e["text"], e["label"], e["canonical"]) for e in out[0]["entities"]}
    assert {("Kopitar", "PER", "Kopitar"), ("Bohinja", "LOC", "Bohinj")} <= first
    assert ("Petrolu", "ORG", "Petrol") in {
        (e["text"], e["label"], e["canonical"]) for e in out[1]["entities"]
    }


def test_entities_command_reads_stdin() -> None:
    process = subprocess.run(
        [sys.executable, "-m", "livingmemory", "entities", "-", "--json", "--no-topics"],
        input="Rodila sem se v Kranju.\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert process.returncode == 0, process.stderr
    (line,) = process.stdout.splitlines()
    result = json.loads(line)
    assert [(e["text"], e["canonical"]) for e in result["entities"]] == [("Kranju", "Kranj")]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"id": 1}\n', 'line 1: no "text" field'),
        ('{"text": "Kranj"}\n{broken\n', "line 2: not JSON"),
        (b"\xff\xfe\x00bad", "not UTF-8 text"),
    ],
)
def test_entities_bad_input_is_one_line(tmp_path: Path, content: Any, message: str) -> None:
    source = tmp_path / "bad.jsonl"
    if isinstance(content, bytes):
        source.write_bytes(content)
    else:
        source.write_text(content, "utf-8")
    result = run_cli("entities", str(source), "--json")
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_entities_missing_file(tmp_path: Path) -> None:
    result = run_cli("entities", str(tmp_path / "nothing.txt"))
    assert result.exit_code == 1
    assert "no such file" in result.stderr


# -- the benchmark's gold readers --------------------------------------------------------


def _benchmark():  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import tagging as benchmark  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    return benchmark


def test_benchmark_reads_jsonl_and_conllu_labels_in_any_case(tmp_path: Path) -> None:
    benchmark = _benchmark()
    jsonl = tmp_path / "gold.jsonl"
    jsonl.write_text(
        json.dumps({"text": "Janez Novak živi v Kranju.",
                    "entities": [[0, 11, "PER"], {"start": 19, "end": 25, "label": "loc"}]})
        + "\n" + json.dumps({"tokens": ["Delal", "pri", "Petrolu"],
                             "ner_tags": ["O", "O", "B-ORG"]}) + "\n",
        "utf-8",
    )  # fmt: skip
    sentences = benchmark.read_gold(jsonl)
    assert sentences[0][1] == [(0, 11, "PER"), (19, 25, "LOC")]
    assert sentences[1] == ("Delal pri Petrolu", [(10, 17, "ORG")])
    conllu = tmp_path / "gold.conllu"
    conllu.write_text(
        "# text = Janez Novak živi.\n"
        "1\tJanez\tJanez\tPROPN\t_\t_\t0\troot\t_\tNER=B-PER\n"
        "2\tNovak\tNovak\tPROPN\t_\t_\t1\tflat\t_\tNER=I-per\n"
        "3\tživi\tživeti\tVERB\t_\t_\t1\tdep\t_\tNER=O|SpaceAfter=No\n"
        "4\t.\t.\tPUNCT\t_\t_\t1\tpunct\t_\tNER=O\n\n",
        "utf-8",
    )
    assert benchmark.read_gold(conllu) == [("Janez Novak živi.", [(0, 11, "PER")])]
    table = benchmark.score([("Janez Novak živi.", [(0, 11, "PER")])], [[(0, 5, "PER")]])
    assert table["PER"]["exact"][2] == 0.0
    assert table["PER"]["overlap"][2] == 1.0


@pytest.mark.shared
def test_ssj619_figures_hold(tagger: TextTagger) -> None:
    """The issue's targets on the gold document ssj619 (the README quotes the benchmark)."""
    if not SSJ_TEST.exists():
        pytest.skip(f"shared text corpus not found at {SSJ_TEST}")
    benchmark = _benchmark()
    gold = benchmark.read_conllu(SSJ_TEST, "ssj619")
    table = benchmark.score(gold, benchmark.predict(tagger, gold))
    assert table["PER"]["exact"][2] >= 0.55
    assert table["LOC"]["exact"][2] >= 0.75
    assert table["ORG"]["exact"][2] >= 0.45


# -- in an archive -----------------------------------------------------------------------


def test_tag_stores_topic_names_and_remembers_people_across_segments(
    archive_db: Path, make_interview
) -> None:
    texts = [
        "Med vojno je pri nas delal hlapec Tone Hribovšek.",
        "Hribovška so potem odpeljali Nemci.",
    ]
    recording_id = make_interview(texts)
    assert run_cli("tag", "--archive", archive_db, "--json").exit_code == 0
    rows = entity_rows(archive_db, "e.recording_id = ?", (recording_id,))
    war = next(r for r in rows if r["label"] == "TOPIC" and r["canonical"] == "war")
    assert war["value"] == "vojna / war"
    later = [(r["text"], r["canonical"]) for r in rows
             if r["label"] == "PER" and r["segment_text"] == texts[1]]  # fmt: skip
    assert ("Hribovška", "Tone Hribovšek") in later
    assert ("Nemci", "Nemec") in later

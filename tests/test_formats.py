"""Transcript exchange formats: round trips, tolerant readers, one-line errors, OHMS, DC CSV."""

from __future__ import annotations

import datetime as dt
import json
import random
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from livingmemory.errors import InputError
from livingmemory.formats import (
    FORMATS,
    Cue,
    TranscriptDocument,
    detect_format,
    dublin_core_csv,
    dumps,
    dumps_json,
    dumps_text,
    loads,
    ohms_xml,
    parse_dublin_core_csv,
    parse_ohms,
    parse_timecode,
    read_file,
    timecode,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
ROG_ART = SHARED / "data" / "text" / "sl_rog_gorenjska" / "ROG-Art"
WRITABLE = ("vtt", "srt", "txt", "json")

NOTES = {"recording": "3", "sha256": "ab" * 32, "duration": "21.75", "title": "Ana & <Kranj>"}
CUES = [
    Cue(0.0, 4.2, "Rodila sem se leta 1932 v Kranju.", "Ana Novak", "seg-1"),
    Cue(4.2, 7.5, "Čez Šmarno goro, žito in ŽELEZNICA.", "Ana Novak", "seg-2"),
    Cue(7.5, 9.25, "Kdaj? <pavza> & potem?", "Intervjuvar", "seg-3"),
    Cue(10.0, 15.125, "Po vojni… 3 < 5 & 7 > 2\ndruga vrstica", "Ana Novak", "seg-4"),
    Cue(15.125, 21.75, "Tako je bilo: žalostno.", "Ana Novak", "seg-5"),
]
DOC = TranscriptDocument(cues=CUES, notes=NOTES)


def assert_same_cues(got: list[Cue], expected: list[Cue], *, ends: bool = True) -> None:
    assert [cue.text for cue in got] == [cue.text for cue in expected]
    assert [cue.speaker for cue in got] == [cue.speaker for cue in expected]
    assert [cue.overlap for cue in got] == [cue.overlap for cue in expected]
    for mine, theirs in zip(got, expected, strict=True):
        assert abs(mine.start - theirs.start) <= 0.010
        if ends:
            assert abs(mine.end - theirs.end) <= 0.010


def assert_one_line(error: pytest.ExceptionInfo[InputError], source: str) -> str:
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"{source}: ")
    return message


# -- timecodes ------------------------------------------------------------------------------


def test_timecode() -> None:
    assert timecode(0) == "00:00:00.000"
    assert timecode(3723.4567) == "01:02:03.457"
    assert timecode(59.9996) == "00:01:00.000"
    assert timecode(1.5, ",") == "00:00:01,500"
    assert timecode(100 * 3600) == "100:00:00.000"
    with pytest.raises(ValueError):
        timecode(-1)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("01:02:03.457", 3723.457), ("02:03.5", 123.5), ("00:00:01,250", 1.25), ("00:10:00", 600)],
)
def test_parse_timecode(text: str, seconds: float) -> None:
    assert parse_timecode(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "1.5", "00:61:00.000", "aa:bb:cc.ddd", "00:00:01.5000"])
def test_parse_timecode_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError):
        parse_timecode(text)


# -- round trips ----------------------------------------------------------------------------


def test_vtt_round_trip_is_exact() -> None:
    text = dumps(DOC, "vtt")
    assert text.startswith("WEBVTT\n\nNOTE livingmemory recording=3\n")
    assert "<v Ana Novak>Rodila sem se" in text
    assert "3 &lt; 5 &amp; 7 &gt; 2" in text
    assert "seg-4\n00:00:10.000 --> 00:00:15.125\n" in text
    assert loads(text, "vtt") == DOC


def test_srt_round_trip() -> None:
    text = dumps(DOC, "srt")
    assert text.startswith("1\n00:00:00,000 --> 00:00:04,200\nAna Novak: Rodila sem se")
    back = loads(text, "srt")
    assert_same_cues(back.cues, CUES)
    assert back.notes == {}  # SRT has nowhere to keep them


def test_txt_round_trip() -> None:
    text = dumps(DOC, "txt")
    assert text.startswith("# recording: 3\n")
    # The label appears on turns only; the gap before seg-4 and the end get end marks.
    assert "[00:00:00.000] Ana Novak: Rodila sem se leta 1932 v Kranju.\n" in text
    assert "[00:00:04.200] Čez Šmarno goro" in text
    assert "[00:00:07.500] Intervjuvar: Kdaj?" in text
    assert "[00:00:09.250]\n[00:00:10.000] Ana Novak: Po vojni" in text
    assert text.endswith("[00:00:21.750]\n")
    back = loads(text, "txt")
    assert_same_cues(back.cues, CUES)
    assert back.notes == NOTES


def test_json_round_trip_is_exact() -> None:
    text = dumps(DOC, "json")
    assert "Čez Šmarno" in text  # not ASCII-escaped
    assert json.loads(text)["cues"][0] == {
        "start": 0.0,
        "end": 4.2,
        "text": "Rodila sem se leta 1932 v Kranju.",
        "speaker": "Ana Novak",
        "id": "seg-1",
    }
    assert loads(text, "json") == DOC


@pytest.mark.parametrize("fmt", WRITABLE)
def test_speaker_turns_survive_every_format(fmt: str) -> None:
    speakers = ["Ana", "Ana", "Marko Kos", "Ana", "Marko Kos", "Marko Kos"]
    doc = TranscriptDocument(
        cues=[
            Cue(i * 2.0, i * 2.0 + 2.0, f"Stavek {i} – čšž ČŠŽ", s) for i, s in enumerate(speakers)
        ]
    )
    back = loads(dumps(doc, fmt), fmt)
    assert [cue.speaker for cue in back.cues] == speakers
    assert_same_cues(back.cues, doc.cues)


@pytest.mark.parametrize("fmt", WRITABLE)
def test_cues_without_speakers(fmt: str) -> None:
    doc = TranscriptDocument(cues=[Cue(0.5, 1.0, "a < b & c"), Cue(1.0, 2.0, "Še en stavek.")])
    assert_same_cues(loads(dumps(doc, fmt), fmt).cues, doc.cues)


OVERLAPPED = [
    Cue(0.0, 2.0, "Rodila sem se v Kranju.", "Ana Novak"),
    Cue(1.5, 3.0, "V Kranju?", "Marko Kos", overlap=True),  # a turn change, talked over
    Cue(3.0, 4.0, "Ja, ja.", "Marko Kos", overlap=True),  # the same voice, no label in txt
    Cue(4.0, 5.0, "", "Ana Novak", overlap=True),  # nothing understood of it
    Cue(5.0, 6.0, "Potem pa v Ljubljano.", "Ana Novak"),
]


@pytest.mark.parametrize("fmt", WRITABLE)
def test_overlap_survives_every_format(fmt: str) -> None:
    doc = TranscriptDocument(cues=OVERLAPPED)
    text = dumps(doc, fmt)
    back = loads(text, fmt)
    assert [cue.overlap for cue in back.cues] == [False, True, True, True, False]
    assert_same_cues(back.cues, OVERLAPPED, ends=fmt != "txt")  # txt: a cue ends at the next
    if fmt in ("txt", "srt"):  # the mark a reader sees: after the name, before the words
        assert "Marko Kos: [hkrati] V Kranju?" in text and text.count("[hkrati]") == 3
        assert "Ana Novak: [hkrati]\n" in text and "Potem pa" in text


@pytest.mark.parametrize("fmt", ["txt", "srt"])
def test_overlap_mark_without_a_speaker(fmt: str) -> None:
    cues = [Cue(0, 1, "Prvi."), Cue(1, 2, "Drugi.", overlap=True), Cue(2, 3, "", overlap=True)]
    text = dumps(TranscriptDocument(cues=cues), fmt)
    assert "[hkrati] Drugi." in text
    assert [c.overlap for c in loads(text, fmt).cues] == [False, True, True]
    assert_same_cues(loads(text, fmt).cues, cues)


def test_files_without_the_overlap_mark_read_as_before() -> None:
    srt = "1\n00:00:00,000 --> 00:00:01,000\nAna: [smeh] Ja.\n"
    assert loads(srt, "srt").cues == [Cue(0.0, 1.0, "[smeh] Ja.", "Ana")]
    txt = "[00:00:00] Ana: [HKRATI]   Ja.\n[00:00:01] Hkrati sva šla.\n[00:00:02]\n"
    assert [(c.text, c.overlap) for c in loads(txt, "txt").cues] == [
        ("Ja.", True),  # the mark in any case, any spacing
        ("Hkrati sva šla.", False),
    ]


@pytest.mark.parametrize("fmt", WRITABLE)
def test_empty_document(fmt: str) -> None:
    assert loads(dumps(TranscriptDocument(cues=[]), fmt), fmt).cues == []


def test_txt_whole_seconds_and_label_like_text() -> None:
    doc = TranscriptDocument(
        cues=[
            Cue(0.0, 3.0, "Dober dan.", "Ana"),
            Cue(3.0, 6.0, "Torej: tako je bilo.", "Ana"),  # would read as a label on its own
            Cue(6.0, 8.0, "[smeh] Res.", "Ana"),
        ]
    )
    text = dumps(doc, "txt")
    assert text == (
        "[00:00:00] Ana: Dober dan.\n"
        "[00:00:03] Ana: Torej: tako je bilo.\n"
        "[00:00:06] [smeh] Res.\n"
        "[00:00:08]\n"
    )
    assert loads(text, "txt") == doc
    assert dumps_text(doc, milliseconds=True).startswith("[00:00:00.000] Ana: Dober dan.")


def test_txt_cues_that_overlap_in_time_read_back() -> None:
    """Two voices at once: the earlier cue loses its end (the format's limit), the file reads."""
    doc = TranscriptDocument(cues=[Cue(0.0, 2.0, "Ja.", "Ana"), Cue(1.5, 3.0, "Ne.", "Marko")])
    text = dumps(doc, "txt")
    assert "[00:00:02.000]" not in text
    assert_same_cues(loads(text, "txt").cues, doc.cues, ends=False)


def test_txt_reader_carries_speakers_and_guesses_the_last_end() -> None:
    text = (
        "# recording: 7\n# a comment line without a colon\n\n"
        "[00:00:01] INTERVJUVAR: Kje ste se rodili?\n"
        "[00:00:04] Ana Novak: V Kranju.\n"
        "Potem pa v Ljubljani.\n"
        "[00:01:02] Leta 1950.\n"
    )
    doc = loads(text, "txt")
    assert doc.notes == {"recording": "7"}
    assert [(c.start, c.end, c.speaker) for c in doc.cues] == [
        (1.0, 4.0, "INTERVJUVAR"),
        (4.0, 62.0, "Ana Novak"),
        (62.0, 67.0, "Ana Novak"),
    ]
    assert doc.cues[1].text == "V Kranju.\nPotem pa v Ljubljani."


def test_json_extras_are_merged_by_cue_id_and_ignored_on_loading() -> None:
    words = [{"word": "Rodila", "start": 0.0, "end": 0.4}]
    text = dumps_json(DOC, extras={"seg-1": {"words": words, "entities": []}})
    data = json.loads(text)
    assert data["cues"][0]["words"] == words
    assert "words" not in data["cues"][1]
    assert loads(text, "json") == DOC
    assert dumps_json(DOC, extras={"seg-99": {"words": []}}) == dumps(DOC, "json")
    with pytest.raises(ValueError, match="overwrite"):
        dumps_json(DOC, extras={"seg-1": {"text": "x"}})


def test_json_reads_whisper_segments() -> None:
    text = json.dumps(
        {"text": "x", "segments": [{"id": 0, "start": 0, "end": 1.5, "text": " Ja."}]}
    )
    assert loads(text, "json").cues == [Cue(0.0, 1.5, "Ja.", None, "0")]


# -- tolerant readers -----------------------------------------------------------------------


def test_vtt_reader_tolerates_real_world_files() -> None:
    text = (
        "\ufeffWEBVTT - prevod\r\nKind: captions\r\nLanguage: sl\r\n\r\n"
        "STYLE\r\n::cue { color: yellow }\r\n\r\n"
        "REGION\r\nid:fred width:40%\r\n\r\n"
        "NOTE a comment\r\nthat spans lines\r\n\r\n"
        "00:01.000 --> 00:04.500 align:start position:10%\r\n"
        "<v.loud Ana Novak>Prva <i>vrstica</i></v>\r\n"
        "druga vrstica &amp; &lt;več&gt;\r\n\r\n"
        "intro\r\n"
        "01:00:00.000 --> 01:00:02.000\r\n"
        "<c.yellow>Brez</c> govorca\r\n"
    )
    doc = loads(text, "vtt")
    assert doc.notes == {}
    assert doc.cues == [
        Cue(1.0, 4.5, "Prva vrstica\ndruga vrstica & <več>", "Ana Novak"),
        Cue(3600.0, 3602.0, "Brez govorca", None, "intro"),
    ]


def test_vtt_notes_survive_with_awkward_values() -> None:
    notes = {"title": "Dve\nvrstici --> in \\ poševnica", "empty": ""}
    doc = TranscriptDocument(cues=[Cue(0, 1, "x")], notes=notes)
    assert loads(dumps(doc, "vtt"), "vtt").notes == notes
    with pytest.raises(ValueError):
        dumps(TranscriptDocument(cues=[], notes={"two words": "x"}), "vtt")


def test_srt_reader_tolerates_real_world_files() -> None:
    text = (
        "\ufeff1\r\n00:00:01,000 --> 00:00:02,500\r\n<i>Ana:</i> ni govorec\r\n\r\n"
        "2\r\n00:00:03,000 --> 00:00:04,000 X1:40 X2:600\r\n"
        "Marko Kos: <b>Dve</b>\r\nvrstici\r\n\r\n"
        "3\r\n00:00:05.000 --> 00:00:06.000\r\nleto 1984\r\n"
    )
    doc = loads(text, "srt")
    assert [(c.start, c.end, c.text, c.speaker) for c in doc.cues] == [
        (1.0, 2.5, "ni govorec", "Ana"),  # the label is read after the markup is gone
        (3.0, 4.0, "Dve\nvrstici", "Marko Kos"),
        (5.0, 6.0, "leto 1984", None),
    ]


def test_srt_speaker_needs_capitalised_words() -> None:
    text = (
        "1\n00:00:00,000 --> 00:00:01,000\nrekla je: da\n\n"
        "2\n00:00:01,000 --> 00:00:02,000\nDr. Ana Novak: ja\n"
    )
    doc = loads(text, "srt")
    assert [(c.speaker, c.text) for c in doc.cues] == [
        (None, "rekla je: da"),
        ("Dr. Ana Novak", "ja"),
    ]


@pytest.mark.parametrize("fmt", WRITABLE)
def test_unnamed_voices_read_back_as_speakers(fmt: str) -> None:
    """Diarized voices nobody named are written "Govorec 1", "Govorec 2": an exported file
    corrected and imported again keeps them as speakers, with their overlap marks."""
    cues = [
        Cue(0.0, 2.0, "Kje ste se rodili?", "Govorec 1"),
        Cue(1.5, 3.0, "V Kranju.", "Govorec 2", overlap=True),
        Cue(3.0, 4.0, "Leta 1945: takrat smo šli.", "Govorec 12"),
    ]
    text = dumps(TranscriptDocument(cues=cues), fmt)
    back = loads(text, fmt)
    assert [(c.speaker, c.text, c.overlap) for c in back.cues] == [
        (c.speaker, c.text, c.overlap) for c in cues
    ]
    if fmt in ("txt", "srt"):
        assert "Govorec 2: [hkrati] V Kranju." in text


def test_a_year_is_not_a_speaker_number() -> None:
    text = (
        "1\n00:00:00,000 --> 00:00:01,000\nLeta 1945: smo šli.\n\n"
        "2\n00:00:01,000 --> 00:00:02,000\nGovorec 3: [hkrati] Ja.\n"
    )
    assert [(c.speaker, c.text, c.overlap) for c in loads(text, "srt").cues] == [
        (None, "Leta 1945: smo šli.", False),
        ("Govorec 3", "Ja.", True),
    ]


def test_srt_arrow_inside_cue_text_is_text() -> None:
    doc = TranscriptDocument(cues=[Cue(0, 1, "Ljubljana --> Kranj\npot --> nazaj", "Ana")])
    assert_same_cues(loads(dumps(doc, "srt"), "srt").cues, doc.cues)


@pytest.mark.parametrize("seed", range(5))
def test_random_documents_round_trip(seed: int) -> None:
    rng = random.Random(seed)
    pieces = [
        "Ana",
        "čšž",
        "ČŠŽ",
        "<b>",
        "&amp;",
        "a&b",
        "x<y",
        "-->",
        "1984",
        "[smeh]",
        "é",
        "ok:",
    ]
    for _ in range(40):
        clock, cues = 0.0, []
        for number in range(rng.randint(0, 6)):
            start = round(clock + rng.choice([0, 0, 0.5, 1.234]), 3)
            clock = round(start + rng.uniform(0, 5), 3)
            lines = [" ".join(rng.choices(pieces, k=rng.randint(1, 4))) for _ in range(2)]
            speaker = rng.choice(["Ana Novak", "Marko", "SPEAKER_00", "Dr. Kos"])
            overlap = rng.random() < 0.3
            cues.append(Cue(start, clock, "\n".join(lines), speaker, f"seg-{number}", overlap))
        doc = TranscriptDocument(cues=cues, notes={"recording": str(seed)})
        for fmt in ("vtt", "json"):
            assert loads(dumps(doc, fmt), fmt) == doc
        assert_same_cues(loads(dumps(doc, "txt"), "txt").cues, cues)


# -- malformed input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("00:00:00.000 --> 00:00:01.000\nBrez glave\n", "must start with 'WEBVTT'"),
        ("", "must start with 'WEBVTT'"),
        ("WEBVTT\n\n00:00:05.000 --> 00:00:01.000\nNazaj\n", "line 3: cue ends"),
        ("WEBVTT\n\n00:00:0x.000 --> 00:00:01.000\nSmeti\n", "line 3: not a timecode"),
        ("WEBVTT\n\n00:00:01.000 --> \nBrez konca\n", "no end time"),
        ("WEBVTT\n\nsamo besedilo\nbrez časa\n", "line 4: expected a cue timing"),
        ("WEBVTT\n\nNOTE livingmemory brez-enačaja\n", "is not key=value"),
    ],
)
def test_malformed_vtt(text: str, fragment: str) -> None:
    with pytest.raises(InputError) as error:
        loads(text, "vtt")
    assert fragment in assert_one_line(error, "<vtt>")


@pytest.mark.parametrize(
    ("fmt", "text", "fragment"),
    [
        ("srt", "1\n00:00:02,000 --> 00:00:01,000\nx\n", "line 2: cue ends"),
        ("srt", "1\n00:00:aa,000 --> 00:00:01,000\nx\n", "line 2: not a timecode"),
        ("srt", "samo besedilo\n", "no cues found"),
        ("srt", "uvod\n1\n00:00:00,000 --> 00:00:01,000\nx\n", "line 1: expected a cue number"),
        ("txt", "Uvod brez časa\n[00:00:01] x\n", "line 1: text before the first"),
        ("txt", "[00:00:05] x\n[00:00:01] y\n", "line 2: timecode [00:00:01] comes before"),
        ("txt", "[00:61:00] x\n", "line 1: not a timecode"),
        ("json", "{not json", "not valid JSON"),
        ("json", '{"notes": {}}', "'cues' list"),
        ("json", '{"cues": [{"start": "0", "end": 1, "text": "x"}]}', "cue 1: 'start' must be"),
        ("json", '{"cues": [{"start": 2, "end": 1, "text": "x"}]}', "cue 1: ends"),
        ("trs", "<Trans><Episode>", "not well-formed XML"),
        ("trs", "<TEI/>", "not a Transcriber file"),
        ("trs", '<Trans><Turn startTime="x" endTime="1">a</Turn></Trans>', "is not a time"),
    ],
)
def test_malformed_other_formats(fmt: str, text: str, fragment: str) -> None:
    with pytest.raises(InputError) as error:
        loads(text, fmt)
    assert fragment in assert_one_line(error, f"<{fmt}>")


def test_errors_name_the_given_source() -> None:
    with pytest.raises(InputError) as error:
        loads("nič", "vtt", source="intervju.vtt")
    assert_one_line(error, "intervju.vtt")


def test_unknown_formats() -> None:
    assert FORMATS == ("vtt", "srt", "txt", "json", "trs")
    with pytest.raises(InputError):
        loads("", "docx")
    with pytest.raises(InputError, match="cannot write"):
        dumps(DOC, "trs")
    assert loads(dumps(DOC, "VTT"), ".vtt") == DOC


# -- files ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_detect_format(fmt: str) -> None:
    assert detect_format(Path(f"a/b/Intervju.{fmt.upper()}")) == fmt


def test_detect_format_rejects_other_files() -> None:
    with pytest.raises(InputError) as error:
        detect_format(Path("intervju.docx"))
    assert "'.docx'" in assert_one_line(error, "intervju.docx")


def test_read_file(tmp_path: Path) -> None:
    path = tmp_path / "intervju.vtt"
    path.write_bytes(b"\xef\xbb\xbf" + dumps(DOC, "vtt").replace("\n", "\r\n").encode())
    assert read_file(path) == DOC
    bad = tmp_path / "star.srt"
    bad.write_bytes("1\n00:00:00,000 --> 00:00:01,000\nČrke\n".encode("cp1250"))
    with pytest.raises(InputError) as error:
        read_file(bad)
    assert "not valid UTF-8" in assert_one_line(error, str(bad))
    with pytest.raises(InputError, match="no such file"):
        read_file(tmp_path / "ni.txt")


# -- Transcriber .trs -----------------------------------------------------------------------

SYNTHETIC_TRS = """<?xml version="1.0" encoding="{encoding}"?>
<!DOCTYPE Trans SYSTEM "trans-14.dtd">
<Trans scribe="Ana" audio_filename="pogovor.wav" xml:lang="sl">
  <Speakers>
    <Speaker id="spk1" name="Marija Žagar" check="no"/>
    <Speaker id="spk2" name="Spraševalec"/>
  </Speakers>
  <Episode>
    <Section type="report" startTime="0" endTime="30.5">
      <Turn speaker="spk1" startTime="0" endTime="10.25">
        <Sync time="0"/>
Včasih smo   <Event desc="laugh" type="noise" extent="instantaneous"/> hodili
peš v šolo.
<Sync time="4.5"/>
<Comment desc="nejasno"/>
<Sync time="6"/>
Čez   hrib.
      </Turn>
      <Turn startTime="10.25" endTime="12">
        <Sync time="10.25"/>
        <Event desc="pause" type="noise" extent="instantaneous"/>
      </Turn>
      <Turn speaker="spk2" startTime="12" endTime="15">
        <Sync time="12"/>
Koliko <Event desc="b" extent="begin"/>daleč<Event desc="b" extent="end"/>?
      </Turn>
      <Turn speaker="spk1 spk2" startTime="15" endTime="18">
        <Sync time="15"/>
        <Who nb="1"/> Deset kilometrov.
        <Who nb="2"/> Res?
      </Turn>
    </Section>
  </Episode>
</Trans>
"""


def test_synthetic_trs() -> None:
    doc = loads(SYNTHETIC_TRS.format(encoding="UTF-8"), "trs")
    assert doc.cues == [
        Cue(0.0, 4.5, "Včasih smo hodili peš v šolo.", "Marija Žagar"),
        Cue(6.0, 10.25, "Čez hrib.", "Marija Žagar"),
        Cue(12.0, 15.0, "Koliko daleč?", "Spraševalec"),
        # A turn of two speakers: Transcriber's overlapped speech.
        Cue(15.0, 18.0, "Deset kilometrov.", "Marija Žagar", overlap=True),
        Cue(15.0, 18.0, "Res?", "Spraševalec", overlap=True),
    ]
    assert doc.notes == {
        "audio_filename": "pogovor.wav",
        "scribe": "Ana",
        "language": "sl",
        "duration": "30.5",
    }


@pytest.mark.parametrize("encoding", ["ISO-8859-2", "windows-1250", "UTF-8"])
def test_trs_file_in_its_declared_encoding(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "pogovor.trs"
    path.write_bytes(SYNTHETIC_TRS.format(encoding=encoding).encode(encoding))
    doc = read_file(path)
    assert doc.cues[0].text == "Včasih smo hodili peš v šolo."
    assert doc.cues[0].speaker == "Marija Žagar"


@pytest.mark.shared
@pytest.mark.parametrize("kind", ["std", "pog"])
def test_real_trs_files(kind: str) -> None:
    trs = ROG_ART / "TRS" / f"Rog-Art-N-G6047-P604702-{kind}.trs"
    txt = ROG_ART / "TXT" / f"Rog-Art-N-G6047-P604702-{kind}.txt"
    if not trs.is_file():
        pytest.skip(f"{trs} is not in this copy of the shared material")
    turns = ET.parse(trs).getroot().findall(".//Turn")
    assert len(turns) == 39
    assert float(turns[0].get("startTime")) == 0
    doc = read_file(trs)
    assert doc.notes["duration"] == "1174.632"  # the section; speech ends at 342.966 s
    assert {cue.speaker for cue in doc.cues} == {"Artur-N-G6047"}
    assert doc.cues[0].start == 0.0
    assert doc.cues[0].text.startswith("Zadnjič s")
    if kind == "std":
        assert doc.cues[0].text.startswith("Zadnjič sem si ogledal")
    assert all(cue.text and cue.start < cue.end <= 1174.632 for cue in doc.cues)
    assert all(a.start <= b.start for a, b in zip(doc.cues, doc.cues[1:], strict=False))
    if txt.is_file():
        # The corpus's own TXT export is the same words, one line per turn ("Name:  text").
        lines = txt.read_text(encoding="utf-8").splitlines()
        words = " ".join(line.split(":", 1)[1] for line in lines if line.strip()).split()
        assert " ".join(cue.text for cue in doc.cues) == " ".join(words)
    # And it survives being written out again.
    assert_same_cues(loads(dumps(doc, "vtt"), "vtt").cues, doc.cues)


# -- OHMS -----------------------------------------------------------------------------------

INTERVIEW = {
    "id": "lm-0003",
    "title": "Življenje v Kranju & okolici",
    "date": "1998-05-14",
    "duration": 1686.4,
    "interviewees": ["Ana Novak"],
    "interviewers": ["Marko Kos", "Eva Horvat"],
    "keywords": ["vojna", "šola"],
    "subjects": ["Kranj (Slovenia)"],
    "description": "Pogovor o <otroštvu>.",
    "rights": "CC BY 4.0",
    "language": "sl",
    "media_url": "https://example.org/a.mp3",
}
POINTS = [
    {
        "time": 0,
        "title": "Otroštvo",
        "synopsis": "Rojstvo v Kranju.",
        "partial_transcript": "Rodila sem se leta 1932",
        "keywords": ["Kranj", "družina"],
        "subjects": ["Childhood"],
        "gps": "46.2389, 14.3556",
        "gps_text": "Kranj",
    },
    {
        "time": 10.7,
        "title": "Vojna & potem",
        "synopsis": "",
        "partial_transcript": "Po vojni…",
        "keywords": [],
        "subjects": [],
        "gps": None,
        "gps_text": "",
    },
]


def test_ohms_xml_has_the_record_elements() -> None:
    xml = ohms_xml(INTERVIEW, DOC, POINTS, exported=dt.date(2024, 3, 1))
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<ROOT xmlns="https://www.weare')
    root = ET.fromstring(xml.split("\n", 1)[1])
    record = root.find("{*}record")
    assert record is not None
    assert record.get("id") == "lm-0003"
    assert record.get("dt") == "2024-03-01"
    assert record.findtext("{*}version") == "5.4"
    assert record.find("{*}date").get("value") == "1998-05-14"
    assert record.findtext("{*}title") == "Življenje v Kranju & okolici"
    assert record.findtext("{*}duration") == "0:28:06"
    assert [e.text for e in record.findall("{*}interviewer")] == ["Marko Kos", "Eva Horvat"]
    for tag in ("interviewee", "transcript", "mediafile/{*}clip_format", "media_url", "rights"):
        assert record.find("{*}" + tag) is not None, tag
    assert record.findtext("{*}transcript").startswith("WEBVTT\n")
    points = record.findall("{*}index/{*}point")
    assert len(points) == 2
    for point in points:
        for tag in ("time", "title", "synopsis", "keywords", "subjects", "gpspoints/{*}gps"):
            assert point.find("{*}" + tag) is not None, tag
    assert points[0].findtext("{*}keywords") == "Kranj;družina"
    assert points[0].findtext("{*}gpspoints/{*}gps") == "46.2389, 14.3556"
    assert points[1].findtext("{*}time") == "10"


def test_parse_ohms_gives_back_points_and_cues() -> None:
    parsed = parse_ohms(ohms_xml(INTERVIEW, DOC, POINTS))
    assert parsed["title"] == INTERVIEW["title"]
    assert parsed["interviewees"] == ["Ana Novak"]
    assert parsed["interviewers"] == ["Marko Kos", "Eva Horvat"]
    assert parsed["keywords"] == ["vojna", "šola"]
    assert parsed["description"] == "Pogovor o <otroštvu>."
    assert parsed["cues"] == CUES
    assert parsed["notes"] == NOTES
    assert [p["time"] for p in parsed["index_points"]] == [0, 10]
    for got, sent in zip(parsed["index_points"], POINTS, strict=True):
        for key in ("title", "synopsis", "partial_transcript", "keywords", "subjects", "gps"):
            assert got[key] == sent[key], key
    assert parsed["index_points"][0]["gps_text"] == "Kranj"


def test_ohms_transcript_keeps_overlapped_speech() -> None:
    xml = ohms_xml({"title": "Hkrati"}, TranscriptDocument(cues=OVERLAPPED), [])
    assert "&lt;v.overlap Marko Kos&gt;V Kranju?" in xml  # the WebVTT inside <transcript>
    assert parse_ohms(xml)["cues"] == OVERLAPPED


def test_ohms_with_sparse_metadata() -> None:
    xml = ohms_xml({"title": "Brez datuma", "date": "poleti 1975"}, TranscriptDocument([]), [])
    record = ET.fromstring(xml.split("\n", 1)[1]).find("{*}record")
    assert record.find("{*}date").get("value") == ""
    assert record.findtext("{*}date_nonpreferred_format") == "poleti 1975"
    assert record.find("{*}interviewee") is not None
    parsed = parse_ohms(xml)
    assert parsed["date"] == "poleti 1975"
    assert parsed["cues"] == [] and parsed["index_points"] == []
    with pytest.raises(InputError):
        parse_ohms("<ROOT><record>")


# -- Dublin Core CSV ------------------------------------------------------------------------


def test_dublin_core_csv_round_trip() -> None:
    rows = [
        {
            "id": "lm-0003",
            "title": "Življenje v Kranju, 1932–1950",
            "narrators": ["Ana Novak"],
            "interviewers": ["Marko Kos", "Eva Horvat"],
            "date": "1998-05-14",
            "place": "Kranj, Slovenija",
            "language": "sl",
            "format": "audio/flac",
            "duration": 1686.4,
            "topics": ["vojna", "šola", 'citat "v narekovajih"'],
            "description": "Dve\nvrstici, z vejico",
            "rights": "CC BY 4.0",
        },
        {"dc:identifier": "lm-0004", "dc:title": "Drugi", "dc:type": "MovingImage"},
    ]
    text = dublin_core_csv(rows)
    assert text.splitlines()[0] == (
        "dc:identifier,dc:title,dc:creator,dc:contributor,dc:date,dc:coverage,dc:language,"
        "dc:type,dc:format,dc:extent,dc:subject,dc:description,dc:rights"
    )
    parsed = parse_dublin_core_csv(text)
    assert parsed[0] == {
        "dc:identifier": "lm-0003",
        "dc:title": "Življenje v Kranju, 1932–1950",
        "dc:creator": ["Ana Novak"],
        "dc:contributor": ["Marko Kos", "Eva Horvat"],
        "dc:date": "1998-05-14",
        "dc:coverage": "Kranj, Slovenija",
        "dc:language": "sl",
        "dc:type": "Sound",
        "dc:format": "audio/flac",
        "dc:extent": "0:28:06",
        "dc:subject": ["vojna", "šola", 'citat "v narekovajih"'],
        "dc:description": "Dve\nvrstici, z vejico",
        "dc:rights": "CC BY 4.0",
    }
    assert parsed[1]["dc:type"] == "MovingImage"
    assert parsed[1]["dc:creator"] == []
    assert dublin_core_csv(parsed) == text


def test_parse_dublin_core_csv_rejects_other_csv() -> None:
    with pytest.raises(InputError) as error:
        parse_dublin_core_csv("a,b\n1,2\n")
    assert "no Dublin Core columns" in assert_one_line(error, "<dublin core csv>")

"""The public site: pages for pupils, teachers and researchers, served by Datasette.

Datasette's own pages are a table browser: fine for researchers, useless to a class of
12-year-olds looking for their village. This module adds the pages a visitor lands on, as
Datasette plugin routes (``register_routes`` in :mod:`livingmemory.site.plugin`) over the
published public database (``public/public.db``, see :mod:`livingmemory.site.publish`):

* ``/`` home: a search box, browse by village, by decade of the stories, by topic, newest
  interviews;
* ``/intervju/<id>``: an interview with its player and time-coded transcript; time-coded
  links use the recording and the second (``/intervju/3#t=754``), never a segment number, so
  a citation survives corrections that renumber segments;
* ``/kraj/<name>``, ``/oseba/<name>``, ``/organizacija/<name>``, ``/tema/<key>``,
  ``/desetletje/<yyyy>``: interviews and moments about a place, person, topic or decade;
* ``/iskanje?q=...``: search results grouped by interview, with filters.

Slovenian first: labels come from :data:`STRINGS` (Slovenian, English); ``?lang=en`` switches
and a cookie remembers it. Every piece of archive text goes through Jinja's autoescaping.
Every query is bounded (LIMIT, or keyed by one recording) and uses the indexes and the small
``browse`` table that :func:`build_browse_index` adds to the public database at publish time,
so a page costs the same on a 10,000-hour archive as on the demo.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
import yaml
from markupsafe import Markup, escape

from livingmemory.archive.files import sha256_file
from livingmemory.archive.sqlite import sqlite3
from livingmemory.search import place_recordings
from livingmemory.site import maps
from livingmemory.site.index_points import KAZALO_STRINGS, kazalo, points_at_place
from livingmemory.timecodes import clock

PUBLIC_DATABASE = "public"
TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
LANG_COOKIE = "lm_lang"
LANGS = ("sl", "en")
PAGE_SIZE = 50

# -- words ------------------------------------------------------------------------------

STRINGS: dict[str, tuple[str, str]] = {
    "site_title": ("Živi spomin", "Living Memory"),
    "tagline": (
        "Spomini ljudi z Gorenjske: poslušajte jih in preberite, kaj so povedali.",
        "Memories of people from Gorenjska: listen to them and read what they said.",
    ),
    "skip": ("Skoči na vsebino", "Skip to content"),
    "home": ("Domov", "Home"),
    "researchers": ("Za raziskovalce", "For researchers"),
    "researchers_hint": (
        "tabele, JSON, CSV, OAI-PMH in IIIF",
        "tables, JSON, CSV, OAI-PMH and IIIF",
    ),
    "switch_lang": ("English", "Slovensko"),
    "search": ("Išči", "Search"),
    "search_label": ("Kaj iščeš?", "What are you looking for?"),
    "search_placeholder": ("npr. Kranj, železarna, vojna", "e.g. Kranj, ironworks, war"),
    "search_hint": (
        "Najde vse oblike besede: »Kranj« najde tudi »v Kranju«.",
        "Finds every form of a word: \u201cKranj\u201d also finds \u201cv Kranju\u201d.",
    ),
    "villages": ("Po krajih", "By place"),
    "villages_hint": (
        "Kraji, kjer so posneli intervjuje, od koder so pripovedovalci in o katerih govorijo.",
        "Places where interviews were recorded, where narrators come from and that they talk about.",  # noqa: E501
    ),
    "decades": ("Po desetletjih", "By decade"),
    "decades_hint": (
        "Desetletja, o katerih pripovedujejo (ne samo leto snemanja).",
        "The decades the stories are about (not only when they were recorded).",
    ),
    "topics": ("Po temah", "By topic"),
    "people_mentioned": ("Največkrat omenjene osebe", "People mentioned most"),
    "orgs_mentioned": ("Organizacije", "Organisations"),
    "newest": ("Najnovejši intervjuji", "Newest interviews"),
    "all_places": ("Vsi kraji", "All places"),
    "interview": ("Intervju", "Interview"),
    "interviews": ("Intervjuji", "Interviews"),
    "n_interviews": ("intervjujev", "interviews"),
    "n_mentions": ("omemb", "mentions"),
    "narrator": ("Pripoveduje", "Narrator"),
    "narrators": ("Pripovedujejo", "Narrators"),
    "interviewer": ("Spraševal/-a", "Interviewer"),
    "recorded": ("Posneto", "Recorded"),
    "place": ("Kraj", "Place"),
    "length": ("Dolžina", "Length"),
    "language": ("Jezik", "Language"),
    "licence": ("Licenca", "Licence"),
    "born": ("roj.", "born"),
    "from": ("iz kraja", "from"),
    "listen": ("Poslušaj", "Listen"),
    "play_from": ("Predvajaj od", "Play from"),
    "open_at": ("Odpri intervju pri", "Open the interview at"),
    "transcript": ("Prepis", "Transcript"),
    "transcript_hint": (
        "Klikni vrstico (ali jo izberi s tipko Tab in pritisni Enter), da slišiš ta del.",
        "Click a line (or reach it with Tab and press Enter) to hear that part.",
    ),
    "follow": ("Sledi besedilu med poslušanjem", "Follow the text while listening"),
    "no_transcript": (
        "Ta intervju še nima prepisa. Poslušate ga lahko v celoti.",
        "This interview has no transcript yet. You can listen to all of it.",
    ),
    "redacted": (
        "Nekaj odlomkov je na željo pripovedovalca izpuščenih.",
        "Some passages were removed at the narrator's request.",
    ),
    "machine_note": (
        "Prepis je naredil računalnik in ima lahko napake; vrstice v poševnem tisku so morda napačne.",  # noqa: E501
        "The transcript was made by a computer and may contain mistakes; lines in italics may be wrong.",  # noqa: E501
    ),
    "overlap": ("hkrati govori še nekdo", "someone else is speaking at the same time"),
    "overlap_note": (
        "Znak ⇄ ob vrstici pomeni, da hkrati govori še nekdo; del besedila je lahko nejasen.",
        "The sign ⇄ by a line means someone else is speaking at the same time; part of the text may be unclear.",  # noqa: E501
    ),
    "index": ("Omenjeno v intervjuju", "Mentioned in the interview"),
    "index_hint": (
        "Klikni, da skočiš na trenutek, ko je omenjeno (ponovni klik: naslednja omemba).",
        "Click to jump to the moment it is mentioned (click again: the next mention).",
    ),
    "find_in": ("Išči v tem intervjuju", "Search this interview"),
    "find": ("Najdi", "Find"),
    "found": ("Zadetki v intervjuju", "Found in this interview"),
    "nothing_found": ("Ni zadetkov.", "Nothing found."),
    "cite": ("Citiraj", "Cite"),
    "cite_hint": (
        "Povezava vodi do trenutka, ki ga poslušaš; ostane veljavna tudi po popravkih prepisa.",
        "The link opens the moment you are listening to; it stays valid after the transcript is corrected.",  # noqa: E501
    ),
    "copy": ("Kopiraj", "Copy"),
    "copied": ("Kopirano", "Copied"),
    "moments": ("Trenutki", "Moments"),
    "recorded_here": ("Posneto v tem kraju", "Recorded here"),
    "narrators_from": ("Pripovedovalci od tu", "Narrators from here"),
    "mentioned_in": ("Omenjeno v intervjujih", "Mentioned in interviews"),
    "narrated_by": ("Pripoveduje", "Tells the story"),
    "from_decade": ("Posneto v tem desetletju", "Recorded in this decade"),
    "results": ("Rezultati iskanja", "Search results"),
    "results_for": ("Rezultati za", "Results for"),
    "no_results": (
        "Ni zadetkov. Poskusi z drugo besedo ali manj besedami.",
        "Nothing found. Try another word or fewer words.",
    ),
    "filters": ("Omeji iskanje", "Narrow the search"),
    "any": ("vse", "any"),
    "decade_rec": ("Desetletje snemanja", "Decade recorded"),
    "apply": ("Uporabi", "Apply"),
    "more": ("Naslednji zadetki", "More results"),
    "prev": ("Prejšnji zadetki", "Previous results"),
    "not_found": ("Te strani ni", "Page not found"),
    "not_found_text": (
        "Tega ni v javnem arhivu. Morda je naslov napačen ali pa intervju ni javen.",
        "This is not in the public archive. The address may be wrong, or the interview is not public.",  # noqa: E501
    ),
    "back_home": ("Nazaj na začetno stran", "Back to the home page"),
    "map": ("Zemljevid krajev", "Map of places"),
    "map_caption": (
        "Zemljevid: večji krog pomeni več intervjujev. Klikni kraj; številka združuje bližnje kraje.",  # noqa: E501
        "Map: a bigger circle means more interviews. Click a place; a number groups places close together.",  # noqa: E501
    ),
    "trails": ("Poti spominov", "Memory trails"),
    "trails_hint": (
        "Sprehodi po krajih, kjer domačini pripovedujejo, kaj se je tam zgodilo.",
        "Walks through places where local people tell what happened there.",
    ),
    "map_here": ("Kraji v tem intervjuju", "Places in this interview"),
    "map_around": ("Na zemljevidu", "On the map"),
    "map_cluster": ("Več krajev, odpri", "Several places, open"),
    "map_reset": ("Pokaži ves zemljevid", "Show the whole map"),
    "map_list": ("Seznam krajev na zemljevidu", "List of the places on the map"),
    "map_far": ("zunaj zemljevida", "outside the map"),
    "speaker": ("Govori", "Speaking"),
    "time": ("Čas", "Time"),
    "archive": ("Arhiv", "Archive"),
    "accessed": ("dostop", "accessed"),
    "nothing_yet": ("Še nič.", "Nothing yet."),
    "hits": ("Zadetki", "Hits"),
    "type_place": ("Kraj", "Place"),
    "type_person": ("Oseba", "Person"),
    "type_organisation": ("Organizacija", "Organisation"),
    "type_topic": ("Tema", "Topic"),
    "type_decade": ("Desetletje", "Decade"),
    "type_date": ("Datum", "Date"),
    "label_LOC": ("Kraji", "Places"),
    "label_PER": ("Osebe", "People"),
    "label_ORG": ("Organizacije", "Organisations"),
    "label_DATE": ("Časi in datumi", "Dates and times"),
    "label_TOPIC": ("Teme", "Topics"),
    # open data (site/downloads.py, site/oai.py, site/iiif.py, site/linked_data.py)
    "as_data": ("Ti rezultati kot podatki", "These results as data"),
    "downloads": ("Prenesi prepis", "Download the transcript"),
    "downloads_hint": (
        "Odlomki, izpuščeni na željo pripovedovalca, manjkajo tudi v datotekah.",
        "Passages removed at the narrator's request are left out of the files too.",
    ),
    "open_data": ("Za arhive in knjižnice", "For archives and libraries"),
    "iiif_manifest": (
        "Manifest IIIF (za pregledovalnike zvoka)",
        "IIIF manifest (for audio viewers)",
    ),
    "oai_record": ("Zapis OAI-PMH (Dublin Core)", "OAI-PMH record (Dublin Core)"),
}
STRINGS.update(KAZALO_STRINGS)  # the interview index's words (site/index_points.py)

LANGUAGE_NAMES: dict[str, tuple[str, str]] = {
    "sl": ("slovenščina", "Slovenian"),
    "en": ("angleščina", "English"),
    "de": ("nemščina", "German"),
    "hr": ("hrvaščina", "Croatian"),
    "it": ("italijanščina", "Italian"),
    "hu": ("madžarščina", "Hungarian"),
    "sr": ("srbščina", "Serbian"),
}

MONTHS = {
    "sl": ["januar", "februar", "marec", "april", "maj", "junij", "julij", "avgust",
           "september", "oktober", "november", "december"],
    "en": ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"],
}  # fmt: skip

# Entity labels in the archive -> (kind in the browse table, page route prefix).
KINDS = {
    "LOC": ("place", "kraj"),
    "PER": ("person", "oseba"),
    "ORG": ("organisation", "organizacija"),
    "TOPIC": ("topic", "tema"),
}
ROUTE_KIND = {route: (label, kind) for label, (kind, route) in KINDS.items()}
CHIP_ORDER = ("LOC", "PER", "ORG", "DATE", "TOPIC")


PLURALS: dict[str, tuple[tuple[str, str, str, str], tuple[str, str]]] = {
    "interview": (
        ("intervju", "intervjuja", "intervjuji", "intervjujev"),
        ("interview", "interviews"),
    ),
    "mention": (("omemba", "omembi", "omembe", "omemb"), ("mention", "mentions")),
    "stop": (("postaja", "postaji", "postaje", "postaj"), ("stop", "stops")),
}


def counted(n: int, word: str, lang: str) -> str:
    """``n`` and the noun in the right form: Slovenian has four (1, 2, 3-4, 5+, by n % 100)."""
    sl, en = PLURALS[word]
    if lang == "en":
        return f"{n} {en[0] if n == 1 else en[1]}"
    rest = n % 100
    form = sl[0] if rest == 1 else sl[1] if rest == 2 else sl[2] if rest in (3, 4) else sl[3]
    return f"{n} {form}"


def lang_index(lang: str) -> int:
    return 1 if lang == "en" else 0


def translator(lang: str) -> Callable[[str], str]:
    index = lang_index(lang)
    return lambda key: STRINGS[key][index] if key in STRINGS else key


@lru_cache(maxsize=1)
def topic_labels() -> dict[str, tuple[str, str]]:
    """Topic key -> (Slovenian, English) name, from the subject list the tagger uses."""
    path = Path(__file__).resolve().parents[1] / "data" / "topics.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    labels = {}
    for key, topic in (data.get("topics") or {}).items():
        sl, _, en = str(topic.get("label", key)).partition(" / ")  # the version 1 form
        sl, en = str(topic.get("sl", sl)).strip(), str(topic.get("en", en or sl)).strip()
        labels[key] = (sl, en)
    return labels


def topic_name(key: str, lang: str) -> str:
    names = topic_labels().get(key)
    return names[lang_index(lang)] if names else key


def language_name(code: str | None, lang: str) -> str:
    if not code:
        return ""
    names = LANGUAGE_NAMES.get(code)
    if names:
        return names[lang_index(lang)]
    from livingmemory.ingest.languages import LANGUAGES

    return LANGUAGES.get(code, code)


# -- formatting -------------------------------------------------------------------------


def length(seconds: float | None, lang: str) -> str:
    """A duration in words a pupil reads at a glance: ``45 min``, ``1 h 05 min``, ``40 s``."""
    total = round(seconds or 0)
    if total < 60:
        return f"{total} s"
    hours, minutes = divmod(total // 60, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def nice_date(value: str | None, lang: str) -> str:
    """``1954-05-12`` -> ``12. 5. 1954`` (Slovenian) / ``12 May 1954``; partial dates too."""
    if not value:
        return ""
    parts = value.split("-")
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        return value
    if len(numbers) == 1:
        return str(numbers[0])
    month = MONTHS["en" if lang == "en" else "sl"][numbers[1] - 1] if 1 <= numbers[1] <= 12 else ""
    if len(numbers) == 2:
        return f"{month} {numbers[0]}"
    if lang == "en":
        return f"{numbers[2]} {month} {numbers[0]}"
    return f"{numbers[2]}. {numbers[1]}. {numbers[0]}"


def decade_name(decade: int | str, lang: str) -> str:
    year = int(str(decade)[:4])
    return f"{year}s" if lang == "en" else f"{year}–{year + 9}"


def highlight(text: str, query: str | None) -> Markup:
    """``text`` escaped, with the words that a search for ``query`` matched in ``<mark>``.

    The search matches lemmas and word prefixes, so a word is marked when its folded form
    starts with the folded stem of a query word ("Kranj" marks "Kranju", "zelezarna" marks
    "Železarni").
    """
    if not query:
        return Markup(escape(text))
    from livingmemory.search import _FUNCTION_WORDS
    from livingmemory.words import fold

    words = re.findall(r"\w+", query)
    content = [w for w in words if w.casefold() not in _FUNCTION_WORDS] or words
    stems = {fold(w)[: max(3, len(w) - 2)] if len(w) >= 4 else fold(w) for w in content}
    out = []
    for piece in re.split(r"(\w+)", text):
        if piece and re.fullmatch(r"\w+", piece) and any(fold(piece).startswith(s) for s in stems):
            out.append(Markup("<mark>{}</mark>").format(piece))
        else:
            out.append(escape(piece))
    return Markup("").join(out)


# -- queries ----------------------------------------------------------------------------


def _rows(conn: sqlite3.Connection, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
    cursor = conn.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _marks(values: Iterable[Any]) -> str:
    return ",".join("?" for _ in values)


def recordings_by_id(conn: sqlite3.Connection, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Recordings with their narrators (name, birth year, home place), looked up by id."""
    ids = list(dict.fromkeys(ids))
    if not ids:
        return {}
    found = {
        r["id"]: {**r, "people": []}
        for r in _rows(
            conn,
            "SELECT id, title, narrators, interviewers, recorded_date, decade, place, language,"
            f" duration, audio_url, redacted_passages FROM recordings WHERE id IN ({_marks(ids)})",
            ids,
        )
    }
    for person in _rows(
        conn,
        "SELECT rp.recording_id, rp.role, p.id, p.name, p.birth_year, p.home_place "
        "FROM recording_people rp JOIN people p ON p.id = rp.person_id "
        f"WHERE rp.recording_id IN ({_marks(ids)}) ORDER BY rp.rowid",
        ids,
    ):
        found[person["recording_id"]]["people"].append(person)
    for recording in found.values():
        recording["narrator_list"] = [p for p in recording["people"] if p["role"] == "narrator"]
        recording["interviewer_list"] = [
            p for p in recording["people"] if p["role"] == "interviewer"
        ]
    return {i: found[i] for i in ids if i in found}


def newest(conn: sqlite3.Connection, limit: int = 8) -> list[dict[str, Any]]:
    ids = [
        r["id"] for r in _rows(conn, "SELECT id FROM recordings ORDER BY id DESC LIMIT ?", [limit])
    ]
    return list(recordings_by_id(conn, ids).values())


def has_table(conn: sqlite3.Connection, name: str) -> bool:
    return bool(
        conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ? LIMIT 1", [name]
        ).fetchone()
    )


def has_browse(conn: sqlite3.Connection) -> bool:
    return has_table(conn, "browse")


def browse(conn: sqlite3.Connection, kind: str, limit: int = 60) -> list[dict[str, Any]]:
    """The most-linked places, people, topics...: from the small table publish builds."""
    if not has_browse(conn):
        return []
    order = "name" if kind == "decade" else "recordings DESC, mentions DESC, name"
    return _rows(
        conn,
        "SELECT kind, name, mentions, recordings, latitude, longitude FROM browse "
        f"WHERE kind = ? ORDER BY {order} LIMIT ?",
        [kind, limit],
    )


def overlap_column(conn: sqlite3.Connection) -> str:
    """The public segments' ``overlap`` (another voice talks over the line), or ``0`` in a
    public database published before it existed: the site serves that file until the next
    publish (a full one, the publishing code having changed) and must not fail meanwhile."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(segments)")}
    return "overlap" if "overlap" in columns else "0 AS overlap"


def interview(conn: sqlite3.Connection, recording_id: int) -> dict[str, Any] | None:
    """One public recording with its people, transcript lines and index (chips)."""
    found = recordings_by_id(conn, [recording_id])
    if not found:
        return None
    recording = found[recording_id]
    recording["segments"] = _rows(
        conn,
        f"SELECT id, start, end, speaker, text, suspect, {overlap_column(conn)} FROM segments "
        "WHERE recording_id = ? ORDER BY start, id",
        [recording_id],
    )
    chips: dict[str, list[dict[str, Any]]] = {}
    for row in _rows(
        conn,
        "SELECT label, name, min(decade) AS decade, group_concat(start_seconds, ' ') AS times, "
        "count(*) AS n, min(start_seconds) AS first FROM ("
        " SELECT label, decade, start_seconds,"
        "  CASE WHEN label = 'DATE' THEN text ELSE coalesce(canonical, text) END AS name"
        " FROM entities WHERE recording_id = ? AND start_seconds IS NOT NULL"
        ") GROUP BY label, name ORDER BY first",
        [recording_id],
    ):
        times = sorted({float(t) for t in (row["times"] or "").split()})
        row["times"] = " ".join(f"{t:g}" for t in times)
        chips.setdefault(row["label"], []).append(row)
    recording["chips"] = [(label, chips[label]) for label in CHIP_ORDER if label in chips]
    recording["kazalo"] = kazalo(conn, recording_id)
    return recording


def find_in_interview(
    conn: sqlite3.Connection, recording_id: int, query: str, limit: int = 200
) -> list[dict[str, Any]]:
    """Lines of one interview that match ``query`` in any inflected form.

    The full-text search is confined to the recording's range of segment ids (FTS5 filters
    by rowid range itself), so a common word costs what it costs in one interview.
    """
    from livingmemory.search import fts_query

    try:
        expression = fts_query(query)
    except Exception:
        return []
    low, high = conn.execute(
        "SELECT min(id), max(id) FROM segments WHERE recording_id = ?", [recording_id]
    ).fetchone()
    if low is None:
        return []
    return _rows(
        conn,
        "SELECT s.id, s.start, s.text FROM segments_fts "
        "JOIN segments s ON s.id = segments_fts.rowid "
        "WHERE segments_fts MATCH ? AND segments_fts.rowid BETWEEN ? AND ? AND s.recording_id = ? "
        "ORDER BY s.start LIMIT ?",
        [expression, low, high, recording_id, limit],
    )


def run_search(
    conn: sqlite3.Connection,
    query: str,
    *,
    narrator: str | None = None,
    place: str | None = None,
    decade: str | None = None,
    language: str | None = None,
    limit: int = PAGE_SIZE,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """THE one call from the site into search (:func:`livingmemory.search.search`, the same
    search as the CLI and Datasette's canned query) on the public database. ``decade`` is the
    recording's decade as published (``"1950s"``). A query search cannot read (no words) finds
    nothing rather than failing the page."""
    from livingmemory.errors import LivingMemoryError
    from livingmemory.search import search

    try:
        hits = search(conn, query, narrator=narrator, place=place, decade=decade,
                      language=language, limit=limit, offset=offset)  # fmt: skip
    except LivingMemoryError:
        return []
    return [hit_dict(hit) for hit in hits]


HIT_FIELDS = ("recording_id", "title", "segment_id", "start", "end", "speaker", "text", "matched")


def hit_dict(hit: Any) -> dict[str, Any]:
    """What the search page needs from a hit: a row (dict) or a ``livingmemory.search.Hit``."""
    if isinstance(hit, dict):
        return {field: hit.get(field) for field in HIT_FIELDS}
    return {field: getattr(hit, field, None) for field in HIT_FIELDS}


def search_page(
    conn: sqlite3.Connection, query: str, filters: dict[str, str], offset: int = 0
) -> dict[str, Any]:
    hits = run_search(conn, query, **filters, limit=PAGE_SIZE + 1, offset=offset) if query else []
    more = len(hits) > PAGE_SIZE
    hits = hits[:PAGE_SIZE]
    recordings = recordings_by_id(conn, [h["recording_id"] for h in hits])
    by_recording: dict[int, dict[str, Any]] = {}  # in the order of each interview's best hit
    for hit in hits:
        if hit["recording_id"] not in recordings:
            continue
        group = by_recording.setdefault(
            hit["recording_id"], {"recording": recordings[hit["recording_id"]], "hits": []}
        )
        group["hits"].append(hit)
    groups = list(by_recording.values())
    return {"groups": groups, "more": more, "count": len(hits)}


def filter_options(conn: sqlite3.Connection) -> dict[str, list[str]]:
    """Values for the search filters: distinct values read from indexes, bounded."""

    def distinct(column: str) -> list[str]:
        return [
            r[0]
            for r in conn.execute(
                f"SELECT DISTINCT {column} FROM recordings WHERE {column} IS NOT NULL "
                f"ORDER BY {column} LIMIT 300"
            )
        ]

    return {
        "place": distinct("place"),
        "decade": distinct("decade"),
        "language": distinct("language"),
    }


# Long: the page's bounded queries and their grouping, read top to bottom like the page.
def entity_page(conn: sqlite3.Connection, label: str, name: str) -> dict[str, Any]:
    """Interviews and moments about one place, person, organisation or topic."""
    mentioned = _rows(
        conn,
        "SELECT recording_id, count(*) AS n, min(start_seconds) AS first FROM entities "
        "WHERE label = ? AND canonical = ? GROUP BY recording_id ORDER BY n DESC, recording_id "
        "LIMIT ?",
        [label, name, PAGE_SIZE],
    )
    moments = _rows(
        conn,
        "SELECT e.recording_id, e.start_seconds, e.text AS said, s.text, s.start "
        "FROM entities e JOIN segments s ON s.id = e.segment_id "
        "WHERE e.label = ? AND e.canonical = ? ORDER BY e.recording_id DESC, e.start_seconds "
        "LIMIT ?",
        [label, name, PAGE_SIZE],
    )
    recorded_here: list[int] = []
    narrators: list[dict[str, Any]] = []
    if label == "LOC":
        recorded_here = [
            r["id"]
            for r in _rows(
                conn,
                "SELECT id FROM recordings WHERE place = ? ORDER BY id DESC LIMIT ?",
                [name, PAGE_SIZE],
            )
        ]
        narrators = _rows(
            conn,
            "SELECT p.name, p.birth_year, p.home_place, rp.recording_id FROM people p "
            "JOIN recording_people rp ON rp.person_id = p.id "
            "WHERE p.home_place = ? AND rp.role = 'narrator' LIMIT ?",
            [name, PAGE_SIZE],
        )
    elif label == "PER":
        narrators = _rows(
            conn,
            "SELECT p.name, p.birth_year, p.home_place, rp.recording_id FROM people p "
            "JOIN recording_people rp ON rp.person_id = p.id "
            "WHERE p.name = ? AND rp.role = 'narrator' LIMIT ?",
            [name, PAGE_SIZE],
        )
    place = None
    placed: list[dict[str, Any]] = []
    interviews: list[int] | None = None
    if label == "LOC":
        interviews = place_recordings(conn, name)  # the count search and the map give too
        placed = points_at_place(conn, name, PAGE_SIZE)
        found = _rows(
            conn,
            "SELECT name, type, region, latitude, longitude FROM places WHERE name = ? LIMIT 1",
            [name],
        )
        place = found[0] if found else None
    ids = [
        *recorded_here,
        *(n["recording_id"] for n in narrators),
        *(m["recording_id"] for m in mentioned),
        *(m["recording_id"] for m in moments),
        *(p["recording_id"] for p in placed),
    ]
    recordings = recordings_by_id(conn, ids)
    return {
        "recorded_here": [recordings[i] for i in recorded_here if i in recordings],
        "narrators": [{**n, "recording": recordings.get(n["recording_id"])} for n in narrators],
        "mentioned": [{**m, "recording": recordings.get(m["recording_id"])} for m in mentioned],
        "moments": [{**m, "recording": recordings.get(m["recording_id"])} for m in moments],
        "place": place,
        "indexed": [{**p, "recording": recordings.get(p["recording_id"])} for p in placed],
        "interview_count": None if interviews is None else len(interviews),
        "empty": not (recorded_here or narrators or mentioned or interviews),
    }


def decade_page(conn: sqlite3.Connection, decade: int) -> dict[str, Any]:
    """Interviews recorded in a decade and moments that speak of it."""
    recorded = [
        r["id"]
        for r in _rows(
            conn,
            "SELECT id FROM recordings WHERE decade = ? ORDER BY id DESC LIMIT ?",
            [f"{decade}s", PAGE_SIZE],
        )
    ]
    mentioned = _rows(
        conn,
        "SELECT recording_id, count(*) AS n, min(start_seconds) AS first FROM entities "
        "WHERE decade = ? GROUP BY recording_id ORDER BY n DESC, recording_id LIMIT ?",
        [decade, PAGE_SIZE],
    )
    moments = _rows(
        conn,
        "SELECT e.recording_id, e.start_seconds, e.text AS said, s.text, s.start "
        "FROM entities e JOIN segments s ON s.id = e.segment_id "
        "WHERE e.decade = ? ORDER BY e.recording_id DESC, e.start_seconds LIMIT ?",
        [decade, PAGE_SIZE],
    )
    recordings = recordings_by_id(
        conn, [*recorded, *(m["recording_id"] for m in mentioned),
               *(m["recording_id"] for m in moments)]
    )  # fmt: skip
    return {
        "recorded_here": [recordings[i] for i in recorded if i in recordings],
        "narrators": [],
        "mentioned": [{**m, "recording": recordings.get(m["recording_id"])} for m in mentioned],
        "moments": [{**m, "recording": recordings.get(m["recording_id"])} for m in moments],
        "place": None,
        "indexed": [],
        "interview_count": None,
        "empty": not (recorded or mentioned),
    }


# -- the browse table and indexes (built by publish) ------------------------------------

INDEXES = {
    "idx_entities_label_canonical": "entities (label, canonical, recording_id, start_seconds)",
    "idx_entities_decade": "entities (decade, recording_id, start_seconds)",
    "idx_entities_recording": "entities (recording_id, start_seconds)",
    "idx_segments_recording": "segments (recording_id, start)",
    "idx_recordings_place": "recordings (place)",
    "idx_recordings_decade": "recordings (decade)",
    "idx_recordings_language": "recordings (language)",
    "idx_people_home_place": "people (home_place)",
    "idx_people_name": "people (name)",
    "idx_recording_people_person": "recording_people (person_id, role)",
    "idx_places_name": "places (name)",
}


# An interview belongs to the places its index points are placed at (publish always writes
# the public index_points table; a database published before it existed lacks it).
INDEX_POINT_PLACES = """
        UNION ALL SELECT place, recording_id, 0 FROM index_points WHERE place IS NOT NULL"""
# Where each browse entry's mentions and interviews come from: (name, recording_id, mention).
BROWSE_LINKS = {
    "place": """
        SELECT canonical AS name, recording_id, 1 AS mention FROM entities
         WHERE label = 'LOC' AND canonical IS NOT NULL
        UNION ALL SELECT place, id, 0 FROM recordings WHERE place IS NOT NULL
        UNION ALL SELECT p.home_place, rp.recording_id, 0 FROM people p
          JOIN recording_people rp ON rp.person_id = p.id
         WHERE p.home_place IS NOT NULL AND rp.role = 'narrator'"""
    + INDEX_POINT_PLACES,
    "person": """
        SELECT canonical AS name, recording_id, 1 AS mention FROM entities
         WHERE label = 'PER' AND canonical IS NOT NULL
        UNION ALL SELECT p.name, rp.recording_id, 0 FROM people p
          JOIN recording_people rp ON rp.person_id = p.id WHERE rp.role = 'narrator'""",
    "organisation": """SELECT canonical AS name, recording_id, 1 AS mention FROM entities
         WHERE label = 'ORG' AND canonical IS NOT NULL""",
    "topic": """SELECT canonical AS name, recording_id, 1 AS mention FROM entities
         WHERE label = 'TOPIC' AND canonical IS NOT NULL""",
    "decade": """
        SELECT CAST(decade AS TEXT) AS name, recording_id, 1 AS mention FROM entities
         WHERE decade IS NOT NULL
        UNION ALL SELECT substr(decade, 1, 4), id, 0 FROM recordings
         WHERE decade IS NOT NULL""",
}


def _browse_insert(kind: str, where: str = "") -> str:
    """The INSERT of ``kind``'s browse rows (those whose name ``where`` picks, or all)."""
    return (
        "INSERT INTO browse (kind, name, mentions, recordings, latitude, longitude) "
        "SELECT ?, l.name, sum(l.mention), count(DISTINCT l.recording_id), "
        "(SELECT latitude FROM places WHERE name = l.name AND ? = 'place' LIMIT 1), "
        "(SELECT longitude FROM places WHERE name = l.name AND ? = 'place' LIMIT 1) "
        f"FROM ({BROWSE_LINKS[kind]}) l WHERE trim(l.name) != '' {where} "
        "GROUP BY l.name ORDER BY l.name"
    )


@contextmanager
def _only_recordings(conn: Any, recording_ids: list[int]) -> Iterator[None]:
    """Run :data:`BROWSE_LINKS` over temporary copies of just these recordings' rows
    (SQLite reads a temporary table before a main one of the same name): the same rules,
    and no full scan of a label's mentions, which the planner would pick for
    ``recording_id IN``."""
    marks = ",".join("?" * len(recording_ids))
    copies = {
        "entities": f"recording_id IN ({marks})",
        "recordings": f"id IN ({marks})",
        "recording_people": f"recording_id IN ({marks})",
        "index_points": f"recording_id IN ({marks})",
        "people": f"id IN (SELECT person_id FROM main.recording_people WHERE recording_id IN "
        f"({marks}))",
    }
    for table, where in copies.items():
        conn.execute(
            f"CREATE TEMP TABLE {table} AS SELECT * FROM main.{table} WHERE {where}",
            recording_ids,
        )
    try:
        yield
    finally:
        for table in copies:
            conn.execute(f"DROP TABLE temp.{table}")


BrowseCounts = dict[tuple[str, str], tuple[int, int]]


def browse_counts(conn: Any, recording_ids: list[int]) -> BrowseCounts:
    """What recordings ``recording_ids`` add to each browse entry: ``(kind, name) ->
    (mentions, recordings)``, by the rules :func:`build_browse_index` counts with.

    Both figures add up over recordings (a mention belongs to one recording; an entry's
    interviews are the recordings with at least one link to it), so an entry's counts after
    a publish are its counts before, less what the rewritten recordings gave it before,
    plus what they give it now (:func:`adjust_browse`)."""
    counts: BrowseCounts = {}
    for start in range(0, len(recording_ids), 500):
        chunk = recording_ids[start : start + 500]
        with _only_recordings(conn, chunk):
            for kind, sql in BROWSE_LINKS.items():
                for name, mentions, recordings in conn.execute(
                    f"SELECT l.name, sum(l.mention), count(DISTINCT l.recording_id) "
                    f"FROM ({sql}) l WHERE trim(l.name) != '' GROUP BY l.name"
                ):
                    key = (kind, str(name))
                    before = counts.get(key, (0, 0))
                    counts[key] = (before[0] + mentions, before[1] + recordings)
    return counts


def adjust_browse(
    conn: Any, before: BrowseCounts, after: BrowseCounts, recount: set[tuple[str, str]]
) -> None:
    """Bring the browse entries up to date after some recordings were rewritten or
    withdrawn: ``before`` and ``after`` are what those recordings gave each entry
    (:func:`browse_counts`), ``recount`` entries to count afresh (places whose coordinates
    may have changed). Counting a place mentioned a hundred thousand times afresh took
    1.8 s at 10,000 hours, most of a withdrawal; the difference is a few row updates."""
    recount = set(recount)
    for key in sorted((set(before) | set(after)) - recount):
        (was_m, was_r), (now_m, now_r) = before.get(key, (0, 0)), after.get(key, (0, 0))
        if (was_m, was_r) == (now_m, now_r):
            continue
        kind, name = key
        updated = conn.execute(
            "UPDATE browse SET mentions = mentions + ?, recordings = recordings + ? "
            "WHERE kind = ? AND name = ?",
            [now_m - was_m, now_r - was_r, kind, name],
        ).rowcount
        if updated:
            conn.execute(
                "DELETE FROM browse WHERE kind = ? AND name = ? AND recordings <= 0", [kind, name]
            )
        else:  # a new entry: counted, and placed on the map, the usual way
            recount.add(key)
    refresh_browse(conn, recount)


def refresh_browse(conn: Any, keys: set[tuple[str, str]]) -> None:
    """Recount the browse entries ``keys`` (after some recordings changed), with the same
    rows :func:`build_browse_index` would give them: an entry nothing counts towards any
    more disappears. Each name is looked up through the indexes."""
    for kind in BROWSE_LINKS:
        names = sorted(name for k, name in keys if k == kind)
        for start in range(0, len(names), 200):
            chunk = names[start : start + 200]
            marks = ",".join("?" * len(chunk))
            conn.execute(f"DELETE FROM browse WHERE kind = ? AND name IN ({marks})", [kind, *chunk])
            conn.execute(
                _browse_insert(kind, f"AND l.name IN ({marks})"), [kind, kind, kind, *chunk]
            )


def build_browse_index(conn: Any) -> None:
    """Indexes for the site's queries and the ``browse`` table the home page reads.

    ``browse`` holds one row per place, person, organisation, topic and decade with how many
    interviews and mentions it has: computed once when publishing, so the home page reads a
    few dozen rows instead of grouping millions of mentions on every visit. ``conn`` is a
    sqlite3 connection or a sqlite-utils Database. Deterministic (publishing an unchanged
    archive stays byte-identical).
    """
    execute = conn.execute
    for name, target in INDEXES.items():
        execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")
    execute("DROP TABLE IF EXISTS browse")
    execute(
        "CREATE TABLE browse (kind TEXT NOT NULL, name TEXT NOT NULL, mentions INTEGER NOT NULL,"
        " recordings INTEGER NOT NULL, latitude REAL, longitude REAL, PRIMARY KEY (kind, name))"
    )
    for kind in BROWSE_LINKS:
        execute(_browse_insert(kind), [kind, kind, kind])
    execute("CREATE INDEX IF NOT EXISTS idx_browse_kind ON browse (kind, recordings DESC)")
    conn.commit()


# -- rendering --------------------------------------------------------------------------


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES / "site")),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["clock"] = clock
    env.filters["q"] = lambda value: quote(str(value), safe="")
    return env


@lru_cache(maxsize=16)
def static_version(name: str) -> str:
    """A short hash of a static file, so browsers fetch a changed stylesheet or script."""

    path = Path(__file__).resolve().parents[1] / "static" / name
    return sha256_file(path)[:8] if path.is_file() else "0"


def request_lang(request: Any) -> tuple[str, bool]:
    """The page language and whether it was chosen in this request (then remembered)."""
    asked = request.args.get("lang")
    if asked in LANGS:
        return asked, True
    remembered = request.cookies.get(LANG_COOKIE)
    return (remembered if remembered in LANGS else "sl"), False


def _switch_url(request: Any, lang: str) -> str:
    args = [(k, v) for k in request.args if k != "lang" for v in request.args.getlist(k)]
    other = "en" if lang == "sl" else "sl"
    return request.path + "?" + urlencode([*args, ("lang", other)])


class Page:
    """What every template gets: the language, words, links and the archive's metadata."""

    def __init__(self, datasette: Any, request: Any) -> None:
        self.datasette = datasette
        self.request = request
        self.lang, self.lang_chosen = request_lang(request)
        self.t = translator(self.lang)

    def url(self, path: str) -> str:
        return self.datasette.urls.path(path)

    def absolute(self, path: str) -> str:
        return self.datasette.absolute_url(self.request, self.url(path))

    def context(self, **values: Any) -> dict[str, Any]:
        lang = self.lang
        metadata = self.datasette.metadata() or {}
        return {
            "lang": lang,
            "t": self.t,
            "url": self.url,
            "static": lambda name: (
                self.datasette.urls.static_plugins("livingmemory", name)
                + "?v="
                + static_version(name)
            ),
            "switch_url": _switch_url(self.request, lang),
            "researchers_url": self.url(f"/{PUBLIC_DATABASE}"),
            "archive_title": str(metadata.get("title") or STRINGS["site_title"][lang_index(lang)]),
            "license": metadata.get("license"),
            "license_url": metadata.get("license_url"),
            "length": lambda s: length(s, lang),
            "counted": lambda n, word: counted(n, word, lang),
            "date": lambda v: nice_date(v, lang),
            "decade_name": lambda d: decade_name(d, lang),
            "topic_name": lambda k: topic_name(k, lang),
            "language_name": lambda c: language_name(c, lang),
            "entity_url": entity_url,
            "highlight": highlight,
            "today": nice_date(dt.date.today().isoformat(), lang),
            **values,
        }

    def render(self, template: str, status: int = 200, **values: Any) -> Any:
        from datasette.utils.asgi import Response

        html = environment().get_template(template).render(self.context(**values))
        response = Response.html(html, status=status)
        response.headers["content-language"] = self.lang
        if self.lang_chosen:
            response.set_cookie(LANG_COOKIE, self.lang, max_age=365 * 24 * 3600, samesite="lax")
        return response


def entity_url(label: str, name: Any) -> str | None:
    if label == "DATE":
        return None if name is None else f"/desetletje/{int(name)}"
    kind = KINDS.get(label)
    return f"/{kind[1]}/{quote(str(name), safe='')}" if kind else None


async def _db_call(datasette: Any, fn: Callable[[sqlite3.Connection], Any]) -> Any:
    """Run ``fn`` on one read snapshot: ``publish`` commits into the served file while
    the site runs, and a page's queries must all see the same version of it."""

    def in_snapshot(conn: sqlite3.Connection) -> Any:
        if conn.in_transaction:
            return fn(conn)
        conn.execute("BEGIN")
        try:
            return fn(conn)
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")

    return await datasette.get_database(PUBLIC_DATABASE).execute_fn(in_snapshot)


async def _allowed(datasette: Any, request: Any) -> None:
    from datasette import Forbidden

    if not await datasette.permission_allowed(request.actor, "view-instance", default=True):
        raise Forbidden("You do not have permission to view this archive")


def _not_found(page: Page) -> Any:
    return page.render("not_found.html", status=404)


# -- routes -----------------------------------------------------------------------------


async def home_view(datasette: Any, request: Any) -> Any:
    await _allowed(datasette, request)
    page = Page(datasette, request)

    from livingmemory.site.trail_pages import trail_list

    def load(conn: sqlite3.Connection) -> dict[str, Any]:
        return {
            "newest": newest(conn),
            "places": browse(conn, "place", 48),
            "decades": browse(conn, "decade", 40),
            "topics": browse(conn, "topic", 30),
            "people": browse(conn, "person", 16),
            "orgs": browse(conn, "organisation", 12),
            "located": maps.map_places(conn),
            "trails": trail_list(conn),
        }

    data = await _db_call(datasette, load)
    return page.render("home.html", map=maps.page_map(page, data.pop("located")), **data)


async def interview_view(datasette: Any, request: Any) -> Any:
    from livingmemory.site.linked_data import interview_extras

    await _allowed(datasette, request)
    page = Page(datasette, request)
    recording_id = min(int(request.url_vars["id"]), 2**62)  # SQLite integers are 64-bit
    query = (request.args.get("q") or "").strip()

    def load(conn: sqlite3.Connection) -> tuple[Any, list[dict[str, Any]]]:
        recording = interview(conn, recording_id)
        found = find_in_interview(conn, recording_id, query) if recording and query else []
        if recording:
            names = maps.places_of_recordings(conn, [recording_id])
            recording["located"] = maps.map_places(conn, names)
        return recording, found

    recording, found = await _db_call(datasette, load)
    if recording is None:
        return _not_found(page)
    return page.render(
        "interview.html",
        r=recording,
        query=query,
        found=found,
        found_ids={f["id"] for f in found},
        audio_src=page.url(recording["audio_url"]) if recording["audio_url"] else None,
        page_url=page.absolute(f"/intervju/{recording_id}"),
        speakers_known=any(s["speaker"] for s in recording["segments"]),
        **interview_extras(page, recording),  # downloads, IIIF, OAI-PMH, JSON-LD
        place_map=maps.page_map(page, recording["located"]) if recording["located"] else None,
    )


async def find_json_view(datasette: Any, request: Any) -> Any:
    from datasette.utils.asgi import Response

    await _allowed(datasette, request)
    recording_id = min(int(request.url_vars["id"]), 2**62)  # SQLite integers are 64-bit
    query = (request.args.get("q") or "").strip()
    found = await _db_call(
        datasette, lambda conn: find_in_interview(conn, recording_id, query) if query else []
    )
    return Response.json(
        [
            {
                "id": f["id"],
                "start": f["start"],
                "clock": clock(f["start"]),
                "html": str(highlight(f["text"], query)),
            }
            for f in found
        ]
    )


async def entity_view(datasette: Any, request: Any) -> Any:
    await _allowed(datasette, request)
    page = Page(datasette, request)
    route = request.url_vars["kind"]
    label, kind = ROUTE_KIND[route]
    name = request.url_vars["name"]
    from urllib.parse import unquote

    name = unquote(name)
    data = await _db_call(datasette, lambda conn: entity_page(conn, label, name))
    if data["empty"]:
        return _not_found(page)
    title = topic_name(name, page.lang) if label == "TOPIC" else name
    place_map = None
    if label == "LOC":
        located = await _db_call(datasette, lambda conn: maps.place_page_places(conn, name, data))
        place_map = maps.page_map(page, located, current=name) if located else None
    return page.render(
        "listing.html", kind=kind, kind_label=page.t(f"type_{kind}"), title=title, d=data,
        place_map=place_map,
    )  # fmt: skip


async def decade_view(datasette: Any, request: Any) -> Any:
    await _allowed(datasette, request)
    page = Page(datasette, request)
    decade = int(request.url_vars["decade"]) // 10 * 10
    data = await _db_call(datasette, lambda conn: decade_page(conn, decade))
    if data["empty"]:
        return _not_found(page)
    return page.render(
        "listing.html", kind="decade", kind_label=page.t("type_decade"),
        title=decade_name(decade, page.lang), d=data,
    )  # fmt: skip


FILTERS = {
    "kraj": "place",
    "pripovedovalec": "narrator",
    "desetletje": "decade",
    "jezik": "language",
}


def search_request(request: Any) -> tuple[str, dict[str, str], dict[str, str], int]:
    """The query, the filters as chosen (every name) and as set, and the offset of a search
    request: one reading for the page and its JSON and CSV (``site/downloads.py``)."""
    query = (request.args.get("q") or "").strip()[:200]
    chosen = {
        name: (request.args.get(param) or "").strip()[:100] for param, name in FILTERS.items()
    }
    filters = {name: value for name, value in chosen.items() if value}
    try:
        offset = max(0, int(request.args.get("od") or 0))
    except ValueError:
        offset = 0
    return query, chosen, filters, offset


async def search_view(datasette: Any, request: Any) -> Any:
    from livingmemory.site.downloads import search_data_links

    await _allowed(datasette, request)
    page = Page(datasette, request)
    query, chosen, filters, offset = search_request(request)

    def load(conn: sqlite3.Connection) -> dict[str, Any]:
        return {**search_page(conn, query, filters, offset), "options": filter_options(conn)}

    data = await _db_call(datasette, load)
    base_args = [(p, chosen[n]) for p, n in FILTERS.items() if chosen[n]]

    def page_link(start: int) -> str:
        return page.url("/iskanje") + "?" + urlencode([("q", query), *base_args, ("od", start)])

    return page.render(
        "search.html",
        query=query,
        chosen=chosen,
        d=data,
        offset=offset,
        next_url=page_link(offset + PAGE_SIZE) if data["more"] else None,
        prev_url=page_link(max(0, offset - PAGE_SIZE)) if offset else None,
        data_links=search_data_links(page, request),
    )


def site_routes(datasette: Any) -> list[tuple[str, Callable[..., Any]]]:
    """The site's routes, when a public database is served (not for the private archive)."""
    from livingmemory.site.trail_pages import trail_routes

    if PUBLIC_DATABASE not in datasette.databases:
        return []
    from livingmemory.site import downloads, iiif, oai  # open data (they import this module)

    kinds = "|".join(ROUTE_KIND)
    return [
        (r"^/$", home_view),
        (r"^/intervju/(?P<id>\d+)$", interview_view),
        (r"^/intervju/(?P<id>\d+)/najdi\.json$", find_json_view),
        (rf"^/(?P<kind>{kinds})/(?P<name>[^/]+)$", entity_view),
        (r"^/desetletje/(?P<decade>\d{4})$", decade_view),
        (r"^/iskanje$", search_view),
        (r"^/iskanje\.(?P<ext>json|csv)$", downloads.search_data_view),
        (r"^/intervju/(?P<id>\d+)/prepis\.(?P<ext>[A-Za-z0-9]+)$", downloads.transcript_view),
        (r"^/oai$", oai.oai_view),
        (r"^/iiif/(?P<id>\d+)/manifest\.json$", iiif.manifest_view),
        *trail_routes(),
    ]

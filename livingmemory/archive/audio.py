"""Audio files: what they are and whether they are whole.

Volunteers bring whatever their recorder made (WAV, FLAC, MP3, M4A/AAC, OGG/Opus, stereo or
mono). Before a file enters the archive we ask ffprobe what it is (through pydub's choice of
prober), decode it completely once with ffmpeg to prove it is not corrupt or truncated, and
hash it (:func:`livingmemory.archive.files.sha256_file`), so that a damaged copy is caught
while the volunteer still has the original.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

with warnings.catch_warnings():  # "Couldn't find ffmpeg" is reported by require_ffmpeg()
    warnings.simplefilter("ignore", RuntimeWarning)
    from pydub.utils import get_encoder_name, get_prober_name

from livingmemory.errors import InputError, MissingDependencyError

if TYPE_CHECKING:
    import numpy as np

INSTALL_HINT = "install it with 'sudo apt-get install ffmpeg' (or your system's package manager)"


@dataclass(frozen=True)
class AudioInfo:
    """Technical facts about one audio file, as stored in the archive."""

    format: str
    codec: str
    duration: float
    sample_rate: int
    channels: int
    bit_rate: int | None
    size_bytes: int


def ff_input(path: Path) -> str:
    """``path`` as ffmpeg/ffprobe must read it: a local file, whatever its name.

    A name starting with ``-`` (``-dash.wav``) would be taken for an option, and one with a
    colon (``http:x.wav``, ``concat:a|b``) for a protocol; ``file:`` plus the absolute path
    is neither.
    """
    return f"file:{Path(path).absolute()}"


def require_ffmpeg() -> tuple[str, str]:
    """Paths of the ffmpeg and ffprobe programs pydub will use, or a clear error."""
    found = []
    with warnings.catch_warnings():  # pydub warns on stderr when they are missing; we say so
        warnings.simplefilter("ignore", RuntimeWarning)
        names = (get_encoder_name(), get_prober_name())
    for name in names:
        path = shutil.which(name)
        if path is None:
            raise MissingDependencyError(f"{name} was not found: {INSTALL_HINT}")
        found.append(path)
    return found[0], found[1]


def _first_error_line(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    if not lines:
        return "unknown error"
    # ffmpeg prefixes lines with the file name or "[demuxer @ 0x...]"; keep the message.
    last = lines[-1]
    last = re.sub(r"^\[[^\]]+\]\s*", "", last)
    return last.split(": ", 1)[-1] if ": " in last else last


def probe(path: Path) -> AudioInfo:
    """Describe ``path`` or raise :class:`InputError` saying why it is not usable audio."""
    if not path.exists():
        raise InputError(path, "no such file")
    if not path.is_file():
        raise InputError(path, "not a file")
    size = path.stat().st_size
    if size == 0:
        raise InputError(path, "empty file (0 bytes)")
    _, ffprobe = require_ffmpeg()
    result = subprocess.run(
        [ffprobe, "-v", "error", "-of", "json", "-show_format", "-show_streams", ff_input(path)],
        capture_output=True,
        text=True,
        errors="replace",
        check=False,
    )
    if result.returncode != 0:
        problem = _first_error_line(result.stderr)
        raise InputError(path, f"cannot be read as audio (ffmpeg: {problem})")
    info = json.loads(result.stdout or "{}")
    streams = [s for s in info.get("streams", []) if s.get("codec_type") == "audio"]
    if not streams:
        kinds = sorted({s.get("codec_type", "?") for s in info.get("streams", [])}) or ["nothing"]
        raise InputError(path, f"not an audio file (it contains {', '.join(kinds)}, no sound)")
    stream, container = streams[0], info.get("format", {})
    duration = _float(stream.get("duration")) or _float(container.get("duration"))
    if not duration or duration <= 0:
        raise InputError(path, "the audio has no duration (empty or damaged)")
    return AudioInfo(
        format=_format_name(container.get("format_name", ""), path),
        codec=stream.get("codec_name", "unknown"),
        duration=round(duration, 3),
        sample_rate=int(stream.get("sample_rate") or 0),
        channels=int(stream.get("channels") or 0),
        bit_rate=int(b) if (b := stream.get("bit_rate") or container.get("bit_rate")) else None,
        size_bytes=size,
    )


def _float(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _format_name(format_name: str, path: Path) -> str:
    """ffprobe says "mov,mp4,m4a,3gp,3g2,mj2"; the file's own extension picks the member."""
    names = [n for n in format_name.split(",") if n]
    extension = path.suffix.lower().lstrip(".")
    if extension in names:
        return extension
    if extension == "opus" and "ogg" in names:
        return "opus"
    return names[0] if names else extension or "unknown"


def verify_complete(path: Path, info: AudioInfo) -> None:
    """Decode the whole file once and check its structure; raise if damaged or truncated.

    ffprobe alone is fooled by truncation: a cut MP3 still reports its original length from the
    Xing header, and a cut WAV or Ogg file reports a shorter but plausible one. So we (1) decode
    every frame with ffmpeg, failing on decoder errors, (2) compare the decoded length with the
    declared length, and (3) check the container's own bookkeeping for WAV and Ogg.
    """
    ffmpeg, _ = require_ffmpeg()
    result = subprocess.run(
        [ffmpeg, "-nostdin", "-v", "error", "-i", ff_input(path), "-map", "0:a:0",
         "-f", "null", "-progress", "pipe:1", "-"],
        capture_output=True,
        text=True,
        errors="replace",
        check=False,
    )  # fmt: skip
    if result.returncode != 0 or result.stderr.strip():
        raise InputError(path, f"damaged audio ({_first_error_line(result.stderr)})")
    times = re.findall(r"out_time_us=(\d+)", result.stdout)
    decoded = int(times[-1]) / 1e6 if times else 0.0
    shortfall = info.duration - decoded
    if shortfall > max(0.5, 0.02 * info.duration):
        raise InputError(
            path,
            f"truncated audio (declares {info.duration:.1f} s but only {decoded:.1f} s decode)",
        )
    if info.format == "wav":
        _check_wav(path)
    elif info.format in ("ogg", "opus"):
        _check_ogg(path)


def _check_wav(path: Path) -> None:
    """The RIFF header says how many bytes of sound follow; a cut copy has fewer."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        header = handle.read(12)
        if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
            return  # RF64/W64 and friends: ffmpeg's decode check above is all we do
        position = 12
        while position + 8 <= size:
            handle.seek(position)
            chunk_id, chunk_size = struct.unpack("<4sI", handle.read(8))
            if chunk_id == b"data":
                # Recorders that crash leave 0 or 0xFFFFFFFF; ffmpeg reads to the end then.
                if chunk_size not in (0, 0xFFFFFFFF) and position + 8 + chunk_size > size:
                    missing = position + 8 + chunk_size - size
                    raise InputError(path, f"truncated WAV (the last {missing} bytes are missing)")
                return
            position += 8 + chunk_size + (chunk_size & 1)


def _check_ogg(path: Path) -> None:
    """An Ogg stream ends with a complete page flagged end-of-stream; a cut copy does not."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        start = max(0, size - 65536 - 282)
        handle.seek(start)
        tail = handle.read()
    offset = tail.rfind(b"OggS")
    if offset < 0 or len(tail) - offset < 27:
        raise InputError(path, "truncated Ogg file (no complete final page)")
    header_type = tail[offset + 5]
    segments = tail[offset + 26]
    table = tail[offset + 27 : offset + 27 + segments]
    page_end = offset + 27 + segments + sum(table)
    if len(table) < segments or page_end > len(tail):
        raise InputError(path, "truncated Ogg file (the last page is cut short)")
    if not header_type & 0x04:
        raise InputError(path, "truncated Ogg file (the stream has no end-of-stream page)")


def load_audio(path: Path, *, sample_rate: int = 16_000, channel: int | None = None) -> np.ndarray:
    """Decode ``path`` once into the float32 mono array every Whisper engine takes.

    ``channel`` picks one channel of a stereo file (interviewer on the left, narrator on the
    right, as many field recorders do); ``None`` mixes all channels down.
    """
    import numpy as np

    ffmpeg, _ = require_ffmpeg()
    mix = ["-ac", "1"] if channel is None else ["-af", f"pan=mono|c0=c{channel}"]
    result = subprocess.run(
        [ffmpeg, "-nostdin", "-v", "error", "-threads", "0", "-i", ff_input(path), "-map", "0:a:0",
         *mix, "-ar", str(sample_rate), "-f", "s16le", "-acodec", "pcm_s16le", "-"],
        capture_output=True,
        check=False,
    )  # fmt: skip
    if result.returncode != 0:
        stderr = result.stderr.decode("utf-8", "replace")
        raise InputError(path, f"could not decode audio ({_first_error_line(stderr)})")
    return np.frombuffer(result.stdout, np.int16).astype(np.float32) / 32768.0


# Median best cross-correlation of the channels in speech frames below which they carry
# different signals. Measured (tests/test_audio_channels.py, benchmarks/diarization.py): a mono
# copy 1.00, the same voice at two gains and a 2 ms delay 0.99; two voices one per channel,
# talking at once, the other's voice bleeding in at -20 dB: 0.21 (at -10 dB: 0.60, left mixed).
INDEPENDENT_CHANNELS = 0.5


def channel_similarity(
    left: np.ndarray, right: np.ndarray, *, sample_rate: int = 16_000
) -> float | None:
    """The median, over 0.5 s frames where either channel has sound, of the two channels'
    best normalised cross-correlation within +-10 ms; None when there is too little sound."""
    import numpy as np

    frame, lag = sample_rate // 2, sample_rate // 100
    n = min(len(left), len(right)) // frame * frame
    if n == 0:
        return None
    a = left[:n].reshape(-1, frame).astype(np.float64)
    b = right[:n].reshape(-1, frame).astype(np.float64)
    a -= a.mean(1, keepdims=True)
    b -= b.mean(1, keepdims=True)
    energy_a, energy_b = (a**2).mean(1), (b**2).mean(1)
    loud = 10 * np.log10(np.maximum(energy_a, energy_b) + 1e-12)
    active = (loud > -45.0) & (energy_a > 0) & (energy_b > 0)
    if active.sum() < 3:
        return None
    a, b = a[active], b[active]
    size = 1 << int(np.ceil(np.log2(2 * frame)))
    spectrum = np.fft.rfft(a, size) * np.conj(np.fft.rfft(b, size))
    xcorr = np.fft.irfft(spectrum, size)
    near = np.concatenate([xcorr[:, : lag + 1], xcorr[:, -lag:]], axis=1)
    norm = np.sqrt((a**2).sum(1) * (b**2).sum(1))
    return float(np.median(np.abs(near).max(1) / np.maximum(norm, 1e-12)))


def distinct_channels(
    left: np.ndarray, right: np.ndarray, *, sample_rate: int = 16_000
) -> tuple[bool, str]:
    """Whether two channels carry different voices, and why it was decided so.

    Same sound on both channels (a stereo microphone, or a mono file saved as stereo) is
    strongly correlated sample by sample. A recorder with one lapel microphone per person
    carries two different signals: the question is whether the channels are independent,
    not which is louder (two people talking at once are both loud). In 0.5 s frames where
    anyone speaks, the channels' best normalised cross-correlation within +-10 ms (a spaced
    microphone pair delays one side by a few ms) stays high for one sound picked up twice
    and low for two voices, even with the other's voice bleeding in faintly
    (:func:`channel_similarity`). Failing that, the loudness test: each channel leads by
    10 dB or more in a good share of the speech frames.
    """
    import numpy as np

    n = min(len(left), len(right))
    left, right = left[:n], right[:n]
    if n == 0:
        return False, "no audio"
    if np.std(left) > 0 and np.std(right) > 0:
        correlation = float(np.corrcoef(left, right)[0, 1])
        if correlation > 0.9:
            return False, f"the channels carry the same sound (correlation {correlation:.2f})"
    similarity = channel_similarity(left, right, sample_rate=sample_rate)
    if similarity is not None and similarity < INDEPENDENT_CHANNELS:
        return True, (
            f"each channel carries its own signal (channel correlation in speech {similarity:.2f})"
        )
    frame = sample_rate // 10
    usable = n // frame * frame
    if usable == 0:
        return False, "too short to compare the channels"

    def loudness(channel: np.ndarray) -> np.ndarray:
        frames = channel[:usable].reshape(-1, frame).astype(np.float64)
        return 20 * np.log10(np.sqrt(np.mean(frames**2, axis=1)) + 1e-9)

    db_left, db_right = loudness(left), loudness(right)
    active = np.maximum(db_left, db_right) > -40.0
    if active.sum() < 10:
        return False, "too little sound to compare the channels"
    difference = (db_left - db_right)[active]
    left_leads = float(np.mean(difference > 10))
    right_leads = float(np.mean(difference < -10))
    if left_leads >= 0.1 and right_leads >= 0.1 and left_leads + right_leads >= 0.3:
        return True, (
            f"different voices on each channel (left leads in {left_leads:.0%} of speech, "
            f"right in {right_leads:.0%})"
        )
    return False, (
        f"the channels do not carry separate voices (left leads in {left_leads:.0%} of "
        f"speech, right in {right_leads:.0%})"
    )

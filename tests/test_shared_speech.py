"""Real human speech from ../shared (absent on a fresh clone: these tests then skip).

The files are added straight from ../shared into an archive under tmp_path; nothing is copied
into the repository, and the shared originals must be left exactly as they were.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support import add_json, ffprobe, sha256, show_json

pytestmark = pytest.mark.shared

# relative path -> (sample rate, channels, approximate seconds), from each folder's SOURCE.txt
EXPECTED = {
    "en_jfk/jfk.flac": (44100, 2, 11.0),
    "en_harvard_8k/OSR_us_000_0034_8k.wav": (8000, 1, 35.55),
    "de_cv/test_de.wav": (16000, 1, 5.26),
    "en_two_speakers/sample.wav": (16000, 1, 30.0),
}


@pytest.mark.parametrize("relative", list(EXPECTED))
def test_real_speech_is_added_with_its_true_facts(
    relative: str, shared_speech: Path, archive_dir: Path, archive_db: Path
) -> None:
    original = shared_speech / relative
    if not original.is_file():
        pytest.skip(f"{original} is not in this copy of the shared material")
    rate, channels, seconds = EXPECTED[relative]
    probed = ffprobe(original)
    original_sha = sha256(original)
    original_mtime = original.stat().st_mtime_ns

    result, [entry] = add_json(archive_db, original, "--language", relative[:2])
    assert result.exit_code == 0, str(result)
    assert entry["status"] == "added"
    record = show_json(archive_db, entry["recording_id"])

    assert record["sample_rate"] == rate == probed["sample_rate"]
    assert record["channels"] == channels == probed["channels"]
    assert record["duration"] == pytest.approx(probed["duration"], abs=0.01)
    assert record["duration"] == pytest.approx(seconds, abs=0.1)
    assert record["format"] == original.suffix[1:]
    assert record["codec"] == probed["codec"]
    assert record["language"] == relative[:2]
    assert record["sha256"] == original_sha
    copy = archive_dir / record["file_path"]
    assert copy.read_bytes() == original.read_bytes()
    assert sha256(original) == original_sha
    assert original.stat().st_mtime_ns == original_mtime


def test_all_real_speech_in_one_batch_then_again(shared_speech: Path, archive_db: Path) -> None:
    files = [shared_speech / r for r in EXPECTED if (shared_speech / r).is_file()]
    if not files:
        pytest.skip("no shared speech files present")
    result, entries = add_json(archive_db, *files)
    assert result.exit_code == 0, str(result)
    assert [e["status"] for e in entries] == ["added"] * len(files)
    again, repeated = add_json(archive_db, *files)
    assert again.exit_code == 0, str(again)
    assert [e["status"] for e in repeated] == ["duplicate"] * len(files)
    assert [e["recording_id"] for e in repeated] == [e["recording_id"] for e in entries]

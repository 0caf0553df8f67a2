"""Stage ``diarize``: who spoke when, as anonymous speakers (``spk00``, ``spk01``, ...).

1. Speech (from the VAD stage) is cut into 1.6 s windows every 0.8 s and each window gets a
   256-d voice embedding from resemblyzer (its weights ship inside the wheel).
2. Consecutive windows are averaged into pieces of about 2.4 s; the pieces are clustered
   (agglomerative, cosine, average linkage) with the number of speakers unknown: the cut
   with the best silhouette decides, bounded above by the agenda's number of people. At most
   ``MAX_CLUSTERED_PIECES`` pieces enter the pairwise step, so memory stays bounded on a
   3-hour recording (about 4,500 pieces); beyond that a regular subsample is clustered and the
   rest assigned to the nearest centre.
3. Every window is then labelled with its nearest speaker centre and smoothed, which places
   turn boundaries to within a window hop; windows that sit close to two centres are marked
   as possible overlapping speech.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.config import DiarizeSettings
from ..core.events import progress
from ..media.audio import read_block
from ..core.stage import Stage, StageContext, StageOutput, package_version
from ..core.storage import write_text

WINDOW_S = 1.6  # resemblyzer's partial utterance: 160 mel frames of 10 ms
HOP_S = 0.8
WINDOWS_PER_PIECE = 3
MAX_CLUSTERED_PIECES = 6000  # pairwise distances: 6000^2 / 2 doubles = 144 MB at most
EMBED_BATCH = 64
MAX_SPEAKERS = 20  # when the agenda does not bound it
SILHOUETTE_SAMPLE = 2000  # the silhouette is scored on a sample, keeping memory bounded


@dataclass(frozen=True)
class Turn:
    start_s: float
    end_s: float
    speaker: str
    confidence: float
    overlap: bool = False


def load_encoder():
    import torch
    from resemblyzer import VoiceEncoder

    # The encoder is a small LSTM: with more than one thread torch spends its time
    # synchronising (measured 14.4 s vs 4.7 s for the demo clip on a busy 2-core machine).
    torch.set_num_threads(1)
    return VoiceEncoder("cpu", verbose=False)


def window_starts(start_s: float, end_s: float) -> list[float]:
    """Window start times covering a speech segment; a short segment gets one centred window."""
    length = end_s - start_s
    if length <= WINDOW_S:
        return [max(0.0, start_s + length / 2 - WINDOW_S / 2)]
    count = int(np.floor((length - WINDOW_S) / HOP_S)) + 1
    starts = [start_s + i * HOP_S for i in range(count)]
    if end_s - (starts[-1] + WINDOW_S) > HOP_S / 2:
        starts.append(end_s - WINDOW_S)
    return starts


def _mel(samples: np.ndarray) -> np.ndarray:
    from resemblyzer.audio import wav_to_mel_spectrogram

    frames = int(WINDOW_S * 100)
    mel = wav_to_mel_spectrogram(samples)
    return np.pad(mel, ((0, max(0, frames - len(mel))), (0, 0)))[:frames]


def embed_file(wav: Path, encoder=None) -> np.ndarray:
    """One unit-length voice vector for a whole file (an enrollment clip)."""
    import soundfile

    duration = soundfile.info(str(wav)).duration
    _, _, vectors = embed(encoder or load_encoder(), wav, [{"start_s": 0.0, "end_s": duration}])
    return _unit(vectors.mean(axis=0))


def embed(encoder, wav: Path, segments: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(window starts, index of the VAD segment of each window, unit-length embeddings)."""
    import torch

    starts, owners, mels, embeddings = [], [], [], []
    total = sum(s["end_s"] - s["start_s"] for s in segments)

    def flush() -> None:
        if mels:
            with torch.no_grad():
                batch = encoder(torch.from_numpy(np.stack(mels)))
            embeddings.append(batch.numpy())
            mels.clear()

    with progress(total, "diarize: embed") as tracker:
        for index, segment in enumerate(segments):
            for start in window_starts(segment["start_s"], segment["end_s"]):
                mels.append(_mel(read_block(wav, start, WINDOW_S)))
                starts.append(start)
                owners.append(index)
                if len(mels) == EMBED_BATCH:
                    flush()
            tracker.update(segment["end_s"] - segment["start_s"])
        flush()
    vectors = np.concatenate(embeddings) if embeddings else np.zeros((0, 256), dtype=np.float32)
    return np.array(starts), np.array(owners), vectors


def pieces(owners: np.ndarray, embeddings: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Average runs of up to three windows of one VAD segment; return vectors and their members."""
    members: list[np.ndarray] = []
    for owner in np.unique(owners):
        indices = np.flatnonzero(owners == owner)
        members.extend(indices[i : i + WINDOWS_PER_PIECE] for i in range(0, len(indices), WINDOWS_PER_PIECE))
    vectors = np.stack([_unit(embeddings[m].mean(axis=0)) for m in members])
    return vectors, members


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / max(np.linalg.norm(vector), 1e-9)


def cluster(vectors: np.ndarray, min_silhouette: float, max_speakers: int | None) -> np.ndarray:
    """Cluster labels 0..k-1 for unit vectors, the number of speakers k unknown.

    An agglomerative tree (cosine, average linkage) is cut at every k from 2 to the bound and
    the cut with the best silhouette wins; below ``min_silhouette`` everything is one voice. A
    fixed distance threshold does not carry across recordings: resemblyzer separates the
    synthetic demo voices by ~0.35 in cosine but two telephone voices by only ~0.07.
    """
    from scipy.cluster.hierarchy import fcluster, linkage
    from sklearn.metrics import silhouette_score

    stride = max(1, int(np.ceil(len(vectors) / MAX_CLUSTERED_PIECES)))
    sample = vectors[::stride]
    if len(sample) < 3:
        return np.zeros(len(vectors), dtype=int)
    tree = linkage(sample, method="average", metric="cosine")
    best_score, best = min_silhouette, np.ones(len(sample), dtype=int)
    for k in range(2, min(max_speakers or MAX_SPEAKERS, len(sample) - 1) + 1):
        labels = fcluster(tree, t=k, criterion="maxclust")
        if len(np.unique(labels)) < 2:
            continue
        score = silhouette_score(sample, labels, metric="cosine",
                                 sample_size=min(len(sample), SILHOUETTE_SAMPLE), random_state=0)
        if score > best_score:
            best_score, best = score, labels
    centres = np.stack([_unit(sample[best == k].mean(axis=0)) for k in np.unique(best)])
    return np.argmax(vectors @ centres.T, axis=1)


def _centres(vectors: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return np.stack([_unit(vectors[labels == k].mean(axis=0)) for k in range(labels.max() + 1)])


def _drop_tiny_clusters(vectors: np.ndarray, labels: np.ndarray, min_pieces: int) -> np.ndarray:
    """Fold clusters of fewer than ``min_pieces`` pieces into their nearest larger cluster."""
    counts = np.bincount(labels)
    keep = np.flatnonzero(counts >= min_pieces)
    if len(keep) == 0 or len(keep) == len(counts):
        return labels
    centres = _centres(vectors, labels)[keep]
    relabelled = keep[np.argmax(vectors @ centres.T, axis=1)]
    labels = np.where(np.isin(labels, keep), labels, relabelled)
    _, dense = np.unique(labels, return_inverse=True)
    return dense


def _smooth(labels: np.ndarray, owners: np.ndarray) -> np.ndarray:
    """A single window unlike both neighbours in its segment takes their label (3-window median)."""
    smoothed = labels.copy()
    for i in range(1, len(labels) - 1):
        same_segment = owners[i - 1] == owners[i] == owners[i + 1]
        if same_segment and labels[i - 1] == labels[i + 1] != labels[i]:
            smoothed[i] = labels[i - 1]
    return smoothed


def _appearance_order(labels: np.ndarray) -> list[int]:
    return list(dict.fromkeys(labels.tolist()))


def _in_order_of_appearance(labels: np.ndarray) -> np.ndarray:
    """Renumber so that spk00 is the first voice heard, spk01 the second, ..."""
    order = {old: new for new, old in enumerate(_appearance_order(labels))}
    return np.array([order[label] for label in labels.tolist()])


def to_turns(starts: np.ndarray, owners: np.ndarray, labels: np.ndarray, similarity: np.ndarray,
             segments: list[dict], overlap_margin: float) -> list[Turn]:
    """Turns from labelled windows: a boundary falls halfway between two differing windows."""
    turns: list[Turn] = []
    for owner, segment in enumerate(segments):
        indices = np.flatnonzero(owners == owner)
        if len(indices) == 0:
            continue
        run_start = segment["start_s"]
        run = [indices[0]]
        for previous, current in zip(indices, indices[1:]):
            if labels[current] != labels[previous]:
                boundary = (starts[previous] + WINDOW_S / 2 + starts[current] + WINDOW_S / 2) / 2
                turns.append(_turn(run_start, boundary, run, labels, similarity, overlap_margin))
                run_start, run = boundary, []
            run.append(current)
        turns.append(_turn(run_start, segment["end_s"], run, labels, similarity, overlap_margin))
    return turns


def _turn(start_s: float, end_s: float, windows: list[int], labels: np.ndarray, similarity: np.ndarray,
          overlap_margin: float) -> Turn:
    label = labels[windows[0]]
    ranked = np.sort(similarity[windows], axis=1)
    margin = float(np.mean(ranked[:, -1] - ranked[:, -2])) if similarity.shape[1] > 1 else 1.0
    overlap = bool(similarity.shape[1] > 1 and np.any(ranked[:, -1] - ranked[:, -2] < overlap_margin)
                   and np.any(ranked[:, -2] > 0.75))
    confidence = float(np.clip(margin / 0.3, 0.0, 1.0))
    return Turn(round(start_s, 3), round(end_s, 3), f"spk{label:02d}", round(confidence, 3), overlap)


def diarize(wav: Path, segments: list[dict], settings: DiarizeSettings, max_speakers: int | None,
            encoder=None) -> tuple[list[Turn], np.ndarray]:
    """Turns, and the unit-length centre of each speaker's voice (row k is spk{k})."""
    if not segments:
        return [], np.zeros((0, 256), dtype=np.float32)
    starts, owners, embeddings = embed(encoder or load_encoder(), wav, segments)
    vectors, members = pieces(owners, embeddings)
    piece_labels = cluster(vectors, settings.min_silhouette, max_speakers)
    piece_labels = _drop_tiny_clusters(vectors, piece_labels, settings.min_cluster_pieces)
    centres = _centres(vectors, piece_labels)
    similarity = embeddings @ centres.T
    raw = _smooth(np.argmax(similarity, axis=1), owners)
    order = _appearance_order(raw)
    # Centres that no window ended up nearest to are dropped; columns follow the new numbering.
    similarity = similarity[:, order]
    labels = _in_order_of_appearance(raw)
    turns = to_turns(starts, owners, labels, similarity, segments, settings.overlap_margin)
    return bridge_pauses(turns, settings.min_pause_s), centres[order]


def bridge_pauses(turns: list[Turn], min_pause_s: float) -> list[Turn]:
    """Join turns of one voice separated by less than ``min_pause_s``: a breath between two
    sentences is still the same turn (pyannote calls this min_duration_off)."""
    joined: list[Turn] = []
    for turn in turns:
        previous = joined[-1] if joined else None
        if previous and previous.speaker == turn.speaker and turn.start_s - previous.end_s < min_pause_s:
            joined[-1] = Turn(previous.start_s, turn.end_s, turn.speaker, min(previous.confidence, turn.confidence),
                              previous.overlap or turn.overlap)
        else:
            joined.append(turn)
    return joined


def rttm(turns: list[Turn], uri: str) -> str:
    return "".join(f"SPEAKER {uri} 1 {t.start_s:.3f} {t.end_s - t.start_s:.3f} <NA> <NA> {t.speaker} <NA> <NA>\n"
                   for t in turns)


def run(ingest: dict, vad: dict, settings: DiarizeSettings, max_speakers: int | None, out_dir: Path) -> tuple[dict, str]:
    floor = next(t for t in ingest["tracks"] if t["role"] == "floor")
    turns, centres = diarize(out_dir / floor["path"], vad["tracks"][floor["name"]], settings, max_speakers)
    artifact = {
        "track": floor["name"],
        "speakers": [f"spk{k:02d}" for k in range(len(centres))],
        "turns": [vars(t) for t in turns],
        # Voice centres let the align stage compare voices with enrollment clips.
        "centres": {f"spk{k:02d}": [round(float(x), 5) for x in centre] for k, centre in enumerate(centres)},
    }
    return artifact, rttm(turns, Path(ingest["recording"]).stem)


UNNAMED_VOICES = 2  # room for voices the agenda does not name (an interpreter, someone in the audience)


def run_stage(ctx: StageContext) -> StageOutput:
    people = len(ctx.config.event.people)
    max_speakers = people + UNNAMED_VOICES if people else None
    artifact, rttm_text = run(ctx.inputs["ingest.json"], ctx.inputs["vad.json"], ctx.config.diarize, max_speakers,
                              ctx.out_dir)
    write_text(ctx.out_dir / "diarization.rttm", rttm_text)
    return StageOutput(artifact, models={"speaker_encoder": "resemblyzer " + package_version("resemblyzer")},
                       counters={"speakers": len(artifact["speakers"]), "turns": len(artifact["turns"])},
                       files=["diarization.rttm"])


STAGE = Stage("diarize", 1, ("diarize", "event.people"), ("ingest.json", "vad.json"), "diarization.json", run_stage,
              description="who spoke when: voice embeddings, clustered")

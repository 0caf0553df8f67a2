"""Stage ``diarize``: who spoke when, as anonymous speakers (``spk00``, ``spk01``, ...).

1. Speech (from the VAD stage) is cut into half-overlapping windows of the embedder's length
   (CAM++: 1.5 s; resemblyzer: 1.6 s) and each window gets a unit-length voice vector from
   the engine that ``diarize.embedding`` names (``embedding.py``).
2. Consecutive windows are averaged into pieces of about 2.3 s; the pieces are clustered
   (spectral, number of voices by silhouette, bounded above by the agenda's number of people).
   At most ``MAX_CLUSTERED_PIECES`` pieces enter the pairwise step, so memory stays bounded on
   a 3-hour recording; beyond that a regular subsample is clustered and the rest assigned to
   the nearest centre.
3. Every window is then labelled with its nearest speaker centre and smoothed, which places
   turn boundaries to within a window hop.
4. The pyannote segmentation model (``diarize.overlap``) listens to the whole speech: where it
   hears two people at once, the stretch is marked as overlapped and given a second voice (the
   next nearest centre); speech that the VAD stage left out next to a turn joins that turn.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..core.config import DiarizeSettings
from ..core.events import progress
from ..media.audio import SAMPLE_RATE, read_block
from ..core.stage import Stage, StageContext, StageOutput
from .embedding import SpeakerEmbedder, describe, load_embedder, load_segmentation
from ..core.storage import write_text

WINDOWS_PER_PIECE = 3
# Pieces entering the pairwise step: a 3000 x 3000 float64 matrix is 72 MB, and a few live at
# once (affinity, graph, eigenvectors); a 3-hour recording has ~4,800 pieces, so a regular
# subsample is clustered and every piece is then given its nearest centre.
MAX_CLUSTERED_PIECES = 3000
MAX_SPEAKERS = 20  # when the agenda does not bound it
MIN_PIECES = 5  # fewer pieces (under ~11 s of speech) are one voice
NEIGHBOUR_SHARE = 0.05  # each piece is linked to its most similar twentieth ...
MIN_NEIGHBOURS = 3  # ... and at least three
SILHOUETTE_SAMPLE = 2000  # the silhouette is scored on a sample, keeping memory bounded
WINDOW_BATCH = 256  # windows read before they are embedded together (256 x 1.6 s x 4 B = 26 MB)


@dataclass(frozen=True)
class Turn:
    start_s: float
    end_s: float
    speaker: str
    confidence: float
    overlap: bool = False


def window_starts(start_s: float, end_s: float, window_s: float, hop_s: float) -> list[float]:
    """Window start times covering a speech segment; a short segment gets one centred window."""
    length = end_s - start_s
    if length <= window_s:
        return [max(0.0, start_s + length / 2 - window_s / 2)]
    count = int(np.floor((length - window_s) / hop_s)) + 1
    starts = [start_s + i * hop_s for i in range(count)]
    if end_s - (starts[-1] + window_s) > hop_s / 2:
        starts.append(end_s - window_s)
    return starts


def embed(embedder: SpeakerEmbedder, wav: Path, segments: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(window starts, index of the VAD segment of each window, unit-length embeddings).

    Each segment is read once; its windows are cut from it and embedded in batches.
    """
    window_s = embedder.window_s
    length = int(round(window_s * SAMPLE_RATE))
    starts, owners, windows, vectors = [], [], [], []
    total = sum(s["end_s"] - s["start_s"] for s in segments)

    def flush(whole: bool = False) -> None:
        # Batches of exactly WINDOW_BATCH windows; the rest waits for the next segment.
        while len(windows) >= WINDOW_BATCH or (whole and windows):
            batch = windows[:WINDOW_BATCH]
            vectors.append(embedder.embed(np.stack(batch)))
            del windows[:WINDOW_BATCH]

    with progress(total, "diarize: embed") as tracker:
        for index, segment in enumerate(segments):
            placed = window_starts(segment["start_s"], segment["end_s"], window_s, window_s / 2)
            block = read_block(wav, placed[0], placed[-1] + window_s - placed[0])
            for start in placed:
                offset = int(round((start - placed[0]) * SAMPLE_RATE))
                window = block[offset : offset + length]
                windows.append(np.pad(window, (0, length - len(window))))
                starts.append(start)
                owners.append(index)
            flush()
            tracker.update(segment["end_s"] - segment["start_s"])
        flush(whole=True)
    embeddings = np.concatenate(vectors) if vectors else np.zeros((0, embedder.dim), dtype=np.float32)
    return np.array(starts), np.array(owners), embeddings


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

    Spectral clustering: each piece is linked to its most similar pieces (a twentieth of them,
    at least ``MIN_NEIGHBOURS``); the first eigenvectors of that graph's normalised Laplacian,
    clustered by k-means, give a split for every k up to the agenda's bound, and the split
    whose silhouette (cosine, on the voice vectors themselves) is best wins; below
    ``min_silhouette`` everything is one voice. The graph depends on how pieces rank each
    other, not on a similarity threshold, so it carries across recordings whose voices sit at
    very different distances (two telephone voices at cosine 0.83 under CAM++, synthetic
    voices at 0.4-0.7), and one piece that resembles no one (a cough, two people at once)
    cannot take a cluster of its own as it does with average linkage.
    """
    from scipy.linalg import eigh
    from sklearn.metrics import silhouette_score

    stride = max(1, int(np.ceil(len(vectors) / MAX_CLUSTERED_PIECES)))
    sample = vectors[::stride]
    count = len(sample)
    if count < MIN_PIECES:
        return np.zeros(len(vectors), dtype=int)
    affinity = sample @ sample.T
    np.fill_diagonal(affinity, -np.inf)
    keep = min(count - 1, max(MIN_NEIGHBOURS, int(round(NEIGHBOUR_SHARE * count))))
    nearest = np.argpartition(-affinity, keep - 1, axis=1)[:, :keep]
    rows = np.arange(count)[:, None]
    graph = np.zeros_like(affinity)
    graph[rows, nearest] = np.maximum(affinity[rows, nearest], 0.0)
    del affinity
    graph = (graph + graph.T) / 2
    degree = np.maximum(graph.sum(axis=1), 1e-9)
    graph /= np.sqrt(np.outer(degree, degree))
    bound = min(max_speakers or MAX_SPEAKERS, count - 1)
    _, eigenvectors = eigh(np.eye(count) - graph, subset_by_index=[0, bound - 1])
    del graph
    best_score, best = min_silhouette, np.zeros(count, dtype=int)
    for k in range(2, bound + 1):
        labels = _kmeans(_unit_rows(eigenvectors[:, :k]), k)
        if len(np.unique(labels)) < 2:
            continue
        score = silhouette_score(sample, labels, metric="cosine",
                                 sample_size=min(count, SILHOUETTE_SAMPLE), random_state=0)
        if score > best_score:
            best_score, best = score, labels
    if best.max() == 0:
        return np.zeros(len(vectors), dtype=int)
    centres = np.stack([_unit(sample[best == c].mean(axis=0)) for c in range(best.max() + 1)])
    return np.argmax(vectors @ centres.T, axis=1)


def _kmeans(points: np.ndarray, k: int, tries: int = 4, rounds: int = 30) -> np.ndarray:
    """Plain k-means (k-means++ starts, fixed seed, best of ``tries``) on a few columns; a
    hand-rolled loop because the search runs it for every k up to 20 and sklearn's setup per
    call costs more than the clustering itself."""
    rng = np.random.default_rng(0)
    best, best_inertia = np.zeros(len(points), dtype=int), np.inf
    for _ in range(tries):
        centres = [points[rng.integers(len(points))]]
        for _ in range(1, k):
            distance = np.min(((points[:, None, :] - np.array(centres)[None]) ** 2).sum(axis=2), axis=1)
            total = distance.sum()
            centres.append(points[rng.choice(len(points), p=distance / total) if total > 0 else rng.integers(len(points))])
        centres = np.array(centres)
        for _ in range(rounds):
            labels = np.argmin(((points[:, None, :] - centres[None]) ** 2).sum(axis=2), axis=1)
            moved = np.array([points[labels == c].mean(axis=0) if np.any(labels == c) else centres[c] for c in range(k)])
            if np.allclose(moved, centres):
                break
            centres = moved
        inertia = ((points - centres[labels]) ** 2).sum()
        if inertia < best_inertia:
            best, best_inertia = labels, inertia
    _, dense = np.unique(best, return_inverse=True)
    return dense


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)


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
             segments: list[dict], window_s: float) -> list[Turn]:
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
                boundary = (starts[previous] + starts[current] + window_s) / 2
                turns.append(_turn(run_start, boundary, run, labels, similarity))
                run_start, run = boundary, []
            run.append(current)
        turns.append(_turn(run_start, segment["end_s"], run, labels, similarity))
    return turns


def _turn(start_s: float, end_s: float, windows: list[int], labels: np.ndarray, similarity: np.ndarray) -> Turn:
    label = labels[windows[0]]
    ranked = np.sort(similarity[windows], axis=1)
    margin = float(np.mean(ranked[:, -1] - ranked[:, -2])) if similarity.shape[1] > 1 else 1.0
    confidence = float(np.clip(margin / 0.3, 0.0, 1.0))
    return Turn(round(start_s, 3), round(end_s, 3), f"spk{label:02d}", round(confidence, 3))


@dataclass(frozen=True)
class Labelled:
    turns: list[Turn]
    centres: np.ndarray  # unit-length centre of each speaker's voice, row k is spk{k}
    starts: np.ndarray  # window start times
    similarity: np.ndarray  # each window's cosine to each centre


def diarize(wav: Path, segments: list[dict], settings: DiarizeSettings, max_speakers: int | None,
            embedder: SpeakerEmbedder, segmenter=None) -> tuple[list[Turn], np.ndarray, list[Overlap]]:
    """Turns, voice centres (row k is spk{k}) and the stretches where two people speak at once."""
    if not segments:
        return [], np.zeros((0, embedder.dim), dtype=np.float32), []
    starts, owners, embeddings = embed(embedder, wav, segments)
    labelled = label(starts, owners, embeddings, segments, settings, max_speakers, embedder.window_s)
    if segmenter is None:
        return labelled.turns, labelled.centres, []
    stretches, missed = listen(segmenter, wav, segments, settings.overlap_threshold)
    turns, overlaps = mark_overlaps(labelled, stretches, embedder.window_s)
    return add_missed_speech(turns, missed, settings.min_pause_s), labelled.centres, overlaps


def label(starts: np.ndarray, owners: np.ndarray, embeddings: np.ndarray, segments: list[dict],
          settings: DiarizeSettings, max_speakers: int | None, window_s: float) -> Labelled:
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
    turns = to_turns(starts, owners, labels, similarity, segments, window_s)
    return Labelled(bridge_pauses(turns, settings.min_pause_s), centres[order], starts, similarity)


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


# --- overlapped speech ----------------------------------------------------------------------

OVERLAP_CHUNK_STEP = 0.5  # of a chunk: every frame is seen by two chunks and their scores averaged
OVERLAP_BATCH = 16  # chunks per forward pass (16 x 10 s x 4 B = 10 MB)
MIN_OVERLAP_S = 0.1  # shorter stretches are noise
MIN_MISSED_SPEECH_S = 0.2
MISSED_SPEECH_REACH_S = 0.5  # speech the VAD missed joins a turn this close to it


@dataclass(frozen=True)
class Overlap:
    start_s: float
    end_s: float
    speakers: tuple[str, str]  # the turn's voice, then the second voice heard with it


def listen(segmenter, wav: Path, segments: list[dict], threshold: float
           ) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """(stretches where two people speak at once, speech the VAD stage left out).

    The segmentation model reads 10 s chunks every 5 s (chunks without VAD speech are skipped);
    each frame's probabilities are averaged over the chunks that saw it, so memory is two
    floats per 17 ms frame (5 MB for 3 hours) whatever the length. Overlap is looked for
    inside VAD speech only; speech outside it (quiet or far-field voices that silero-vad
    misses in meeting rooms) is kept where the model is sure of it (probability >= 0.5).
    """
    step_s, chunk_s = segmenter.frame_step_s, segmenter.chunk_s
    end_s = segments[-1]["end_s"]
    frames = int((end_s + chunk_s) / step_s) + 1
    speech_sum, overlap_sum = np.zeros(frames, dtype=np.float32), np.zeros(frames, dtype=np.float32)
    seen = np.zeros(frames, dtype=np.float32)
    in_vad = np.zeros(frames, dtype=bool)
    for segment in segments:
        in_vad[int(segment["start_s"] / step_s) : int(np.ceil(segment["end_s"] / step_s))] = True
    hop_s = chunk_s * OVERLAP_CHUNK_STEP
    starts = [s for s in np.arange(0.0, max(end_s - chunk_s, 0.0) + hop_s, hop_s)
              if in_vad[int(s / step_s) : int((s + chunk_s) / step_s)].any()]
    length = int(chunk_s * SAMPLE_RATE)
    with progress(len(starts), "diarize: overlap") as tracker:
        for i in range(0, len(starts), OVERLAP_BATCH):
            batch = starts[i : i + OVERLAP_BATCH]
            chunks = [read_block(wav, s, chunk_s) for s in batch]
            speech, overlap = segmenter.probabilities(np.stack([np.pad(c, (0, length - len(c))) for c in chunks]))
            for start, speech_row, overlap_row in zip(batch, speech, overlap):
                first = int(round((start + segmenter.frame_offset_s) / step_s))
                count = min(len(speech_row), frames - first)
                speech_sum[first : first + count] += speech_row[:count]
                overlap_sum[first : first + count] += overlap_row[:count]
                seen[first : first + count] += 1
            tracker.update(len(batch))
    heard = seen > 0
    seen = np.maximum(seen, 1)
    overlapped = heard & in_vad & (overlap_sum >= threshold * seen)
    missed = heard & ~in_vad & (speech_sum >= 0.5 * seen)
    return _stretches(overlapped, step_s, MIN_OVERLAP_S), _stretches(missed, step_s, MIN_MISSED_SPEECH_S)


def _stretches(frames: np.ndarray, step_s: float, min_s: float) -> list[tuple[float, float]]:
    edges = np.flatnonzero(np.diff(np.concatenate([[0], frames.astype(np.int8), [0]])))
    return [(round(a * step_s, 3), round(b * step_s, 3)) for a, b in zip(edges[::2], edges[1::2])
            if (b - a) * step_s >= min_s]


def add_missed_speech(turns: list[Turn], missed: list[tuple[float, float]], min_pause_s: float) -> list[Turn]:
    """Speech the VAD left out, next to a turn (within ``MISSED_SPEECH_REACH_S``), joins it: a
    gap between two turns of one voice is filled, one between two voices is split at its middle.
    Speech far from any turn is left out (there is no voice to give it)."""
    turns = list(turns)
    for a, b in missed:
        before = max((i for i, t in enumerate(turns) if t.end_s <= a + MISSED_SPEECH_REACH_S), default=None,
                     key=lambda i: turns[i].end_s)
        after = min((i for i, t in enumerate(turns) if t.start_s >= b - MISSED_SPEECH_REACH_S), default=None,
                    key=lambda i: turns[i].start_s)
        near_before = before is not None and a - turns[before].end_s <= MISSED_SPEECH_REACH_S
        near_after = after is not None and turns[after].start_s - b <= MISSED_SPEECH_REACH_S
        if near_before and near_after and turns[before].speaker != turns[after].speaker:
            middle = round((turns[before].end_s + turns[after].start_s) / 2, 3)
            turns[before] = replace(turns[before], end_s=max(turns[before].end_s, middle))
            turns[after] = replace(turns[after], start_s=min(turns[after].start_s, middle))
        else:
            if near_before:
                turns[before] = replace(turns[before], end_s=max(turns[before].end_s, b))
            if near_after:
                turns[after] = replace(turns[after], start_s=min(turns[after].start_s, a))
    return bridge_pauses(turns, min_pause_s)


def mark_overlaps(labelled: Labelled, stretches: list[tuple[float, float]],
                  window_s: float) -> tuple[list[Turn], list[Overlap]]:
    """Each overlapped stretch, cut at turn boundaries, gets the turn's voice and the voice
    next most similar to the windows that cover it; turns touching one are marked."""
    overlaps: list[Overlap] = []
    turns = []
    for turn in labelled.turns:
        inside = [(max(a, turn.start_s), min(b, turn.end_s)) for a, b in stretches
                  if min(b, turn.end_s) - max(a, turn.start_s) >= MIN_OVERLAP_S]
        for a, b in inside:
            covering = (labelled.starts < b) & (labelled.starts + window_s > a)
            if not covering.any() or labelled.similarity.shape[1] < 2:
                continue
            closeness = labelled.similarity[covering].mean(axis=0)
            closeness[int(turn.speaker[3:])] = -np.inf
            overlaps.append(Overlap(round(a, 3), round(b, 3), (turn.speaker, f"spk{int(np.argmax(closeness)):02d}")))
        turns.append(Turn(turn.start_s, turn.end_s, turn.speaker, turn.confidence, bool(inside)))
    return turns, overlaps


def rttm(turns: list[Turn], overlaps: list[Overlap], uri: str) -> str:
    """One line per turn, plus one per overlapped stretch for the second voice."""
    lines = [(t.start_s, t.end_s, t.speaker) for t in turns] + [(o.start_s, o.end_s, o.speakers[1]) for o in overlaps]
    return "".join(f"SPEAKER {uri} 1 {start:.3f} {end - start:.3f} <NA> <NA> {speaker} <NA> <NA>\n"
                   for start, end, speaker in sorted(lines))


def run(ingest: dict, vad: dict, settings: DiarizeSettings, max_speakers: int | None, out_dir: Path,
        embedder: SpeakerEmbedder, segmenter=None) -> tuple[dict, str]:
    floor = next(t for t in ingest["tracks"] if t["role"] == "floor")
    turns, centres, overlaps = diarize(out_dir / floor["path"], vad["tracks"][floor["name"]], settings,
                                       max_speakers, embedder, segmenter)
    speech_s = sum(t.end_s - t.start_s for t in turns)
    overlap_s = sum(o.end_s - o.start_s for o in overlaps)
    artifact = {
        "track": floor["name"],
        "embedding": describe(embedder, settings.threads),
        "speakers": [f"spk{k:02d}" for k in range(len(centres))],
        "turns": [vars(t) for t in turns],
        # Second voices heard during a turn; turns stay one voice each (align and captions read them).
        "overlaps": [{"start_s": o.start_s, "end_s": o.end_s, "speakers": list(o.speakers)} for o in overlaps],
        "overlap_share": round(overlap_s / speech_s, 4) if speech_s else 0.0,
        # Voice centres let the align stage compare voices with enrollment clips.
        "centres": {f"spk{k:02d}": [round(float(x), 5) for x in centre] for k, centre in enumerate(centres)},
    }
    return artifact, rttm(turns, overlaps, Path(ingest["recording"]).stem)


UNNAMED_VOICES = 2  # room for voices the agenda does not name (an interpreter, someone in the audience)


def stage_embedder(ctx: StageContext) -> SpeakerEmbedder:
    """The embedder the config names (a local model's path is relative to the config file)."""
    settings = ctx.config.diarize
    path = ctx.config_path.parent / settings.embedding_model if settings.embedding_model else None
    return load_embedder(settings.embedding, path, settings.threads)


def run_stage(ctx: StageContext) -> StageOutput:
    settings = ctx.config.diarize
    people = len(ctx.config.event.people)
    max_speakers = people + UNNAMED_VOICES if people else None
    embedder = stage_embedder(ctx)
    segmenter = load_segmentation(settings.threads) if settings.overlap == "segmentation" else None
    artifact, rttm_text = run(ctx.inputs["ingest.json"], ctx.inputs["vad.json"], settings, max_speakers,
                              ctx.out_dir, embedder, segmenter)
    write_text(ctx.out_dir / "diarization.rttm", rttm_text)
    return StageOutput(artifact, models={"speaker_embedding": embedder.name,
                                         "overlap": segmenter.name if segmenter else "off"},
                       counters={"speakers": len(artifact["speakers"]), "turns": len(artifact["turns"]),
                                 "overlaps": len(artifact["overlaps"]), "overlap_share": artifact["overlap_share"]},
                       files=["diarization.rttm"])


# Version 2: CAM++ embeddings by default, spectral clustering, overlapped speech.
STAGE = Stage("diarize", 2, ("diarize", "event.people"), ("ingest.json", "vad.json"), "diarization.json", run_stage,
              description="who spoke when: voice embeddings, clustered; overlapped speech")

"""Translation figures for ``evaluate``: chrF per direction against the truth's reference
translations, canonical rendering of agenda names and glossary terms, the share of checked
translations, and (two-track recordings) how much floor speech got a linked interpretation and
how often that link is the right one.

chrF (sacrebleu, character 6-grams with word 2-grams off, whitespace ignored) works for
Japanese as it is, without a tokenizer. A truth utterance's hypothesis is the translations of
the segments matched to it, joined.
"""

from __future__ import annotations

from pathlib import Path

from ..core.language import joiner
from ..core.runner import recorded_config
from ..core.storage import read_json


def _target(language: str, languages: list[str]) -> str | None:
    return next((l for l in languages if l != language), None)


def _translation_of(segments: list[dict], translations: dict, target: str) -> str:
    texts = [((translations.get(s["id"]) or {}).get(target) or {}).get("text", "") for s in segments]
    return joiner(target).join(t for t in texts if t)


def chrf_by_direction(matches, translations: dict, languages: list[str]) -> dict[str, float | None]:
    import sacrebleu

    pairs: dict[str, list[tuple[str, str]]] = {}
    for m in matches:
        u = m.utterance
        target = _target(u["language"], languages)
        if not u.get("translation") or not target:
            continue
        pairs.setdefault(f"{u['language']}->{target}", []).append((u["translation"], _translation_of(m.segments, translations, target)))
    scores = {direction: sacrebleu.corpus_chrf([h for _, h in p], [[r for r, _ in p]]).score
              for direction, p in pairs.items()}
    every = [pair for p in pairs.values() for pair in p]
    if every:
        scores["all"] = sacrebleu.corpus_chrf([h for _, h in every], [[r for r, _ in every]]).score
    return scores


def quality_figures(matches, translations: dict, languages: list[str]) -> dict:
    """How well the translations' quality estimate (pipeline/text/quality.py) finds the bad lines,
    per direction: the rank correlation (Spearman) of the estimate with sentence chrF against the
    reference, the share of the worst tenth of lines (by chrF, at least one) that is flagged, and
    the share of all lines flagged. A truth utterance takes its weakest segment's estimate."""
    import math

    import sacrebleu
    from scipy.stats import spearmanr

    rows: dict[str, list[tuple[float, float, bool]]] = {}
    for m in matches:
        u = m.utterance
        target = _target(u["language"], languages)
        if not u.get("translation") or not target or not m.segments:
            continue
        records = [((translations.get(s["id"]) or {}).get(target) or {}) for s in m.segments]
        estimates = [r["quality"] for r in records if isinstance(r.get("quality"), dict) and r["quality"].get("score") is not None]
        if not estimates:
            continue
        chrf = sacrebleu.sentence_chrf(_translation_of(m.segments, translations, target), [u["translation"]]).score
        score = min(e["score"] for e in estimates)
        flagged = any(e.get("flag") for e in estimates) or any(r.get("status") == "needs_translation" for r in records)
        rows.setdefault(f"{u['language']}_{target}", []).append((chrf, score, flagged))
    figures = {}
    for direction, found in rows.items():
        if len(found) < 3:
            continue
        rho = spearmanr([c for c, _, _ in found], [q for _, q, _ in found]).statistic
        worst = sorted(found, key=lambda r: r[0])[:max(1, math.ceil(len(found) / 10))]
        figures[f"qe_spearman_{direction}"] = None if rho != rho else float(rho)  # NaN when constant
        figures[f"qe_worst_flagged_{direction}"] = sum(f for _, _, f in worst) / len(worst)
        figures[f"qe_flagged_{direction}"] = sum(f for _, _, f in found) / len(found)
        figures[f"qe_lines_{direction}"] = len(found)
    return figures


def term_accuracy(matches, translations: dict, languages: list[str], glossary) -> dict[str, float | None]:
    """Of the agenda names (and other glossary entries) in the truth's source text, the share whose
    canonical target form appears in the translation of the matched segments."""
    from ..text.glossary import missing_forms

    counts = {"name": [0, 0], "term": [0, 0]}
    for m in matches:
        u = m.utterance
        target = _target(u["language"], languages)
        if not target or not m.segments:
            continue
        hypothesis = _translation_of(m.segments, translations, target)
        for hit in glossary.find(u["text"], u["language"]):
            kind = "name" if hit.entry.kind == "name" else "term"
            counts[kind][1] += 1
            counts[kind][0] += not missing_forms([hit], hypothesis, target)
    return {f"{kind}_accuracy": (right / total if total else None) for kind, (right, total) in counts.items()} | \
        {f"{kind}_places": total for kind, (_, total) in counts.items()}


def stage_glossary_rendering(segments: list[dict], translations: dict, languages: list[str], glossary) -> float | None:
    """Of the glossary matches in the pipeline's own source text, the share rendered canonically
    (what the translate stage controls, independent of recognition errors)."""
    from ..text.glossary import missing_forms

    right = total = 0
    for s in segments:
        target = _target(s["language"], languages)
        record = (translations.get(s["id"]) or {}).get(target) if target else None
        if not record:
            continue
        for hit in glossary.find(s["text"], s["language"]):
            total += 1
            # A sentence spread over several segments is judged whole (a name may land in a
            # neighbour's share of it).
            right += not missing_forms([hit], record.get("sentence_text") or record.get("text", ""), target)
    return right / total if total else None


def checked_share(segments: list[dict], translations: dict, languages: list[str]) -> float | None:
    wanted = [s for s in segments if s["text"].strip() and _target(s["language"], languages)]
    if not wanted:
        return None
    ok = sum(1 for s in wanted
             if ((translations.get(s["id"]) or {}).get(_target(s["language"], languages)) or {}).get("status") == "ok")
    return ok / len(wanted)


def link_figures(transcript: dict, links: dict, utterances: list[dict], nearest) -> dict:
    """Share of floor segments (and of floor speech time) with a linked interpretation, and the
    share of links whose interpretation renders the floor segment's utterance in the truth."""
    floor = [s for s in transcript["segments"] if s.get("track", "floor") == "floor" and s["text"].strip()]
    by_id = {s["id"]: s for s in transcript["segments"]}
    floor_truth = [u for u in utterances if u.get("track", "floor") == "floor"]
    interp_truth = [u for u in utterances if u.get("track", "floor") != "floor"]
    if not floor or not interp_truth:
        return {}
    total_s = sum(s["end_s"] - s["start_s"] for s in floor)
    linked_s = sum(s["end_s"] - s["start_s"] for s in floor if s["id"] in links)
    right = judged = 0
    for floor_id, link in links.items():
        if floor_id not in by_id:
            continue
        source = nearest(by_id[floor_id], floor_truth)["id"]
        for rendering_id in link.get("segment_ids", []):
            if rendering_id in by_id:
                judged += 1
                right += nearest(by_id[rendering_id], interp_truth).get("interprets") == source
    return {"link_share": sum(1 for s in floor if s["id"] in links) / len(floor),
            "link_share_by_time": linked_s / total_s if total_s else None,
            "link_accuracy": right / judged if judged else None}


def translation_figures(out_dir: Path, transcript: dict, utterances: list[dict], match, nearest) -> dict:
    """Every translation figure, or {} when the translate stage has not run.

    Translations are keyed by the ids of reviewed.json (an editor may have split segments), so
    that transcript is used when it exists."""
    path = out_dir / "translations.json"
    if not path.is_file():
        return {}
    from ..core.config import load_config
    from ..text.glossary import Glossary

    if (out_dir / "reviewed.json").is_file():
        transcript = read_json(out_dir / "reviewed.json")
    floor_utterances = [u for u in utterances if u.get("track", "floor") == "floor"]
    matches = match([s for s in transcript["segments"] if s.get("track", "floor") == "floor"], floor_utterances)
    data = read_json(path)
    translations = data.get("segments", {})
    languages = transcript.get("languages") or ["en", "ja"]
    figures = {f"chrf_{d.replace('->', '_')}": v for d, v in chrf_by_direction(matches, translations, languages).items()}
    floor = [s for s in transcript["segments"] if s.get("track", "floor") == "floor"]
    figures["checked_share"] = checked_share(floor, translations, languages)
    figures.update(quality_figures(matches, translations, languages))
    config_path = recorded_config(out_dir)
    if config_path and Path(config_path).is_file():
        glossary = Glossary.from_event(load_config(config_path).event)
        figures.update(term_accuracy(matches, translations, languages, glossary))
        figures["stage_glossary_rendering"] = stage_glossary_rendering(floor, translations, languages, glossary)
    if any(s.get("track", "floor") != "floor" for s in transcript["segments"]):
        figures.update(link_figures(transcript, data.get("interpretation") or {}, utterances, nearest))
    return figures


LABELS = {
    "chrf_all": ("chrF both directions", "{:.1f}"),
    "chrf_ja_en": ("chrF Japanese -> English", "{:.1f}"),
    "chrf_en_ja": ("chrF English -> Japanese", "{:.1f}"),
    "name_accuracy": ("agenda names rendered canonically", "{:.1%}"),
    "term_accuracy": ("titles/affiliations/terms rendered canonically", "{:.1%}"),
    "stage_glossary_rendering": ("glossary matches in ASR text rendered", "{:.1%}"),
    "checked_share": ("segments with a checked translation", "{:.1%}"),
    "qe_spearman_ja_en": ("quality estimate vs sentence chrF, JA->EN (Spearman)", "{:.2f}"),
    "qe_spearman_en_ja": ("quality estimate vs sentence chrF, EN->JA (Spearman)", "{:.2f}"),
    "qe_worst_flagged_ja_en": ("worst tenth of JA->EN lines flagged", "{:.0%}"),
    "qe_worst_flagged_en_ja": ("worst tenth of EN->JA lines flagged", "{:.0%}"),
    "qe_flagged_ja_en": ("JA->EN lines flagged for review", "{:.0%}"),
    "qe_flagged_en_ja": ("EN->JA lines flagged for review", "{:.0%}"),
    "link_share": ("floor segments linked to interpretation", "{:.1%}"),
    "link_share_by_time": ("floor speech time linked", "{:.1%}"),
    "link_accuracy": ("links to the right rendering", "{:.1%}"),
}

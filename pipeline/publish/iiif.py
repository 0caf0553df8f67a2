"""IIIF Presentation 3 manifest: one audio canvas painted with the archival recording; every
segment as a supplementing annotation targeting ``#t=start,end`` whose body is a Choice of its
text in each language; the agenda's sessions as ranges; captions, transcripts and catalogue
records linked as renderings.
"""

from __future__ import annotations

from .source import MISSING_NOTE, Run, bilingual

CONTEXT = "http://iiif.io/api/presentation/3/context.json"
AUDIO_FORMATS = {".flac": "audio/flac", ".opus": "audio/ogg", ".ogg": "audio/ogg", ".mp3": "audio/mpeg"}


def _label(values: dict[str, str]) -> dict[str, list[str]]:
    return {language: [text] for language, text in values.items() if text}


def _t(canvas: str, start_s: float, end_s: float) -> str:
    return f"{canvas}#t={start_s:.3f},{end_s:.3f}"


def manifest(run: Run, base: str, audio_file: str, renderings: list[tuple[str, str, str, str]]) -> dict:
    """``base``: the package's public URL; ``renderings``: (path, format, language, label) of the
    files a viewer may offer beside the audio (captions, transcripts)."""
    languages = run.languages
    duration = round(run.duration_s, 3)
    canvas = f"{base}/canvas/1"
    suffix = "." + audio_file.rsplit(".", 1)[-1]
    painting = {
        "id": f"{base}/canvas/1/page/1", "type": "AnnotationPage",
        "items": [{"id": f"{base}/canvas/1/page/1/audio", "type": "Annotation", "motivation": "painting",
                   "target": canvas,
                   "body": {"id": f"{base}/{audio_file}", "type": "Sound",
                            "format": AUDIO_FORMATS.get(suffix, "audio/flac"), "duration": duration}}],
    }
    captions = []
    for segment in run.segments:
        bodies = []
        for language in languages:
            rendering = run.text(segment, language)
            text = rendering.text if rendering.source != "missing" else \
                f"{MISSING_NOTE[language]} {rendering.text}"
            bodies.append({"type": "TextualBody", "value": f"{run.speaker_name(segment, language)}: {text}",
                           "language": language, "format": "text/plain"})
        captions.append({"id": f"{base}/canvas/1/captions/{segment['id']}", "type": "Annotation",
                         "motivation": "supplementing",
                         "target": _t(canvas, segment["start_s"], max(segment["end_s"], segment["start_s"] + 0.001)),
                         "body": {"type": "Choice", "items": bodies}})
    ranges = [{"id": f"{base}/range/{s['id']}", "type": "Range",
               "label": _label({l: bilingual(s.get("title"), l) for l in languages}),
               "items": [{"id": _t(canvas, s["start_s"], s["end_s"]), "type": "Canvas"}]}
              for s in run.sessions]
    metadata = [
        {"label": _label({"en": "Date", "ja": "日付"}), "value": {"none": [run.config.event.date or ""]}},
        {"label": _label({"en": "Languages", "ja": "言語"}), "value": {"none": [", ".join(languages)]}},
    ]
    if run.config.publish.organizer:
        metadata.append({"label": _label({"en": "Organizer", "ja": "主催"}), "value": {"none": [run.config.publish.organizer]}})
    speakers = sorted({s.get("speaker") for s in run.segments if s.get("speaker") in run.people})
    for language in languages:
        names = [bilingual(run.people[p].get("name"), language) for p in speakers]
        if names:
            metadata.append({"label": _label({language: "Speakers" if language == "en" else "発言者"}),
                             "value": {language: names}})
    data = {
        "@context": CONTEXT,
        "id": f"{base}/manifest.json",
        "type": "Manifest",
        "label": _label({l: run.title(l) for l in languages}),
        "metadata": metadata,
        "requiredStatement": {"label": _label({"en": "Rights", "ja": "権利"}),
                              "value": {"none": [run.config.publish.rights]}},
        "rendering": [{"id": f"{base}/{path}", "type": "Text", "format": fmt, "language": [language],
                       "label": {"en": [label]}} for path, fmt, language, label in renderings],
        "items": [{"id": canvas, "type": "Canvas", "duration": duration, "items": [painting],
                   "annotations": [{"id": f"{base}/canvas/1/captions", "type": "AnnotationPage", "items": captions}]}],
        "structures": ranges,
    }
    if not ranges:
        del data["structures"]
    return data




def validate(data: dict) -> None:
    """Raise if iiif-prezi3's Presentation 3 model refuses the manifest."""
    from iiif_prezi3 import Manifest

    Manifest(**data)

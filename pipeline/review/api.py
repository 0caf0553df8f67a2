"""What the review app's JSON endpoints do, apart from HTTP: validate, journal, apply, answer.

Each handler takes the path parameters and the decoded JSON body and returns (status, payload).
Bodies are checked by pydantic models that refuse unknown keys; an error is one line naming the
field. A save names the segment version the page showed; a stale one gets 409 and the segment
as it is now, and nothing is written.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..core.errors import PipelineError
from ..core.runner import recorded_config
from .apply import report_sections
from .store import NewEdit
from .view import Review
from .words import split_point

EXPORT_DIR = Path("review") / "export" / "captions"
EXPORT_FILES = ("captions.srt", "captions.vtt")


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    editor: str = Field(min_length=1, max_length=80)

    @field_validator("editor")
    @classmethod
    def printable(cls, value: str) -> str:
        if any(unicodedata.category(ch).startswith("C") for ch in value):
            raise ValueError("must not contain control characters")
        return value


class Versioned(Body):
    version: int = Field(ge=0)


class TextBody(Versioned):
    text: str = Field(min_length=1, max_length=10_000)


class TranslationBody(Versioned):
    language: Literal["en", "ja"]
    text: str = Field(max_length=10_000)


class SpeakerBody(Versioned):
    person: Optional[str] = Field(default=None, max_length=80)
    name: Optional[str] = Field(default=None, min_length=1, max_length=120)


class VoiceBody(Body):
    person: Optional[str] = Field(default=None, max_length=80)
    name: Optional[str] = Field(default=None, min_length=1, max_length=120)


class StatusBody(Versioned):
    status: Literal["reviewed", "unreviewed"]


class SplitBody(Versioned):
    offset: int = Field(ge=1)


class MergeBody(Versioned):
    next_id: str = Field(min_length=1, max_length=80)
    next_version: int = Field(ge=0)


class ReplaceBody(Body):
    find: str = Field(min_length=1, max_length=500)
    replace: str = Field(max_length=500)
    case_sensitive: bool = True
    track: Optional[str] = Field(default=None, max_length=64)


class SectionBody(Body):
    status: Literal["reviewed", "unreviewed"]


class SectionTextBody(Body):
    language: Literal["en", "ja"]
    text: str = Field(min_length=1, max_length=20_000)


def _one_line(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "body"
    if first["type"] == "extra_forbidden":
        return f"unknown field '{where}'"
    return f"{where}: {first['msg'].removeprefix('Value error, ')}"


def _anchor(segment: dict) -> dict:
    return {"segment_id": segment["id"], "track": segment["track"], "start_s": segment["start_s"],
            "end_s": segment["end_s"], "text": segment["text"], "language": segment.get("language")}


def _slug(name: str) -> str:
    ascii_part = re.sub(r"[^a-z0-9]+", "-", unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower())
    return "editor-" + (ascii_part.strip("-") or format(abs(hash(name)) % 10**8, "08d"))


def _person(review: Review, person: str | None, name: str | None) -> tuple[dict | None, str | None]:
    if person:
        if person not in review.applier.people:
            return None, f"person: no person {person!r} in this event (people: {', '.join(sorted(review.applier.people))})"
        return {"person": person}, None
    if name:
        return {"person": _slug(name), "name": name}, None
    return None, "person or name: one is required"


def text(review: Review, params: dict, body: TextBody):
    segment = review.segment(params["sid"])
    if segment is None:
        return review.gone(params["sid"])
    if body.text == segment["text"]:
        return 200, {"changed": [], "summary": review.summary()}
    edit = NewEdit("text", f"seg:{segment['id']}", _anchor(segment), {"text": body.text})
    return review.record(body.editor, "edit text", [edit], expect={f"seg:{segment['id']}": body.version})


def translation(review: Review, params: dict, body: TranslationBody):
    segment = review.segment(params["sid"])
    if segment is None:
        return review.gone(params["sid"])
    edit = NewEdit("translation", f"seg:{segment['id']}", _anchor(segment), {"language": body.language, "text": body.text})
    return review.record(body.editor, "edit translation", [edit], expect={f"seg:{segment['id']}": body.version})


def speaker(review: Review, params: dict, body: SpeakerBody):
    segment = review.segment(params["sid"])
    if segment is None:
        return review.gone(params["sid"])
    payload, error = _person(review, body.person, body.name)
    if error:
        return 422, {"error": error}
    edit = NewEdit("speaker", f"seg:{segment['id']}", _anchor(segment), payload)
    return review.record(body.editor, "change speaker", [edit], expect={f"seg:{segment['id']}": body.version})


def voice(review: Review, params: dict, body: VoiceBody):
    a, name = review.applier, params["voice"]
    members = [sid for sid in a.order if a.voice_of.get(sid) == name]
    if not members:
        return 404, {"error": f"no voice {name!r} in this transcript"}
    payload, error = _person(review, body.person, body.name)
    if error:
        return 422, {"error": error}
    anchor = {"voice": name, "person": a.voices.get(name, {}).get("person"),
              "spans": [[a.segments[sid]["start_s"], a.segments[sid]["end_s"]] for sid in members]}
    return review.record(body.editor, f"reassign voice {name}", [NewEdit("voice", f"voice:{name}", anchor, payload)],
                         bump=[f"seg:{sid}" for sid in members])


def status(review: Review, params: dict, body: StatusBody):
    segment = review.segment(params["sid"])
    if segment is None:
        return review.gone(params["sid"])
    edit = NewEdit("status", f"seg:{segment['id']}", _anchor(segment), {"status": body.status})
    return review.record(body.editor, f"mark {body.status}", [edit], expect={f"seg:{segment['id']}": body.version})


def split(review: Review, params: dict, body: SplitBody):
    segment = review.segment(params["sid"])
    if segment is None:
        return review.gone(params["sid"])
    text_ = segment["text"]
    if not (0 < body.offset < len(text_)) or not text_[:body.offset].strip() or not text_[body.offset:].strip():
        return 422, {"error": f"offset: must fall inside the text (1-{len(text_) - 1}) with words on both sides"}
    time_s = split_point(segment, body.offset)[0]
    if not segment["start_s"] < time_s < segment["end_s"]:
        return 422, {"error": "offset: no time inside the segment to split at"}
    edit = NewEdit("split", f"seg:{segment['id']}", _anchor(segment) | {"time_s": time_s}, {"offset": body.offset})
    return review.record(body.editor, "split segment", [edit], expect={f"seg:{segment['id']}": body.version}, reload=True)


def merge(review: Review, params: dict, body: MergeBody):
    first, second = review.segment(params["sid"]), review.segment(body.next_id)
    if first is None or second is None:
        return review.gone(params["sid"] if first is None else body.next_id)
    order = review.applier.order
    i = order.index(first["id"])
    if i + 1 >= len(order) or order[i + 1] != second["id"]:
        return 422, {"error": f"next_id: {body.next_id} does not follow {first['id']} on its track"}
    edit = NewEdit("merge", f"seg:{first['id']}", _anchor(first) | {"next": _anchor(second)}, {})
    return review.record(body.editor, "merge segments", [edit], reload=True,
                         expect={f"seg:{first['id']}": body.version, f"seg:{second['id']}": body.next_version})


def replace(review: Review, params: dict, body: ReplaceBody):
    pattern = re.compile(re.escape(body.find), 0 if body.case_sensitive else re.IGNORECASE)
    edits = []
    for sid in review.applier.order:
        segment = review.applier.segments[sid]
        if body.track and segment["track"] != body.track:
            continue
        new = pattern.sub(lambda _: body.replace, segment["text"])
        if new != segment["text"] and new.strip():
            edits.append(NewEdit("text", f"seg:{sid}", _anchor(segment), {"text": new}))
    if not edits:
        return 200, {"changed": [], "count": 0, "summary": review.summary()}
    status_, payload = review.record(body.editor, f"replace «{body.find}» with «{body.replace}»", edits)
    return status_, {**payload, "count": len(edits)}


def section(review: Review, params: dict, body: SectionBody):
    sid = params["section"]
    if sid not in {str(s["id"]) for s in report_sections(review.report)}:
        return 404, {"error": f"no report section {sid!r} in report.json"}
    edit = NewEdit("section_status", f"section:{sid}", {}, {"status": body.status})
    return review.record(body.editor, f"report section {body.status}", [edit])


def section_text(review: Review, params: dict, body: SectionTextBody):
    """An editor's own wording of a report section; the report stage keeps it (see report/edits.py)."""
    sid = params["section"]
    if sid not in {str(s["id"]) for s in report_sections(review.report)}:
        return 404, {"error": f"no report section {sid!r} in report.json"}
    edit = NewEdit("section_text", f"section:{sid}", {}, {"language": body.language, "text": body.text})
    return review.record(body.editor, "rewrite report section", [edit])


def undo(review: Review, params: dict, body: Body):
    done = review.store.undo_last(body.editor)
    if done is None:
        return 200, {"message": "nothing to undo", "summary": review.summary()}
    review._load()
    label = next((a["label"] for a in review.store.actions() if a["id"] == done[0]), "")
    return 200, {"reload": True, "message": f"undone: {label}", "summary": review.summary()}


def dismiss(review: Review, params: dict, body: Body):
    try:
        edit_id = int(params["edit_id"])
    except ValueError:
        return 400, {"error": "edit id must be a number"}
    if edit_id not in review.applier.conflicts:
        return 404, {"error": f"edit {edit_id} is not an open conflict"}
    edit = NewEdit("dismiss", f"edit:{edit_id}", {}, {"edit_id": edit_id})
    return review.record(body.editor, f"dismiss conflict {edit_id}", [edit], reload=True)


def history(review: Review, params: dict, body):
    sid = params["sid"]
    parents = {sid.rsplit(".", k)[0] for k in range(sid.count(".") + 1)}  # a split part keeps its parent's history
    placed = {e for e, p in review.applier.placed.items() if sid in p.segments}
    rows = []
    for edit in review.store.all_edits():
        if edit.target.split(":", 1)[1] in parents or edit.id in placed:
            before = edit.anchor.get("text") if edit.kind == "text" else None
            rows.append({"edit": edit.id, "at": edit.created_at, "editor": edit.editor, "kind": edit.kind,
                         "before": before, "after": edit.payload.get("text") or edit.payload.get("status")
                         or edit.payload.get("name") or edit.payload.get("person"),
                         "undone": edit.undone_by is not None, "conflict": edit.id in review.applier.conflicts})
    return 200, {"segment": sid, "history": rows}


def state(review: Review, params: dict, body):
    return 200, review.state()


def export(review: Review, params: dict, body: Body):
    from ..core.config import CaptionSettings, load_config
    from ..text import captions

    settings = CaptionSettings()
    config_path = recorded_config(review.out_dir)
    if config_path:
        try:
            settings = load_config(config_path).captions
        except PipelineError:
            pass  # the config moved: default caption rules
    reviewed = review.applier.artifact(review.versions)
    result = captions.run(reviewed, settings, review.out_dir / EXPORT_DIR.parent)
    return 200, {"files": [f"/export/{Path(f).name}" for f in result["files"]], "cues": result["cues"]}


HANDLERS = {("GET", "state"): (state, None), ("GET", "history"): (history, None),
            ("POST", "text"): (text, TextBody), ("POST", "translation"): (translation, TranslationBody),
            ("POST", "speaker"): (speaker, SpeakerBody), ("POST", "status"): (status, StatusBody),
            ("POST", "split"): (split, SplitBody), ("POST", "merge"): (merge, MergeBody),
            ("POST", "voice"): (voice, VoiceBody), ("POST", "replace"): (replace, ReplaceBody),
            ("POST", "section"): (section, SectionBody), ("POST", "section_text"): (section_text, SectionTextBody),
            ("POST", "undo"): (undo, Body),
            ("POST", "dismiss"): (dismiss, Body), ("POST", "export"): (export, Body)}
PATHS = {("GET", "state"): "/api/state", ("GET", "history"): "/api/segments/{sid}/history",
         ("POST", "text"): "/api/segments/{sid}/text", ("POST", "translation"): "/api/segments/{sid}/translation",
         ("POST", "speaker"): "/api/segments/{sid}/speaker", ("POST", "status"): "/api/segments/{sid}/status",
         ("POST", "split"): "/api/segments/{sid}/split", ("POST", "merge"): "/api/segments/{sid}/merge",
         ("POST", "voice"): "/api/voices/{voice}/assign", ("POST", "replace"): "/api/replace",
         ("POST", "section"): "/api/report/sections/{section}/status",
         ("POST", "section_text"): "/api/report/sections/{section}/text", ("POST", "undo"): "/api/undo",
         ("POST", "dismiss"): "/api/conflicts/{edit_id}/dismiss", ("POST", "export"): "/api/export"}


def handle(review: Review, method: str, name: str, params: dict, body: dict) -> tuple[int, dict]:
    handler, model = HANDLERS[(method, name)]
    with review.lock:
        try:
            review.fresh()
            parsed = model.model_validate(body) if model is not None else None
        except ValidationError as e:
            return 422, {"error": _one_line(e)}
        except PipelineError as e:
            return 500, {"error": str(e)}
        return handler(review, params, parsed)

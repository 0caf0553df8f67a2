"""The hook to the editors' journal (``pipeline/review/store.py``) for report sections.

An editor may rewrite a section by hand (an edit whose target is ``section:<id>`` carrying a
``text`` payload) or approve it (``section_status``). Hand-written sections are never
overwritten by a re-draft: when the segments under them change they are marked ``stale``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

SECTION = "section:"


def section_edits(out_dir: Path) -> dict[str, dict]:
    """{section id: {"text": {lang: str}, "status": ...}} for sections an editor touched."""
    try:
        from ..review.store import JOURNAL, Store
    except ImportError:
        return {}
    if not (out_dir / JOURNAL).exists():
        return {}
    store = Store(out_dir, create=False)
    try:
        edits = store.active_edits()
    finally:
        store.close()
    sections: dict[str, dict] = {}
    for edit in edits:
        if not edit.target.startswith(SECTION):
            continue
        entry = sections.setdefault(edit.target[len(SECTION):], {})
        payload = edit.payload or {}
        if edit.kind == "section_status":
            entry["status"] = payload.get("status")
        if isinstance(payload.get("text"), (str, dict)):
            text = payload["text"]
            language = payload.get("language", "en")
            entry.setdefault("text", {}).update(text if isinstance(text, dict) else {language: text})
            entry["editor"] = edit.editor
    return sections


def edits_fingerprint(out_dir: Path) -> dict[str, str]:
    """The runner's external input: a changed hand edit or approval re-runs the report stage."""
    edits = section_edits(out_dir)
    if not edits:
        return {}
    return {"report_section_edits": hashlib.sha256(json.dumps(edits, sort_keys=True, ensure_ascii=False)
                                                   .encode()).hexdigest()}

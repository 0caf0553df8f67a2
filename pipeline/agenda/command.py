"""``python -m pipeline agenda``: draft a config from pages, or show a config as a table."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml

from ..core.config import Config, LlmSettings, load_config
from ..core.errors import PipelineError
from ..core.storage import atomic_path
from .draft import draft_from_pages
from .pages import read_page
from .people import script_of
from .render import render


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pages", nargs="*", help="event pages: HTML, text or PDF files, or URLs (several pages of "
                                                  "one event are merged, e.g. its Japanese and English pages)")
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--out", type=Path, help="write the drafted config here (e.g. configs/NAME.yaml)")
    out.add_argument("--print", dest="print_", action="store_true", help="print the drafted config")
    out.add_argument("--check", type=Path, metavar="CONFIG", help="show a config's people and sessions as a table")
    parser.add_argument("--force", action="store_true", help="overwrite an existing --out file")
    parser.add_argument("--no-llm", action="store_true",
                        help="rules only: do not ask the LLM layer for the fields rules leave open")


def run(args: argparse.Namespace) -> int:
    if args.check:
        if args.pages:
            raise PipelineError("--check CONFIG takes no pages")
        print_check_table(args.check)
        return 0
    if not args.pages:
        raise PipelineError("agenda: give at least one page (file or URL), or --check CONFIG")
    if not args.out and not args.print_:
        raise PipelineError("agenda: say where the draft goes: --out configs/NAME.yaml or --print")
    if args.out and args.out.exists() and not args.force:
        raise PipelineError(f"{args.out}: already exists (an organizer's edits?); choose another --out or add --force")
    text, draft = draft_config(args.pages, use_llm=not args.no_llm)
    if args.print_:
        sys.stdout.write(text)
        return 0
    with atomic_path(args.out) as tmp:
        tmp.write_text(text, encoding="utf-8")
        load_config(tmp)  # the file loads like a hand-written one before it takes the name
    checks = sum(1 for line in text.splitlines() if line.strip().startswith("# check:"))
    print(f"drafted {args.out}: {len(draft.people)} people, {len(draft.sessions)} sessions, "
          f"{checks} line(s) marked '# check:'; next: python -m pipeline agenda --check {args.out}")
    return 0


def draft_config(sources: list[str], use_llm: bool = True, llm=None):
    """(config text, draft) for the pages at ``sources``; PipelineError for an unusable page."""
    pages = [read_page(str(source)) for source in sources]
    draft = draft_from_pages(pages)
    if not draft.sessions:
        names = ", ".join(str(s) for s in sources)
        raise PipelineError(f"{names}: no programme found (no sessions with people); is this the event's page?")
    overview = _overview_by_language(draft, pages)
    if use_llm or llm is not None:
        from .assist import fill, open_fields

        wanted = open_fields(draft, overview)
        if wanted["terms"] or wanted["details"]:
            if llm is None:
                from ..text.llm import load_llm

                llm = load_llm(LlmSettings())
            draft.assistant = fill(draft, llm, overview)
    text = render(draft)
    try:
        Config.model_validate(yaml.safe_load(text))
    except Exception as e:  # a bug here must never leave a file that does not load
        raise PipelineError(f"{sources[0]}: the drafted config does not validate ({str(e).splitlines()[0]})") from e
    return text, draft


def _overview_by_language(draft, pages) -> dict:
    from .program import read_program

    overview: dict[str, list] = {"en": [], "ja": []}
    for page in pages:
        for line in read_program(page).overview:
            overview.setdefault(script_of(str(line.value)), []).append(line)
    return overview


def print_check_table(path: Path) -> None:
    """The people and sessions of a config as two tables, with the file's '# check:' lines."""
    config = load_config(path)
    event = config.event
    title = event.title.en or event.title.ja or ""
    print(f"{title}\n{event.date or 'no date'}  {event.timezone}  languages: {', '.join(event.languages)}")
    rows = [("id", "name (en)", "name (ja)", "roles", "title", "affiliation")]
    for p in event.people:
        rows.append((p.id, p.name.en or "-", p.name.ja or "-", ", ".join(p.roles),
                     p.title.en or p.title.ja or "-", p.affiliation.en or p.affiliation.ja or "-"))
    print(f"\nPeople ({len(event.people)})")
    _table(rows, widths=(14, 24, 20, 18, 40, 40))
    names = {p.id: p.name.en or p.name.ja for p in event.people}
    rows = [("id", "time", "title", "people")]
    for s in event.sessions:
        people = "; ".join(f"{names[slot.person]} ({slot.role})" for slot in s.people)
        rows.append((s.id, f"{s.start}-{s.end}", s.title.en or s.title.ja or "", people))
    print(f"\nSessions ({len(event.sessions)})")
    _table(rows, widths=(12, 11, 50, 80))
    checks, owner = [], "event"
    for line in path.read_text(encoding="utf-8").splitlines():
        found = re.match(r"^\s*- id:\s*(\S+)", line)
        if found:
            owner = found.group(1)
        elif line.strip().startswith("# check:"):
            checks.append(f"{owner}: {line.strip()[len('# check:'):].strip()}")
    if checks:
        print(f"\nTo check ({len(checks)}):")
        for line in checks:
            print("  " + line)


def _table(rows, widths) -> None:
    for row in rows:
        cells = []
        for value, width in zip(row, widths):
            value = str(value)
            shown = value if _width(value) <= width else _cut(value, width - 1) + "…"
            cells.append(shown + " " * max(0, width - _width(shown)))
        print("  ".join(cells).rstrip())


def _width(text: str) -> int:
    """Columns a string takes in a terminal (East Asian wide characters take two)."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _cut(text: str, width: int) -> str:
    out = ""
    for ch in text:
        if _width(out + ch) > width:
            break
        out += ch
    return out

"""Where the rules leave a field open, the project's LLM layer (pipeline/text/llm.py) is asked,
with its answer constrained to a JSON schema and every value checked to occur in the page.

Two open fields are asked about: glossary pairs when the pages give an overview in both
languages but write no pair side by side, and a person's details that the rules could not
split into title and affiliation. Anything the model gives that the page does not contain is
dropped (and counted). Without an LLM (``--no-llm``) those fields stay as the rules left them.
"""

from __future__ import annotations

import json
import re
import time

from .draft import Draft, DraftPerson
from .people import normal
from .program import Sourced

MAX_OVERVIEW_CHARS = 700  # per language: keeps the prompt (and the import) short on 2 cores
MAX_TERMS = 8
TERMS_SCHEMA = {
    "type": "object",
    "properties": {"terms": {"type": "array", "minItems": 3, "maxItems": MAX_TERMS, "items": {
        "type": "object", "properties": {"en": {"type": "string"}, "ja": {"type": "string"}},
        "required": ["en", "ja"]}}},
    "required": ["terms"],
}
SPLIT_SCHEMA = {
    "type": "object",
    "properties": {"title": {"type": "string"}, "affiliation": {"type": "string"}},
    "required": ["title", "affiliation"],
}
OPEN_DETAILS = "could not tell whether this is a title or an affiliation"


def open_fields(draft: Draft, overview: dict[str, list[Sourced]]) -> dict:
    """What the rules left open: {"terms": bool, "details": [person ids]}."""
    return {"terms": bool(overview.get("en") and overview.get("ja") and not draft.glossary),
            "details": [p.id for p in draft.people if any(OPEN_DETAILS in c for c in p.checks)]}


def fill(draft: Draft, llm, overview: dict[str, list[Sourced]]) -> dict:
    """Ask ``llm`` for the open fields; returns counts for the provenance line."""
    started = time.perf_counter()
    stats = {"asked": 0, "kept": 0, "dropped_not_in_page": 0}
    wanted = open_fields(draft, overview)
    if wanted["terms"]:
        _terms(draft, llm, overview, stats)
    for person in draft.people:
        if person.id in wanted["details"]:
            _details(person, llm, stats)
    stats["seconds"] = round(time.perf_counter() - started, 1)
    describe = getattr(llm, "describe", None)
    if describe:
        stats["model"] = describe().get("model")
    return stats


def _ask(llm, system: str, user: str, schema: dict, max_tokens: int) -> dict:
    answer = llm.complete([{"role": "system", "content": system}, {"role": "user", "content": user}],
                          max_tokens=max_tokens, temperature=0.0, json_schema=schema)
    try:
        value = json.loads(answer)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _in(needle: str, haystack: str) -> bool:
    squeeze = lambda s: re.sub(r"\s+", " ", normal(s)).strip().lower()  # noqa: E731
    return bool(needle.strip()) and squeeze(needle) in squeeze(haystack)


def _terms(draft: Draft, llm, overview: dict[str, list[Sourced]], stats: dict) -> None:
    en_text = " ".join(str(s.value) for s in overview["en"])[:MAX_OVERVIEW_CHARS]
    ja_text = " ".join(str(s.value) for s in overview["ja"])[:MAX_OVERVIEW_CHARS]
    system = ("You build a bilingual glossary from the English and the Japanese description of one event. "
              "List its topic terms (technical terms, laws, lists, 1-4 words): each English term copied exactly "
              "from the English text, with the Japanese term that translates it copied exactly from the Japanese "
              'text. Example: {"terms": [{"en": "climate change", "ja": "気候変動"}]}. Answer in JSON.')
    user = f"English text:\n{en_text}\n\nJapanese text:\n{ja_text}"
    stats["asked"] += 1
    answer = _ask(llm, system, user, TERMS_SCHEMA, max_tokens=220)
    seen = set()
    for term in answer.get("terms", [])[:MAX_TERMS]:
        en, ja = str(term.get("en", "")).strip(), str(term.get("ja", "")).strip()
        if not en or not ja or en.lower() in seen:
            continue
        if not (_in(en, en_text) and _in(ja, ja_text)) or re.search(r"[\u3040-\u9fff]", en) \
                or not re.search(r"[\u3040-\u9fff]", ja):
            stats["dropped_not_in_page"] += 1
            continue
        seen.add(en.lower())
        where = _where_of(en, overview["en"]) + ", " + _where_of(ja, overview["ja"])
        draft.glossary.append((en, ja, f"{where} (paired by the LLM; check)"))
        stats["kept"] += 1
    draft.glossary_candidates = [(t, w) for t, w in draft.glossary_candidates if t not in seen]


def _where_of(text: str, lines: list[Sourced]) -> str:
    return next((s.where for s in lines if _in(text, str(s.value))), lines[0].where if lines else "")


def _details(person: DraftPerson, llm, stats: dict) -> None:
    for language in ("en", "ja"):
        title = person.titles.get(language)
        if title is None or person.affiliations.get(language):
            continue
        details = str(title.value)
        system = ("Split a person's details from an event programme into their job title and their organisation. "
                  "Copy both exactly from the text; use an empty string for a part that is missing. Answer in JSON.")
        stats["asked"] += 1
        answer = _ask(llm, system, details, SPLIT_SCHEMA, max_tokens=80)
        new_title, affiliation = str(answer.get("title", "")).strip(), str(answer.get("affiliation", "")).strip()
        if not (new_title or affiliation) or any(part and not _in(part, details) for part in (new_title, affiliation)):
            stats["dropped_not_in_page"] += 1
            continue
        stats["kept"] += 1
        if new_title:
            person.titles[language] = Sourced(new_title, title.where)
        else:
            person.titles.pop(language)
        if affiliation:
            person.affiliations[language] = Sourced(affiliation, title.where)
        person.checks = [c if OPEN_DETAILS not in c else f"title and affiliation split by the LLM ({title.where})"
                         for c in person.checks]

"""Scoring a drafted report against the transcript it cites and the truth's key points
(``python -m pipeline evaluate`` calls ``report_figures``).

- citation validity: cited segment ids exist in the transcript the report was drafted from;
- quotes verbatim: every quotation (quotes, Q&A, the speaker's own sentences) is a substring of
  its cited segments;
- claim support: every statement re-checked from scratch (numbers, names, proper nouns,
  multilingual-e5 similarity and rank) with the settings the report was made with;
- coverage: every session with speech, and every person with at least 30 s of speech in the
  truth, has a part in the report that tells something they said;
- name/title exactness: each person's name, title and affiliation equal the agenda's, and the
  rendered drafts spell them so;
- key-point recall: a truth key point counts as covered in a language when that person's
  statements in that language contain its terms (each term a set of alternatives "a|b");
- the genre (``genre.py``): length, sentences per paragraph, quoted spans, the share of
  sentences in reported speech, and the share carrying a word the truth does not have.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..core.config import Config
from .compose import designation
from .genre import error_figures, genre_figures
from .grounding import Checker, Embedder, normalise, quoted
from .source import joined, load_source
from .stage import claims_of, supported

MIN_SPEECH_S = 30.0


def _quotes(report: dict):
    """(text, cites) of every quotation in the report, and of every sentence a clause reports
    (the speaker's own words, which a rule turned into reported speech)."""
    for section in report["sections"]:
        for part in section.get("parts", []):
            for sentences in (part.get("sentences") or {}).values():
                for sentence in sentences:
                    for clause in sentence.get("clauses", []):
                        said = (clause.get("from") or {}).get("said")
                        if said:
                            yield said, clause["cites"]
                        for inner in quoted(clause["text"]):
                            if (clause.get("from") or {}).get("source") == "original":
                                yield inner, clause["cites"]
        for part in section.get("parts", []):
            if part.get("quote"):
                yield part["quote"]["text"], part["quote"]["cites"]
            for claims in (part.get("points") or {}).values():
                for claim in claims:
                    if claim["origin"] in ("extractive", "original"):
                        yield claim["text"], claim["cites"]
                    if claim["origin"].startswith("translation"):
                        continue  # quotation marks in a translation render words of another language
                    for inner in quoted(claim["text"]):
                        yield inner, claim["cites"]
        for entry in section.get("qa", []):
            for item in [entry["question"], *entry["answers"]]:
                yield item["text"], item["cites"]


def _cites(value) -> list[str]:
    found = []
    if isinstance(value, dict):
        found.extend(value.get("cites", []))
        for key, inner in value.items():
            if key != "cites":
                found.extend(_cites(inner))
    elif isinstance(value, list):
        for inner in value:
            found.extend(_cites(inner))
    return found


def _statements_of(report: dict, person: str, language: str) -> str:
    """What the report says ``person`` said, in ``language`` (the clauses, not the phrasing
    around them: a designation's words are not what anyone said)."""
    texts = []
    for section in report["sections"]:
        for part in section.get("parts", []):
            for sentence in (part.get("sentences") or {}).get(language, []):
                texts.extend(c["text"] for c in sentence.get("clauses", [])
                             if (c.get("person") or part["person"]["id"]) == person)
            if part["person"]["id"] != person:
                continue
            texts.extend(c["text"] for c in (part.get("points") or {}).get(language, []))
            quote = part.get("quote")
            if quote:
                texts.append(quote["text"] if quote["language"] == language else
                             (quote.get("translations", {}).get(language) or {}).get("text") or "")
        for entry in section.get("qa", []):
            for item in [entry["question"], *entry["answers"]]:
                if item["person"] == person:
                    texts.append(item["text"] if item["language"] == language else
                                 (item.get("translations", {}).get(language) or {}).get("text") or "")
    return "\n".join(texts)


def _term_found(term: str, text: str) -> bool:
    for alternative in term.split("|"):
        alternative = alternative.strip()
        if alternative.isascii():
            # Word-start match: "US" must not match inside "must"; "differen" matches "different".
            if re.search(r"(?<![A-Za-z])" + re.escape(alternative), text, re.IGNORECASE):
                return True
        elif alternative in text:
            return True
    return False


def key_point_recall(report: dict, key_points: dict) -> dict:
    figures = {}
    for language in report["languages"]:
        covered = total = 0
        for person, points in key_points.items():
            text = normalise(_statements_of(report, person, language))
            for point in points:
                terms = point.get("terms", {}).get(language) or []
                if not terms:
                    continue
                found = sum(_term_found(t, text) for t in terms)
                needed = len(terms) if len(terms) <= 2 else len(terms) - 1
                total += 1
                covered += found >= needed
        figures[language] = covered / total if total else None
    return figures


def config_of(out_dir: Path) -> Config:
    """The config the run was made with (manifest.json names it)."""
    from ..core.config import load_config
    from ..core.errors import PipelineError
    from ..core.runner import recorded_config

    manifest = out_dir / "manifest.json"
    name = recorded_config(out_dir)
    if not name:
        raise PipelineError(f"{manifest}: names no config (missing, damaged or not an object); "
                            "the report cannot be scored without its agenda")
    return load_config(Path(name))


def report_figures(out_dir: Path, truth: dict, config: Config | None = None, embedder: Embedder | None = None) -> dict:
    from ..core.storage import read_json

    path = out_dir / "report.json"
    if not path.is_file():
        return {}
    config = config or config_of(out_dir)
    report = read_json(path)
    transcript = read_json(out_dir / report.get("input", "reviewed.json"))
    source = load_source(config, transcript)
    settings = config.report
    by_id = source.by_id
    cites = _cites(report["sections"])
    valid = [c for c in cites if c in by_id and abs(report["segments"].get(c, {}).get("start_s", -1)
                                                       - by_id[c]["start_s"]) < 1e-6]
    quotes = list(_quotes(report))

    def verbatim(text: str, ids: list[str]) -> bool:
        segments = sorted((by_id[i] for i in ids if i in by_id), key=lambda s: s["start_s"])
        pool = [s["text"] for s in segments] + ([joined(segments)] if segments else [])
        return any(normalise(text).rstrip("。.") in normalise(p) for p in pool)

    checker = Checker(source, embedder or (Embedder() if source.segments else None), settings.min_support,
                      settings.support_rank)
    claims = list(claims_of(report))
    rechecked = []
    for language, claim, person in claims:
        if claim["origin"] == "agenda":
            rechecked.append(True)  # the role the agenda gives (hosted, moderated)
        elif claim["origin"] == "reported:rule":
            # The speaker's own sentence (verbatim in the cited segments) or its known rendering,
            # turned into reported speech: the hard checks again, on the clause.
            said = (claim.get("from") or {}).get("said")
            verdict = checker.check(claim["text"], language, claim["cites"], person, support=False)
            rechecked.append((said is None or verbatim(said, claim["cites"])) and verdict.ok)
        elif claim["origin"] in ("extractive", "original"):
            rechecked.append(verbatim(claim["text"], claim["cites"]))
        elif claim["origin"].startswith("translation:") and claim["origin"] != "translation:llm":
            rechecked.append(True)  # a known rendering of the cited segments (editor, machine, interpreter)
        else:
            verdict = checker.check(claim["text"], language, claim["cites"], person)
            rechecked.append(verdict.ok or (settings.unsupported == "mark" and claim.get("status") == "marked"))
    # Coverage: sessions with speech in the truth, people with >= 30 s of floor speech.
    floor = [u for u in truth["utterances"] if u.get("track", "floor") == "floor"]
    sessions_heard = {u.get("session") for u in floor if u.get("session")}
    reported_sessions = {s.get("session") for s in report["sections"] if s.get("parts")}
    speech: dict[str, float] = {}
    for u in floor:
        speech[u["person"]] = speech.get(u["person"], 0.0) + u["end_s"] - u["start_s"]
    people = {p for p, seconds in speech.items() if seconds >= MIN_SPEECH_S}
    reported_people = {p["person"]["id"] for s in report["sections"] for p in s.get("parts", []) if _tells(p)}
    name_errors = _name_errors(report, config, out_dir)
    recall = key_point_recall(report, truth.get("key_points") or {})
    figures = {
        "report_citation_validity": len(valid) / len(cites) if cites else None,
        "report_quotes_verbatim": sum(verbatim(t, c) for t, c in quotes) / len(quotes) if quotes else None,
        "report_claim_support": sum(rechecked) / len(rechecked) if rechecked else None,
        "report_claims_supported_as_drafted": (sum(supported(c, settings) for _, c, _ in claims) / len(claims)
                                               if claims else None),
        "report_session_coverage": (len(sessions_heard & reported_sessions) / len(sessions_heard)
                                    if sessions_heard else None),
        "report_people_coverage": len(people & reported_people) / len(people) if people else None,
        "report_people_missing": sorted(people - reported_people),
        "report_name_errors": name_errors,
        "report_key_point_recall": _mean([v for v in recall.values() if v is not None]),
    }
    figures.update({f"report_key_point_recall_{lang}": value for lang, value in recall.items()})
    figures.update(genre_figures(out_dir, report["languages"]))
    figures.update(per_person_sentences(report))
    errors, _ = error_figures(report, truth, config)
    figures.update(errors)
    return figures


def _tells(part: dict) -> bool:
    """Whether a part says something of the person: what they said, or for a host or a
    moderator, their role in the event ("hosted the symposium")."""
    if part.get("points") is not None:
        return any(part["points"].values()) or bool(part.get("lead"))
    return any(sentence.get("clauses") for sentences in (part.get("sentences") or {}).values()
               for sentence in sentences)


def per_person_sentences(report: dict) -> dict:
    """The most sentences the report gives one person in one language (all their paragraphs)."""
    counts: dict[tuple[str, str], int] = {}
    for section in report["sections"]:
        for part in section.get("parts", []):
            person = part["person"]["id"]
            for language, sentences in (part.get("sentences") or {}).items():
                counts[(person, language)] = counts.get((person, language), 0) + len(sentences)
            for language, claims in (part.get("points") or {}).items():
                counts[(person, language)] = counts.get((person, language), 0) + len(claims) + bool(part.get("lead"))
    return {"report_sentences_per_person_max": max(counts.values(), default=0)}


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _name_errors(report: dict, config: Config, out_dir: Path) -> int:
    """People whose name, title or affiliation differ from the agenda, or are not spelled so in
    the rendered drafts."""
    agenda = {p.id: p for p in config.event.people}
    rendered = {lang: (out_dir / f"report.{lang}.md").read_text(encoding="utf-8")
                for lang in report["languages"] if (out_dir / f"report.{lang}.md").is_file()}
    errors = 0
    for section in report["sections"]:
        for part in section.get("parts", []):
            card = part["person"]
            person = agenda.get(card["id"])
            if person is None or card["name"] != person.name.model_dump() or card["title"] != person.title.model_dump() \
                    or card["affiliation"] != person.affiliation.model_dump():
                errors += 1
                continue
            for language, text in rendered.items():
                told = (part.get("sentences") or part.get("points") or {}).get(language)
                if told and not _designated(text, card, language):
                    errors += 1
    return errors


def _designated(text: str, card: dict, language: str) -> bool:
    """The draft names the person with the agenda's name, title and affiliation (the whole
    designation, or each of its parts where a draft joins them: 東京大学未来ビジョン研究センター長)."""
    if designation(card, language) in text:
        return True
    parts = [card["name"].get(language), card["title"].get(language)]
    affiliation = card["affiliation"].get(language) or ""
    parts += [a.strip() for a in affiliation.split(",")] if language == "en" else [affiliation]
    return all(p in text for p in parts if p)


LABELS = {
    "report_citation_validity": ("report: cited segments that exist", "{:.1%}"),
    "report_quotes_verbatim": ("report: quotes verbatim", "{:.1%}"),
    "report_claims_supported_as_drafted": ("report: statements supported (stage)", "{:.1%}"),
    "report_claim_support": ("report: statements supported (re-checked)", "{:.1%}"),
    "report_session_coverage": ("report: sessions covered", "{:.0%}"),
    "report_people_coverage": ("report: people (>= 30 s) covered", "{:.0%}"),
    "report_name_errors": ("report: names/titles differing from agenda", "{}"),
    "report_key_point_recall": ("report: key-point recall", "{:.0%}"),
    "report_key_point_recall_en": ("report: key-point recall (English)", "{:.0%}"),
    "report_key_point_recall_ja": ("report: key-point recall (Japanese)", "{:.0%}"),
    "report_words_en": ("report: English words (headings, citations aside)", "{}"),
    "report_sentences_per_person_max": ("report: most sentences for one person", "{}"),
    "report_sentences_per_paragraph_max_en": ("report: most sentences in a paragraph (en)", "{}"),
    "report_sentences_per_paragraph_max_ja": ("report: most sentences in a paragraph (ja)", "{}"),
    "report_quoted_span_max_en": ("report: longest quotation, words (en)", "{}"),
    "report_quoted_span_max_ja": ("report: longest quotation, words (ja)", "{}"),
    "report_reported_share_en": ("report: sentences in reported speech (en)", "{:.0%}"),
    "report_reported_share_ja": ("report: sentences in reported speech (ja)", "{:.0%}"),
    "report_error_share": ("report: sentences with a word not in the truth", "{:.0%}"),
    "report_error_share_en": ("report: ... in English", "{:.0%}"),
    "report_error_share_ja": ("report: ... in Japanese", "{:.0%}"),
    "report_sentences_checked": ("report: sentences checked against the truth", "{}"),
}


def main() -> None:
    """``python -m pipeline.report.score OUT TRUTH [CONFIG]``: the report figures alone."""
    import argparse
    import json

    from ..core.config import load_config

    parser = argparse.ArgumentParser(description="score a drafted report (report.json in OUT)")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("truth", type=Path)
    parser.add_argument("config", type=Path, nargs="?", help="the run's config (default: the one manifest.json names)")
    parser.add_argument("--words", action="store_true", help="list the sentences with words not in the truth")
    args = parser.parse_args()
    truth = json.loads(args.truth.read_text(encoding="utf-8"))
    config = load_config(args.config) if args.config else config_of(args.out_dir)
    figures = report_figures(args.out_dir, truth, config)
    for key, value in figures.items():
        label, fmt = LABELS.get(key, (key, "{}"))
        print(f"{label:48} {fmt.format(value) if value is not None else 'n/a'}")
    if args.words:
        from ..core.storage import read_json

        _, flagged = error_figures(read_json(args.out_dir / "report.json"), truth, config)
        for unit in flagged:
            print(f"[{unit['language']}] {', '.join(unit['words'])}  <-  {unit['text'][:150]}")


if __name__ == "__main__":
    main()

"""Name accuracy and correction precision of a transcript against a truth file.

    .venv/bin/python benchmarks/names.py OUT_DIR recordings/demo/demo-symposium.truth.json configs/demo.yaml

- name accuracy: every spoken mention of an agenda person in the truth's utterances (any of
  their names or aliases, in either language, as the truth writes it) counts as right when the
  transcript's segments matched to that utterance contain the same spelling (width, case,
  spaces and middle dots ignored) or the person's canonical name in the same script (the
  issue's measure: "written with the canonical spelling"; an alias said, "Toby Smith", written
  as the agenda's "Tobin Smith"). The strict figure (only the spelling said) is printed too;
- corrections (the transcribe stage's ``corrections`` on each segment): ``good`` when the new
  form is in the matched reference and the old one is not; ``bad`` when the old form was in
  the reference (a right word made wrong) or the new one is not there while the old one is;
  ``unclear`` otherwise (neither in the reference: a near-miss replaced by another near-miss).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.core.config import load_config  # noqa: E402
from pipeline.evaluation.evaluate import match  # noqa: E402


def fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"[\s・･.,、。'’\-]", "", text)


def person_forms(config) -> dict[str, list[str]]:
    forms = {}
    for person in config.event.people:
        names = [n for n in (person.name.en, person.name.ja) if n]
        if person.name.en and len(person.name.en.split()) > 1:
            names.append(person.name.en.split()[-1])
        names += person.aliases
        forms[person.id] = sorted({n for n in names if len(fold(n)) >= 2}, key=lambda n: -len(fold(n)))
    return forms


def mentions(text: str, forms: dict[str, list[str]]) -> list[tuple[str, str]]:
    """(person, folded form) for each non-overlapping mention in ``text``, longest forms first."""
    folded = fold(text)
    taken = [False] * len(folded)
    found = []
    ordered = sorted(((f, pid) for pid, fs in forms.items() for f in fs), key=lambda x: -len(fold(x[0])))
    for form, pid in ordered:
        key = fold(form)
        start = 0
        while (i := folded.find(key, start)) >= 0:
            if not any(taken[i:i + len(key)]):
                # English forms must stand as words in the original, not inside another word.
                if key.isascii() and not re.search(rf"(?<![a-z]){re.escape(form.lower())}(?![a-z])", text.lower()):
                    start = i + 1
                    continue
                taken[i:i + len(key)] = [True] * len(key)
                found.append((pid, key))
            start = i + 1
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("truth", type=Path)
    parser.add_argument("config", type=Path)
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    config = load_config(args.config)
    forms = person_forms(config)
    transcript = json.loads((args.out / "transcript.json").read_text(encoding="utf-8"))
    truth = json.loads(args.truth.read_text(encoding="utf-8"))
    utterances = [u for u in truth["utterances"] if u.get("track", "floor") == "floor"]
    segments = [s for s in transcript["segments"] if s.get("track", "floor") == "floor"]
    total = right = strict = 0
    canonical = {p.id: [fold(n) for n in (p.name.en, p.name.ja) if n] for p in config.event.people}
    misses = []
    corrections = {"good": 0, "bad": 0, "unclear": 0}
    for m in match(segments, utterances):
        hypothesis = fold("".join(s["text"] for s in m.segments))
        for pid, key in mentions(m.utterance["text"], forms):
            total += 1
            same_script = [c for c in canonical[pid] if c.isascii() == key.isascii() and len(c) >= len(key)]
            if key in hypothesis:
                right += 1
                strict += 1
                hypothesis = hypothesis.replace(key, "\0", 1)
            elif any(c in hypothesis for c in same_script):
                right += 1
                hypothesis = hypothesis.replace(next(c for c in same_script if c in hypothesis), "\0", 1)
            else:
                misses.append((m.utterance["id"], key, "".join(s["text"] for s in m.segments)[:90]))
        reference = fold(m.utterance["text"])
        for segment in m.segments:
            for change in segment.get("corrections", []):
                new, old = fold(change["to"]), fold(change["from"])
                if old and old in reference and new not in reference:
                    verdict = "bad"
                elif new in reference and old not in reference:
                    verdict = "good"
                elif old in reference:
                    verdict = "bad"
                else:
                    verdict = "unclear"
                corrections[verdict] += 1
                if args.verbose:
                    print(f"correction {verdict}: {change['from']!r} -> {change['to']!r} ({m.utterance['id']})")
    if args.verbose:
        for miss in misses:
            print("missed", *miss)
    accuracy = right / total if total else float("nan")
    print(f"name accuracy: {right}/{total} = {accuracy:.1%} (only the spelling said: {strict}/{total} = "
          f"{strict / max(total, 1):.1%})")
    print(f"corrections: {sum(corrections.values())} (good {corrections['good']}, bad {corrections['bad']}, "
          f"unclear {corrections['unclear']})")
    if args.json:
        args.json.write_text(json.dumps({"name_accuracy": accuracy, "mentions": total, "right": right, "strict": strict,
                                         "corrections": corrections}, indent=2) + "\n")


if __name__ == "__main__":
    main()

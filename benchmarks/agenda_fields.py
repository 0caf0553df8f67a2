"""Agenda import, measured: each page's drafted config against a reference config, field by field,
and the import time per page.

    python benchmarks/agenda_fields.py                 # the seed page and the test pages, rules only
    python benchmarks/agenda_fields.py --llm           # the same with the LLM layer where rules leave fields open
    python benchmarks/agenda_fields.py --show-all      # every field, not only the wrong ones

Pairs (page(s) -> reference):
  seed page -> tests/data/agenda/seed.expected.yaml (what the page says) and configs/symposium-2022.yaml
  tests/data/agenda/quantum-forum-2024.html -> .expected.yaml; export-control-workshop.txt -> .expected.yaml
  recordings/demo/demo-symposium.page.{en,ja}.txt -> configs/demo.yaml
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.agenda.command import draft_config  # noqa: E402
from pipeline.agenda.compare import compare, table  # noqa: E402

SEED = ROOT.parent / "shared" / "seed" / "000_7434f3649ec8026e.txt"
DATA = ROOT / "tests" / "data" / "agenda"
CASES = [
    ("seed vs what the page says", [SEED], DATA / "seed.expected.yaml"),
    ("seed vs configs/symposium-2022.yaml", [SEED], ROOT / "configs" / "symposium-2022.yaml"),
    ("bilingual HTML with a programme table", [DATA / "quantum-forum-2024.html"], DATA / "quantum-forum-2024.expected.yaml"),
    ("plain-text e-mail announcement", [DATA / "export-control-workshop.txt"], DATA / "export-control-workshop.expected.yaml"),
    ("PDF flyer (held out)", [DATA / "ai-governance-seminar.pdf"], DATA / "ai-governance-seminar.expected.yaml"),
    ("demo pages (EN + JA) vs configs/demo.yaml", [ROOT / "recordings/demo/demo-symposium.page.en.txt",
                                                   ROOT / "recordings/demo/demo-symposium.page.ja.txt"],
     ROOT / "configs" / "demo.yaml"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--llm", action="store_true", help="let the importer ask the LLM layer (default: rules only)")
    parser.add_argument("--show-all", action="store_true")
    args = parser.parse_args()
    summary = []
    for name, pages, reference in CASES:
        started = time.perf_counter()
        text, draft = draft_config([str(p) for p in pages], use_llm=args.llm)
        seconds = time.perf_counter() - started
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "draft.yaml"
            path.write_text(text, encoding="utf-8")
            result = compare(path, reference)
        print(f"\n== {name}: {', '.join(p.name for p in pages)} -> {reference.relative_to(ROOT.parent)}")
        print(table(result, only_wrong=not args.show_all))
        print(f"import time {seconds:.1f} s; LLM: {draft.assistant or 'not asked'}")
        summary.append((name, result, seconds))
    print("\n| case | fields right | people matched | invented | import s |\n|---|---|---|---|---|")
    for name, result, seconds in summary:
        people = result["people"]
        print(f"| {name} | {result['right']}/{result['total']} ({100 * result['share']:.1f} %) | "
              f"{people['matched']}/{people['expected']} | {len(people['invented'])} | {seconds:.1f} |")


if __name__ == "__main__":
    main()

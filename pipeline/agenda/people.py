"""One line of a programme about people: "Speaker1: Name (Title, Affiliation)", "司会：柴野 相雄（…）".

Rules only, in both languages: a role label, a name that looks like a person's (not an
organisation, not "Break" or "Contact"), and the details in parentheses or after a comma split
into title and affiliation. What a rule cannot decide is returned with a ``check`` note for the
organizer, never guessed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

# Role labels as pages write them -> the config's roles.
ROLE_LABELS = {
    "host": "host", "hosts": "host", "mc": "host", "master of ceremonies": "host", "emcee": "host",
    "司会": "host", "総合司会": "host", "司会進行": "host",
    "moderator": "moderator", "moderators": "moderator", "chair": "moderator", "chairs": "moderator",
    "chairperson": "moderator", "chairman": "moderator", "facilitator": "moderator", "co-chair": "moderator",
    "モデレーター": "moderator", "モデレータ": "moderator", "座長": "moderator", "ファシリテーター": "moderator",
    "進行": "moderator", "コーディネーター": "moderator",
    "speaker": "speaker", "speakers": "speaker", "presenter": "speaker", "presenters": "speaker",
    "keynote speaker": "speaker", "keynote": "speaker", "lecturer": "speaker", "guest speaker": "speaker",
    "講演者": "speaker", "登壇者": "speaker", "講師": "speaker", "報告者": "speaker", "発表者": "speaker",
    "演者": "speaker", "基調講演者": "speaker",
    "panelist": "panelist", "panelists": "panelist", "panellist": "panelist", "panellists": "panelist",
    "panel": "panelist", "discussant": "panelist", "discussants": "panelist", "commentator": "panelist",
    "commentators": "panelist", "パネリスト": "panelist", "コメンテーター": "panelist", "討論者": "panelist",
    "interpreter": "interpreter", "interpreters": "interpreter", "通訳": "interpreter",
}
# Labels whose people are marked for the organizer: the config has no such role.
APPROXIMATE_LABELS = {"chair", "chairs", "chairperson", "chairman", "facilitator", "co-chair", "discussant",
                      "discussants", "commentator", "commentators", "コメンテーター", "討論者", "座長", "進行",
                      "コーディネーター", "ファシリテーター", "mc", "emcee"}
# Labels of lines that are never people, whatever follows them.
NOT_PEOPLE_LABELS = re.compile(
    r"^(contact|inquir(y|ies)|enquir(y|ies)|registration|register|rsvp|e-?mail|tel|phone|fax|address|venue|"
    r"location|place|access|date|time|language|languages|fee|admission|capacity|organi[sz]er|organi[sz]ed by|"
    r"co-?organi[sz]er|sponsor|sponsors|supported by|co-?host|co-?hosts|host institution|hosted by|deadline|"
    r"q ?& ?a|break|privacy|note|notes|url|zoom|webinar|"
    r"お問い合わせ|問い合わせ|問合せ|申込|申し込み|参加申込|登録|会場|日時|開催日|言語|使用言語|参加費|定員|主催|共催|後援|協賛|"
    r"締切|休憩|質疑応答|受付|担当|事務局|個人情報)\b", re.IGNORECASE)

HONORIFICS = re.compile(r"^(prof\.?|professor|dr\.?|mr\.?|ms\.?|mrs\.?|mx\.?|amb\.?|ambassador|h\.e\.|"
                        r"hon\.?|the hon(ourable|orable)?|sir|dame)\s+", re.IGNORECASE)
JA_HONORIFICS = re.compile(r"(氏|様|さま|先生|さん)$")
# Words that make a phrase an organisation or a programme item, never a person's name.
NOT_NAME_WORDS = {
    "university", "institute", "college", "school", "center", "centre", "bureau", "ministry", "department",
    "agency", "office", "secretariat", "government", "embassy", "association", "council", "foundation",
    "corporation", "inc", "ltd", "llc", "company", "associates", "group", "laboratory", "lab", "division",
    "unit", "committee", "commission", "society", "academy", "network", "forum", "session", "remarks",
    "opening", "closing", "break", "registration", "contact", "program", "programme", "panel", "discussion",
    "keynote", "lunch", "reception", "symposium", "webinar", "workshop", "conference", "welcome", "q&a",
    "and", "the", "of", "for", "on", "with", "to", "in", "at", "by", "tbd", "tba", "online", "zoom",
    "english", "japanese", "interpretation", "case", "study", "report", "overview", "summary", "coffee",
    "networking", "questions", "answers", "day", "morning", "afternoon", "japan", "us", "u.s.", "usa",
    "partner", "director", "professor", "president", "secretary", "chair", "moderator", "speaker",
    "panelist", "host", "hosts", "policy", "privacy", "about", "news", "events", "home", "research",
}
NAME_PARTICLES = {"de", "da", "del", "della", "der", "den", "van", "von", "le", "la", "bin", "al", "di", "du", "y"}
# Position words: a phrase headed by one is a title ("Cabinet Councillor", "Vice Director").
POSITION_WORDS = {
    "president", "director", "professor", "counselor", "counsellor", "councillor", "councilor", "partner",
    "officer", "secretary", "specialist", "fellow", "chair", "chairman", "chairperson", "chairwoman", "head",
    "manager", "dean", "lecturer", "researcher", "scientist", "engineer", "minister", "ambassador", "attorney",
    "lawyer", "ceo", "cto", "coo", "cfo", "cio", "founder", "co-founder", "advisor", "adviser", "analyst",
    "coordinator", "member", "representative", "commissioner", "executive", "postdoc", "student", "editor",
    "consultant", "principal", "provost", "rector", "chancellor", "vice-president", "counsel", "associate",
    "administrator", "leader", "investigator", "economist", "attaché", "attache", "envoy", "consul",
    "spokesperson", "trustee", "governor", "mayor", "senator", "deputy", "undersecretary", "under-secretary",
    "judge", "journalist", "writer", "author", "expert", "official", "staff", "vp", "svp", "evp", "md",
}
ORGANISATION_WORDS = {
    "university", "institute", "college", "school", "center", "centre", "bureau", "ministry", "department",
    "agency", "office", "secretariat", "government", "embassy", "association", "council", "foundation",
    "corporation", "corp", "inc", "ltd", "llc", "llp", "company", "co", "associates", "group", "laboratory",
    "laboratories", "lab", "labs", "division", "directorate", "unit", "commission", "committee", "society",
    "academy", "hospital", "bank", "organization", "organisation", "authority", "cabinet", "federation",
    "network", "forum", "trust", "partners", "k.k.", "gmbh", "administration", "service", "services",
    "board", "fund", "program", "programme", "consulate", "mission", "parliament", "congress", "court",
    "team", "section", "faculty", "graduate", "firm", "institution", "alliance", "nations", "union",
}
HEAD_WORDS = {"director", "head", "chief", "manager", "dean", "leader", "chair", "chairman", "chairperson",
              "president", "provost"}
# Sub-units a page writes after a position; they go with the title ("Director, X Division").
UNIT_WORDS = {"division", "directorate", "section", "unit", "team", "lab", "laboratory", "group"}
JA_POSITION_SUFFIXES = ("長", "教授", "講師", "助教", "弁護士", "官", "員", "役", "者", "理事", "代表", "社長", "大使",
                        "フェロー", "ディレクター", "マネージャー", "マネジャー", "オフィサー", "担当", "顧問", "委員",
                        "パートナー", "研究員", "准教授", "特任教授", "名誉教授", "参与", "補佐", "主幹", "主査",
                        "CEO", "博士", "リーダー", "代行", "代理", "補", "課長", "局長", "会長", "監")


def _ja_position(part: str) -> bool:
    """Ends with a position word, a bracketed remark aside: "参事官（国際担当）"."""
    return re.sub(r"[（(][^（()）]*[)）]$", "", part).endswith(JA_POSITION_SUFFIXES)

JA_CHARS = r"\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff々〆ヶー"
JA_NAME = re.compile(r"^[\u3400-\u9fff々]{1,4}[ 　]?[\u3400-\u9fff々\u3040-\u309f\u30a0-\u30ff]{1,5}$")
KATAKANA_NAME = re.compile(r"^[\u30a0-\u30ffー]{2,}([・･=＝ 　][\u30a0-\u30ffー]{2,}){1,3}$")
# A capitalised word of Latin letters (accents allowed: "Tomás"), an initial, or "O'Neil".
EN_NAME_WORD = re.compile(r"^([A-ZÀ-Þ][^\W\d_]*[a-zß-ÿ][^\W\d_'’\-]*(['’\-][^\W\d_]+)*|[A-Z]['’][A-Z][a-z]+|"
                          r"[A-Z]\.(-?[A-Z]\.)?)$")
# Programme words that a short run of kanji can look like a name with.
JA_NOT_NAME = re.compile(r"挨拶|講演|閉会|開会|休憩|受付|質疑|応答|討論|セッション|プログラム|総括|報告|大学|研究|センター|"
                         r"会議|事務局|懇親|司会|パネル|基調|概要|主催|共催|後援|会場|日時|言語|申込|問い合わせ|担当")
OPEN = "(（"
CLOSE = ")）"


@dataclass
class PersonLine:
    """A person as one line of the page writes them (not yet merged with other mentions)."""

    name: str
    script: str  # "en" or "ja"
    role: str | None  # a config role, or None when the line has no label
    title: str = ""
    affiliation: str = ""
    checks: list[str] = field(default_factory=list)
    honorific: str = ""
    label: str = ""


def script_of(text: str) -> str:
    return "ja" if re.search(rf"[{JA_CHARS}]", text) else "en"


def normal(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def role_of_label(label: str) -> str | None:
    key = re.sub(r"\s*\d+$", "", normal(label).strip().lower()).strip()
    return ROLE_LABELS.get(key)


def split_label(text: str) -> tuple[str, str] | None:
    """("Speaker1", "Yoichi Iida (...)") for a labelled line; None without a label."""
    match = re.match(r"^([^:：()（）\n]{1,40}?)\s*[:：]\s*(.*)$", text, re.DOTALL)
    if not match:
        return None
    return match.group(1).strip(), match.group(2).strip()


def is_person_name(name: str) -> bool:
    """Does ``name`` look like a person's name (not an organisation, a programme item, a sentence)?"""
    name = normal(name).strip()
    if not name or any(ch.isdigit() for ch in name) or len(name) > 60:
        return False
    if script_of(name) == "ja":
        return bool(JA_NAME.match(name) or KATAKANA_NAME.match(name)) and not JA_NOT_NAME.search(name)
    words = name.split()
    if not 2 <= len(words) <= 5:
        return False
    if any(w.lower().strip(",.") in NOT_NAME_WORDS for w in words):
        return False
    named = [w for w in words if w.lower() not in NAME_PARTICLES]
    return len(named) >= 2 and all(EN_NAME_WORD.match(w) for w in named) and not name.isupper()


def strip_honorific(name: str) -> tuple[str, str]:
    """("Hideaki Shiroyama", "Professor") from "Professor Hideaki Shiroyama"; JA suffixes too."""
    name = name.strip()
    match = HONORIFICS.match(name)
    if match:
        return name[match.end():].strip(), match.group(1).strip()
    match = JA_HONORIFICS.search(name)
    if match and script_of(name) == "ja" and len(name) > len(match.group(1)) + 1:
        return name[:match.start()].strip(), match.group(1)
    return name, ""


def top_level_split(text: str, separators: str) -> list[str]:
    """Split at separators outside parentheses."""
    parts, depth, current = [], 0, []
    for ch in text:
        if ch in OPEN:
            depth += 1
        elif ch in CLOSE:
            depth = max(0, depth - 1)
        if ch in separators and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def _name_and_details(text: str) -> tuple[str, str] | None:
    """Split "Name (details)", "Name, details", "Name – details" or a bare name."""
    text = text.strip().rstrip(",;、")
    for i, ch in enumerate(text):
        if ch in OPEN:
            depth, end = 0, None
            for j in range(i, len(text)):
                if text[j] in OPEN:
                    depth += 1
                elif text[j] in CLOSE:
                    depth -= 1
                    if depth == 0:
                        end = j
                        break
            name = text[:i].strip()
            if end is None:
                return name, text[i + 1:].strip()
            trailing = text[end + 1:].strip()
            if trailing and not re.fullmatch(r"[\s\-–—/|,;.]*", trailing):
                return None  # "Name (x) and more words": not one person's line
            return name, text[i + 1:end].strip()
    for separator in (",", "、", " – ", " — ", " - ", "：", " / "):
        if separator in text:
            name, _, details = text.partition(separator)
            return name.strip(), details.strip()
    return text, ""


def parse_person(text: str, role: str | None = None, label: str = "") -> PersonLine | None:
    """One person from ``text`` (the label already removed), or None if it is not a person."""
    split = _name_and_details(text)
    if split is None:
        return None
    name, details = split
    name, honorific = strip_honorific(name)
    if not is_person_name(name):
        # Japanese pages also write the affiliation first: "東京大学 教授 山田 太郎".
        return None
    script = script_of(name)
    if script == "ja" and not details and not label and not re.search(r"[ 　・･]", name):
        return None  # four kanji alone are as likely a heading as a name
    person = PersonLine(name=name, script=script, role=role, honorific=honorific, label=label)
    if details:
        if script == "ja":
            person.title, person.affiliation, check = split_details_ja(details)
        else:
            person.title, person.affiliation, check = split_details_en(details)
        if check:
            person.checks.append(check)
    else:
        person.checks.append("no title or affiliation on the page")
    return person


def parse_people(text: str, role: str | None = None, label: str = "") -> list[PersonLine]:
    """Every person on one line: "A (x), B (y)" or "A (x); B (y)"; [] if the line is not people."""
    one = parse_person(text, role, label)
    if one is not None and not re.search(r"[)）]\s*[,;、]\s*\S", text):
        return [one]
    pieces = top_level_split(text, ";、") if re.search(r"[;、]", text) else top_level_split(text, ",")
    if len(pieces) < 2:
        return [one] if one else []
    found = [parse_person(piece, role, label) for piece in pieces]
    if all(found):
        return found  # type: ignore[return-value]
    return [one] if one else []


# --- title and affiliation -------------------------------------------------------------------

def _head(part: str) -> list[str]:
    """The words before the first of/for/at/from/in: what the phrase is."""
    words = re.sub(r"\([^)]*\)", " ", part).replace("/", " ").split()
    head = []
    for word in words:
        if word.lower() in ("of", "for", "at", "from", "in", "on", "to", "the"):
            break
        head.append(word.lower().strip(",.&"))
    return head


def _kind(part: str) -> str:
    """"position", "unit", "org" or "other" for one comma-separated part of the details."""
    head = _head(part)
    if any(w in POSITION_WORDS for w in head):
        return "position"
    if any(w in UNIT_WORDS for w in head):
        return "unit"
    if any(w in ORGANISATION_WORDS for w in head) or any(
            w.lower().strip(",.()") in ORGANISATION_WORDS for w in part.split()):
        return "org"
    if re.fullmatch(r"[A-Z][A-Z&.\-]{1,9}", part.strip()):
        return "acronym"
    return "other"


def _is_office(part: str) -> bool:
    """An office ("Office of Compliance", "AI Policy Office"): a sub-unit when an organisation follows."""
    return "office" in _head(part)


def _org_inside(position: str) -> str:
    """"Institute for Future Initiatives" from "Director of Institute for Future Initiatives"."""
    match = re.search(r"\b(?:of|at)\s+(?:the\s+)?(.+)$", position)
    if match and _kind(match.group(1)) in ("org", "unit"):
        return match.group(1).strip()
    return ""


def _split_run_on(part: str) -> tuple[str, str] | None:
    """A title and an organisation written without a separator:
    "Associate Professor of International Relations Institute for Advanced Studies on Asia"."""
    words = part.split()
    for i in range(2, len(words)):
        word = words[i].lower().strip(",.()/")
        previous = words[i - 1].lower()
        if (word in ORGANISATION_WORDS and words[i][0].isupper()
                and previous not in ("of", "for", "at", "the", "and", "&", "in", "on", "from")
                and words[i - 1][0].isupper()):
            # The organisation starts at its head word: "… International Relations | Institute
            # for …" (a name such as "Relations Institute" cannot be told apart: marked).
            title, org = " ".join(words[:i]), " ".join(words[i:])
            if _kind(title) == "position":
                return title, org
    return None


def _clean_org(part: str) -> str:
    return re.sub(r"^(at|from|in)\s+(the\s+)?", "", part.strip(), flags=re.IGNORECASE)


def split_details_en(details: str) -> tuple[str, str, str]:
    """(title, affiliation, check note) from "Title, Affiliation" and the other orders pages use."""
    details = details.strip().strip(",;")
    if "\n" in details:
        # A line break inside the parentheses separates the title from the affiliation.
        first, _, rest = details.partition("\n")
        return first.strip().rstrip(","), ", ".join(p.strip() for p in rest.split("\n") if p.strip()), ""
    parts = top_level_split(details, ",")
    kinds = [_kind(p) for p in parts]
    if len(parts) == 1:
        part = parts[0]
        if kinds[0] == "position":
            run_on = _split_run_on(part)
            if run_on:
                return run_on[0], run_on[1], "title and affiliation split where no comma separates them"
            org = _org_inside(part)
            if org:
                return part, org, "affiliation read from the title"
            return part, "", "no affiliation on the page"
        if kinds[0] in ("org", "unit"):
            return "", part, "no title on the page"
        return part, "", "could not tell whether this is a title or an affiliation (kept as the title)"
    if kinds[0] in ("position",):
        title_parts = [parts[0]]
        i = 1
        # A sub-unit goes with the title only after a position that heads one ("Director, X
        # Division", "Vice Director, DUCR"); an officer's office is where they work (affiliation).
        heads = bool(set(_head(parts[0])) & HEAD_WORDS)
        while i < len(parts) and (kinds[i] == "position" or heads and (
                kinds[i] in ("unit", "acronym") and i < len(parts) - 1 or _is_office(parts[i]) and "org" in kinds[i + 1:])):
            title_parts.append(parts[i])
            i += 1
        if i == len(parts):
            title = ", ".join(title_parts)
            org = _org_inside(parts[0])
            return title, org, ("affiliation read from the title" if org else "no affiliation on the page")
        return ", ".join(title_parts), ", ".join(_clean_org(p) for p in parts[i:]), ""
    if kinds[0] in ("org", "unit") and "position" in kinds:
        first_position = kinds.index("position")
        return ", ".join(parts[first_position:]), ", ".join(parts[:first_position]), ""
    if all(k in ("org", "unit", "acronym", "other") for k in kinds) and "org" in kinds:
        return "", ", ".join(parts), "no title on the page"
    return parts[0], ", ".join(parts[1:]), "title and affiliation separated at the first comma"


def split_details_ja(details: str) -> tuple[str, str, str]:
    """(title, affiliation, check) for Japanese details, written affiliation first: "東京大学 教授"."""
    details = re.sub(r"[\s\u3000]+", " ", details).strip()
    parts = [p for p in re.split(r"[ 、,，]", details) if p]
    if len(parts) >= 2 and _ja_position(parts[-1]):
        return parts[-1], " ".join(parts[:-1]), ""
    if len(parts) >= 2 and _ja_position(parts[0]) and not _ja_position(parts[-1]):
        return parts[0], " ".join(parts[1:]), ""
    if _ja_position(details):
        return details, "", "title and affiliation not separated on the page (kept as the title)"
    return "", details, "no title on the page"

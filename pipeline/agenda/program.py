"""One page's event facts and programme, by rules: what the page says, where it says it.

The page's lines are first made into logical lines (a bullet stripped, a parenthesis that runs
over a line break joined, two list items a scraper glued together split again), then read for
the event's facts (title, date, time and zone, languages, interpretation) and for the programme:
items (sessions, or pauses such as Break and Q&A) with their times and their people.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date as Date

from .pages import CELL_SEPARATOR, Page
from .people import (APPROXIMATE_LABELS, NOT_PEOPLE_LABELS, PersonLine, normal, parse_people, role_of_label,
                     script_of, split_label)


@dataclass(frozen=True)
class Sourced:
    value: object
    where: str  # "page.txt:12"


@dataclass
class Slot:
    """One person's place in an item: the same person as the page wrote them in each script."""

    role: str
    forms: dict[str, PersonLine]  # "en"/"ja" -> the line
    where: str
    checks: list[str] = field(default_factory=list)
    talk: str = ""  # the talk's title, when the page gives one


@dataclass
class Item:
    titles: dict[str, str]  # "en"/"ja" -> title as written
    where: str
    kind: str  # "session" or "pause"
    key: str  # "session-1", "opening", ... (for ids)
    start: str | None = None
    end: str | None = None
    slots: list[Slot] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    time_where: str = ""


@dataclass
class PageProgram:
    page: Page
    titles: dict[str, Sourced] = field(default_factory=dict)
    date: Sourced | None = None
    start: Sourced | None = None
    end: Sourced | None = None
    timezone: Sourced | None = None
    other_times: list[str] = field(default_factory=list)
    languages: Sourced | None = None
    interpretation: Sourced | None = None
    no_interpretation: Sourced | None = None
    items: list[Item] = field(default_factory=list)
    prelude: list[Slot] = field(default_factory=list)
    overview: list[Sourced] = field(default_factory=list)
    title_checks: list[str] = field(default_factory=list)
    ignored: list[Sourced] = field(default_factory=list)  # not-a-person lines met inside the programme


# --- patterns ----------------------------------------------------------------------------------

TIME = r"(\d{1,2})\s*[:：時]\s*(\d{2})\s*(?:分)?\s*([ap]\.?m\.?)?"
RANGE = re.compile(TIME + r"\s*(?:[-–—~〜～]|to|until)\s*" + TIME, re.IGNORECASE)
SINGLE = re.compile(r"^" + TIME + r"\b", re.IGNORECASE)
ZONES = {
    "jst": "Asia/Tokyo", "日本時間": "Asia/Tokyo", "japan time": "Asia/Tokyo", "tokyo time": "Asia/Tokyo",
    "tokyo": "Asia/Tokyo", "東京": "Asia/Tokyo", "kst": "Asia/Seoul", "est": "America/New_York",
    "edt": "America/New_York", "et": "America/New_York", "eastern time": "America/New_York",
    "cdt": "America/Chicago", "ct": "America/Chicago", "mst": "America/Denver", "mdt": "America/Denver",
    "pst": "America/Los_Angeles", "pdt": "America/Los_Angeles", "pt": "America/Los_Angeles",
    "pacific time": "America/Los_Angeles", "gmt": "UTC", "utc": "UTC", "bst": "Europe/London",
    "cet": "Europe/Paris", "cest": "Europe/Paris", "aest": "Australia/Sydney", "aedt": "Australia/Sydney",
    "sgt": "Asia/Singapore", "hkt": "Asia/Hong_Kong", "米国東部時間": "America/New_York",
}
ZONE_PATTERN = re.compile(r"\(?\s*(" + "|".join(sorted((re.escape(z) for z in ZONES), key=len, reverse=True))
                          + r")\b", re.IGNORECASE)
MONTHS = {m: i for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                                      "nov", "dec"], start=1)}
EN_DATE = re.compile(r"\b(?:(?P<m1>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?\s+(?P<d1>\d{1,2})"
                     r"(?:st|nd|rd|th)?,?\s+(?P<y1>\d{4})|(?P<d2>\d{1,2})(?:st|nd|rd|th)?\s+(?P<m2>Jan|Feb|Mar|Apr|May|"
                     r"Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?,?\s+(?P<y2>\d{4}))\b")
NUMERIC_DATE = re.compile(r"\b(?P<y>20\d{2})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?")
DATE_LABEL = re.compile(r"^(date|dates|when|date and time|date & time|日時|開催日|開催日時|日程|日付)\s*[:：]?",
                        re.IGNORECASE)
TIME_LABEL = re.compile(r"^(time|times|時間|開催時間)\s*[:：]", re.IGNORECASE)
LANGUAGE_LABEL = re.compile(r"^(language|languages|使用言語|言語)\s*[:：]", re.IGNORECASE)
LANGUAGE_WORDS = {"en": r"english|英語", "ja": r"japanese|日本語", "zh": r"chinese|中国語", "ko": r"korean|韓国語",
                  "fr": r"french|フランス語", "de": r"german|ドイツ語", "es": r"spanish|スペイン語"}
INTERPRETATION = re.compile(r"interpretation|interpreting|interpreter|通訳", re.IGNORECASE)
NO_INTERPRETATION = re.compile(r"\bno (simultaneous |consecutive )?interpret|without interpret|not (be )?provided|"
                               r"通訳(は)?(なし|ありません|無し)", re.IGNORECASE)

# Programme items. Each: pattern, key for the id, kind.
HEADINGS = [
    (re.compile(r"^(?P<label>Session|Part|Panel|Track)\s*(?P<n>\d+|[IVX]+)(?!\d|[:：]\d)\s*[:：.\-–—]?\s*(?P<rest>.*)$"),
     "session", "session"),
    (re.compile(r"^(?P<label>セッション|第)\s*(?P<n>\d+)\s*(?:部)?\s*[:：.\-–—]?\s*(?P<rest>.*)$"), "session", "session"),
    (re.compile(r"^(opening|welcome)\s*(remarks|address|speech|session)?\b", re.I), "opening", "session"),
    (re.compile(r"^(closing|concluding)\s*(remarks|address|session)?\b", re.I), "closing", "session"),
    (re.compile(r"^keynote\b", re.I), "keynote", "session"),
    (re.compile(r"^(panel discussion|roundtable|round table|fireside chat|discussion)\b", re.I), "panel", "session"),
    (re.compile(r"^(presentation|lecture|special lecture|talk)s?\b", re.I), "talk", "session"),
    (re.compile(r"^(開会挨拶|開会の挨拶|開会のご挨拶|開会の辞|開会|挨拶|ご挨拶)"), "opening", "session"),
    (re.compile(r"^(閉会挨拶|閉会の挨拶|閉会のご挨拶|閉会の辞|閉会|総括)"), "closing", "session"),
    (re.compile(r"^(基調講演)"), "keynote", "session"),
    (re.compile(r"^(パネルディスカッション|パネル討論|討論|ディスカッション)"), "panel", "session"),
    (re.compile(r"^(講演|特別講演|報告)"), "talk", "session"),
    (re.compile(r"^((coffee |tea )?break|lunch( break)?|intermission|networking|reception|registration|"
                r"doors open|q ?& ?a|questions and answers|open discussion with the audience)\b", re.I),
     "pause", "pause"),
    (re.compile(r"^(休憩|昼食|受付|懇親会|質疑応答|意見交換会|ネットワーキング)"), "pause", "pause"),
]
MAX_HEADING_CHARS = 200
# Headings after which the programme is over (until another programme item).
END_OF_PROGRAMME = re.compile(
    r"^(contact|contacts|inquiries|enquiries|registration|register|how to register|organi[sz]ers?|organi[sz]ed by|"
    r"co-?organi[sz]ed by|sponsors?|supported by|access|venue|privacy|privacy policy|about|related events|"
    r"news|notes?|お問い合わせ|問い合わせ|お申込み|お申し込み|申込方法|参加申込|参加方法|主催|共催|後援|協賛|アクセス|会場|"
    r"個人情報|関連イベント|注意事項)\b", re.IGNORECASE)
PROSE_CHARS = 260
CONTACT_LABEL = re.compile(r"^(contact|inquir|enquir|お問い合わせ|問い合わせ|問合せ|担当|事務局)", re.IGNORECASE)
BULLET = re.compile(r"^\s*(?:[-•・*●■◆▶►▪]|\d+\.(?=\s))\s*")
GLUED_ITEM = re.compile(r"\s+-\s+(?=(?:Session\s*\d|Opening|Closing|Keynote|Panel|Break|Q ?& ?A|Welcome|Lunch|"
                        r"[A-Z][A-Za-z &]{1,30}:))")
QUOTED = re.compile(r"^[\"“「『\'‘].*[\"”」』\'’]\s*$")


@dataclass
class Logical:
    text: str
    number: int
    heading: int = 0


def logical_lines(page: Page) -> list[Logical]:
    out: list[Logical] = []
    pending: Logical | None = None
    for line in page.lines:
        text = BULLET.sub("", line.text).strip()
        if not text:
            continue
        if pending is not None:
            glue = "" if pending.text.endswith(" ") else "\n"
            pending = Logical(pending.text + glue + text, pending.number, pending.heading)
        else:
            pending = Logical(text, line.number, line.heading)
        opened = sum(pending.text.count(c) for c in "(（") - sum(pending.text.count(c) for c in ")）")
        if opened > 0 and pending.text.count("\n") < 3 and CELL_SEPARATOR not in pending.text:
            continue  # a parenthesis runs over the line break: keep reading
        if page.kind != "html" and pending.text.endswith((",", "、")) and len(pending.text) < PROSE_CHARS:
            pending = Logical(pending.text + " ", pending.number, pending.heading)
            continue  # "Officer, Office of Research Compliance," goes on on the next line
        out.extend(_unglue(pending))
        pending = None
    if pending is not None:
        out.extend(_unglue(pending))
    return out if page.kind == "html" else _join_wrapped(out)


def _join_wrapped(lines: list[Logical]) -> list[Logical]:
    """A person's details wrapped onto the next line by a flyer's or a PDF's layout
    ("…, Ministry of Internal" / "Affairs and Communications") are one line again. Only after a
    person line with details, and only a short line that starts nothing of its own."""
    out: list[Logical] = []
    for line in lines:
        previous = out[-1] if out else None
        if previous is not None and _continues(previous.text, line.text):
            out[-1] = Logical(f"{previous.text} {line.text}", previous.number, previous.heading)
        else:
            out.append(line)
    return out


def _continues(previous: str, text: str) -> bool:
    if len(text) > 60 or text.endswith((".", "。", ":")) or QUOTED.match(text) or split_label(text):
        return False
    if find_range(text) or SINGLE.match(normal(text)) or _heading(text) or parse_people(text):
        return False
    labelled = split_label(previous)
    body = labelled[1] if labelled and role_of_label(labelled[0]) else previous
    person = parse_people(body)
    return len(person) == 1 and bool(person[0].title or person[0].affiliation) and "," in body


def _unglue(item: Logical) -> list[Logical]:
    """ "... (TMI Associates) - Session 1Report on ..." -> two items, one source line."""
    if CELL_SEPARATOR in item.text:
        return [item]
    pieces = GLUED_ITEM.split(item.text)
    return [Logical(p.strip(), item.number, item.heading) for p in pieces if p.strip()]


# --- times and dates -------------------------------------------------------------------------

def clock(hour: str, minute: str, meridiem: str | None) -> str | None:
    h, m = int(hour), int(minute)
    if meridiem:
        pm = meridiem.lower().startswith("p")
        if h == 12:
            h = 0 if not pm else 12
        elif pm:
            h += 12
    if not (0 <= h <= 24 and 0 <= m < 60):
        return None
    return f"{h:02d}:{m:02d}"


def find_range(text: str) -> tuple[str, str, int, int] | None:
    match = RANGE.search(normal(text))
    if not match:
        return None
    g = match.groups()
    end_meridiem = g[5]
    start = clock(g[0], g[1], g[2] or (end_meridiem if g[2] is None and end_meridiem and int(g[0]) <= int(g[3])
                                       else None))
    end = clock(g[3], g[4], end_meridiem)
    if start is None or end is None:
        return None
    return start, end, match.start(), match.end()


def find_date(text: str) -> str | None:
    text = normal(text)
    match = NUMERIC_DATE.search(text)
    candidates = []
    if match:
        candidates.append((match.start(), int(match["y"]), int(match["m"]), int(match["d"])))
    match = EN_DATE.search(text)
    if match:
        month = (match["m1"] or match["m2"])[:3].lower()
        candidates.append((match.start(), int(match["y1"] or match["y2"]), MONTHS[month],
                           int(match["d1"] or match["d2"])))
    for _, year, month, day in sorted(candidates):
        try:
            return Date(year, month, day).isoformat()
        except ValueError:
            continue
    return None


def find_zone(text: str) -> str | None:
    match = ZONE_PATTERN.search(normal(text))
    return ZONES[match.group(1).lower()] if match else None


def city_zone(zone: str, page_text: str) -> str | None:
    """ "CEST" names a dozen capitals: the one the page names (a venue in Brussels) if it keeps the same clock."""
    if zone != "Europe/Paris":
        return None
    from zoneinfo import ZoneInfo, available_timezones
    from datetime import datetime

    moment = datetime(2024, 1, 15, 12)
    for name in sorted(available_timezones()):
        if name.startswith("Europe/") and re.search(rf"\b{re.escape(name.split('/')[1].replace('_', ' '))}\b", page_text):
            if ZoneInfo(name).utcoffset(moment) == ZoneInfo(zone).utcoffset(moment):
                return name
    return None


# --- the page ---------------------------------------------------------------------------------

EMAIL_HEADER = re.compile(r"^(from|to|cc|bcc|date|sent|subject|reply-to|件名|差出人|宛先|送信日時)\s*[:：]", re.I)
FACT_LABEL_ONLY = re.compile(r"^(date|time|language|languages|venue|日時|時間|言語|使用言語|会場)"
                             r"(\s*/\s*[A-Za-z]+)?$|^[^\s/]{1,6}\s*/\s*(date|time|language|languages)$", re.I)


def read_program(page: Page) -> PageProgram:
    program = PageProgram(page)
    lines = logical_lines(page)
    header = 0
    while header < len(lines) and EMAIL_HEADER.match(lines[header].text):
        header += 1  # an e-mailed announcement: its headers are not the event's
    subject = next((line for line in lines[:header] if re.match(r"^(subject|件名)", line.text, re.I)), None)
    lines = lines[header:]
    _read_title(program, lines, subject)
    _read_facts(program, _with_labels_joined(lines))
    _read_items(program, lines)
    _afternoon(program)
    return program


def _with_labels_joined(lines: list[Logical]) -> list[Logical]:
    """A label on a line of its own (HTML <dt>) is joined with its value on the next: "言語 / Language: 日本語…"."""
    out: list[Logical] = []
    skip = False
    for i, line in enumerate(lines):
        if skip:
            skip = False
            continue
        if FACT_LABEL_ONLY.match(normal(line.text).strip()) and i + 1 < len(lines):
            value = lines[i + 1]
            label = normal(line.text).split("/")[-1].strip()
            out.append(Logical(f"{label}: {value.text}", value.number, value.heading))
            skip = True
        else:
            out.append(line)
    return out


def _afternoon(program: PageProgram) -> None:
    """ "1:15 - 2:45" after "11:00 - 12:15" is the afternoon: a programme's times go forward. A
    time read so is marked; one written with a.m./p.m. or 24-hour is never changed."""
    last = "00:00"
    latest = program.end.value if program.end else "24:00"
    for item in program.items:
        for attribute in ("start", "end"):
            value = getattr(item, attribute)
            if value is None:
                continue
            later = f"{int(value[:2]) + 12:02d}{value[2:]}"
            if value < last and int(value[:2]) < 12 and last <= later <= latest:
                note = f"{value} read as {later} (the page gives no a.m./p.m.)"
                if note not in item.checks:
                    item.checks.append(note)
                setattr(item, attribute, later)
                value = later
            last = max(last, value)


def _read_title(program: PageProgram, lines: list[Logical], subject: Logical | None = None) -> None:
    page = program.page
    headed = [line for line in lines if line.heading]
    capitals = _capitals_title(lines[:40])
    if headed:
        level = min(line.heading for line in headed)
        candidates = [line for line in headed if line.heading == level][:2]
    elif capitals is not None:
        candidates = [capitals]
        program.title_checks.append("the page writes the title in capitals; drafted in title case")
    else:
        candidates = [line for line in lines if not _is_navigation(line.text)][:1] or ([subject] if subject else [])
    for line in candidates:
        text = re.sub(r"^(subject|件名)\s*[:：]\s*", "", line.text, flags=re.I)
        for piece in [p.strip() for p in re.split(r"\s+/\s+|\n", text) if p.strip()]:
            language = script_of(piece)
            if language not in program.titles:
                program.titles[language] = Sourced(piece, page.where(line.number))


SMALL_WORDS = {"a", "an", "and", "as", "at", "but", "by", "for", "in", "of", "on", "or", "the", "to", "with", "vs"}


def _capitals_title(lines: list[Logical]) -> Logical | None:
    """A plain-text announcement's title block in capitals ("EXPORT CONTROLS AND OPEN SCIENCE:" and
    the subtitle after it), in title case."""
    for i, line in enumerate(lines):
        words = re.findall(r"[A-Za-z]+", line.text)
        if len(words) >= 3 and line.text.upper() == line.text and not split_label(line.text.rstrip(":")):
            text = _title_case(line.text.strip())
            if text.endswith(":") and i + 1 < len(lines) and len(lines[i + 1].text) < 100:
                text = f"{text} {lines[i + 1].text.strip()}"
            return Logical(text, line.number)
    return None


def _title_case(text: str) -> str:
    words = text.lower().split()
    return " ".join(w if i and w in SMALL_WORDS else w[:1].upper() + w[1:] for i, w in enumerate(words))


def _is_navigation(text: str) -> bool:
    return len(text) < 12 or "|" in text or bool(re.match(r"^(home|menu|skip to|トップ|ホーム)\b", text, re.I))


def _read_facts(program: PageProgram, lines: list[Logical]) -> None:
    page = program.page
    texts = [(line, normal(line.text)) for line in lines]
    # Date: a labelled line first, then the first full date in a line that is not a deadline.
    for labelled in (True, False):
        for line, text in texts:
            if labelled and not DATE_LABEL.match(text):
                continue
            if not labelled and re.search(r"deadline|締切|締め切り|posted|updated|掲載|更新", text, re.I):
                continue
            found = find_date(text)
            if found:
                program.date = Sourced(found, page.where(line.number))
                break
        if program.date:
            break
    # Time: the first range in a date or time line (labelled), else the first range near the date.
    ordered = sorted(texts, key=lambda lt: (not (DATE_LABEL.match(lt[1]) or TIME_LABEL.match(lt[1])),
                                            lt[0].number))
    for line, text in ordered:
        if CELL_SEPARATOR in line.text:
            continue  # a programme row's time is the item's, not the event's
        if not (DATE_LABEL.match(text) or TIME_LABEL.match(text) or
                program.date and program.date.where == page.where(line.number)):
            continue
        found = find_range(text)
        if found:
            start, end, _, at = found
            program.start = Sourced(start, page.where(line.number))
            program.end = Sourced(end, page.where(line.number))
            zone = find_zone(text[at:at + 40]) or find_zone(text)
            if zone:
                program.timezone = Sourced(city_zone(zone, page.text) or zone, page.where(line.number))
            rest = text[at:]
            program.other_times = [f"{m.group(0).strip()}" for m in RANGE.finditer(rest)]
            break
    if program.timezone is None:
        for line, text in texts:
            if find_range(text) and find_zone(text):
                program.timezone = Sourced(find_zone(text), page.where(line.number))
                break
    # Languages and interpretation: a labelled line (its value may be on the next line).
    for i, (line, text) in enumerate(texts):
        if LANGUAGE_LABEL.match(text):
            value = LANGUAGE_LABEL.sub("", text).strip()
            if not value and i + 1 < len(texts):
                line, value = texts[i + 1]
            found = sorted((m.start(), code) for code, words in LANGUAGE_WORDS.items()
                           for m in [re.search(words, value, re.I)] if m)
            if found:
                program.languages = Sourced([code for _, code in found], page.where(line.number))
            if INTERPRETATION.search(value) and not NO_INTERPRETATION.search(value):
                program.interpretation = Sourced(value, page.where(line.number))
            elif INTERPRETATION.search(value):
                program.no_interpretation = Sourced(value, page.where(line.number))
            break
    if program.interpretation is None:
        for line, text in texts:
            if re.search(r"simultaneous interpretation|同時通訳|consecutive interpretation|逐次通訳", text, re.I) \
                    and not NO_INTERPRETATION.search(text) and program.no_interpretation is None:
                program.interpretation = Sourced(text[:120], page.where(line.number))
                break


def _heading(text: str) -> tuple[str, str, dict[str, str]] | None:
    """(key, kind, titles) if ``text`` opens a programme item."""
    text = text.strip()
    if len(text) > MAX_HEADING_CHARS or QUOTED.match(text):
        return None
    labelled = split_label(text)
    if labelled and role_of_label(labelled[0]) and labelled[1] and parse_people(labelled[1]):
        return None  # "講演者1：…", "Keynote speaker: …" are people, not items
    for pattern, key, kind in HEADINGS:
        match = pattern.match(text)
        if not match:
            continue
        if "n" in pattern.groupindex:
            label, number, rest = match["label"], match["n"], match["rest"].strip()
            if label == "第":
                title = text
            elif script_of(label) == "ja":
                title = f"{label}{number}：{rest}" if rest else f"{label}{number}"
            else:
                title = f"{label} {number}: {rest}" if rest else f"{label} {number}"
            return f"{key}-{number}".lower(), kind, {script_of(title): title}
        return key, kind, {script_of(text): text}
    return None


def _time_prefix(text: str) -> tuple[str | None, str | None, str]:
    """("14:00", "14:10", rest) for "14:00–14:10 Opening remarks"; (None, None, text) without."""
    normalised = normal(text)
    found = find_range(normalised)
    if found and found[2] == 0:
        return found[0], found[1], normalised[found[3]:].strip(" |:：-–—")
    match = SINGLE.match(normalised)
    if match:
        return clock(*match.groups()), None, normalised[match.end():].strip(" |:：-–—")
    return None, None, text


def _read_items(program: PageProgram, lines: list[Logical]) -> None:
    page = program.page
    current: Item | None = None
    label_role: tuple[str, str] | None = None  # a "Panelists:" line's role for the lines after it
    pending_time: tuple[str | None, str | None, str] | None = None  # a time on a line of its own
    for line in lines:
        where = page.where(line.number)
        text = line.text
        only_time = _time_prefix(text)
        if only_time[0] and not only_time[2] and CELL_SEPARATOR not in text:
            pending_time = (only_time[0], only_time[1], where)
            continue
        if pending_time is not None and CELL_SEPARATOR not in text:
            text = f"{pending_time[0]}{'–' + pending_time[1] if pending_time[1] else ''} {text}"
            where = pending_time[2]
        pending_time = None
        if CELL_SEPARATOR in text:
            item = _read_row(program, text, where)
            if item is not None:
                program.items.append(item)
                current, label_role = item, None
            continue
        start, end, rest = _time_prefix(text)
        heading = _heading(rest if start else text)
        if heading is None and start and rest and not _people_in(rest):
            titles = {script_of(rest): rest}
            heading = (_slug(rest), "session", titles)
        if heading is not None and heading[1] == "pause" and start is None \
                and (len(text) > 30 or split_label(text)):
            heading = None  # "Registration fee: none": a pause is a programme line with a time, or a short one
            continue
        if heading is not None:
            key, kind, titles = heading
            if start is not None and heading and rest and rest != text:
                titles = {lang: normal(t) if t == rest else t for lang, t in titles.items()}
            current = Item(titles, where, kind, key, start, end, time_where=where if start else "")
            program.items.append(current)
            label_role = None
            continue
        if line.heading and END_OF_PROGRAMME.match(normal(text)) or _is_prose(text):
            current, label_role = None, None
            if _is_prose(text) or not line.heading:
                program.overview.append(Sourced(text, where))
            continue
        labelled = split_label(text)
        if labelled and NOT_PEOPLE_LABELS.match(normal(labelled[0])):
            if current is not None and END_OF_PROGRAMME.match(normal(labelled[0])):
                current, label_role = None, None
            if current is not None or CONTACT_LABEL.match(normal(labelled[0])):
                program.ignored.append(Sourced(text, where))
            continue
        role, label, body = None, "", text
        if labelled:
            role = role_of_label(labelled[0])
            if role is None:
                continue  # "Time: ...", "URL: ...": a label that is no role
            label, body = labelled
            if not body:
                label_role = (role, label)
                continue
        elif label_role is not None:
            role, label = label_role
        if QUOTED.match(body):
            if current is not None and current.slots:
                current.slots[-1].talk = body.strip()
            continue
        found = _pair_scripts(parse_people(body, role, label) or _bilingual_people(body, role, label))
        if not found:
            continue
        slots = [_slot(forms, current, where) for forms in found]
        if current is None:
            if role is not None:
                program.prelude.extend(slots)  # "Host: …" before the first item
            continue
        current.slots.extend(slots)


def _is_prose(text: str) -> bool:
    """A paragraph (an overview, a report), not a programme line. Japanese says more per character."""
    if script_of(text) == "ja":
        return len(text) > PROSE_CHARS // 2 and text.count("。") >= 2
    return len(text) > PROSE_CHARS


def _people_in(text: str) -> bool:
    labelled = split_label(text)
    body = labelled[1] if labelled and role_of_label(labelled[0]) else text
    return bool(parse_people(body))


def _bilingual_people(text: str, role: str | None, label: str) -> list[PersonLine]:
    """ "山田 太郎（…） / Taro Yamada (…)": one person in two scripts on one line."""
    pieces = [p for p in re.split(r"\s+/\s+", text) if p.strip()]
    if len(pieces) < 2:
        return []
    found = []
    for piece in pieces:
        labelled = split_label(piece)
        if labelled and role_of_label(labelled[0]):
            piece_role, piece_label, piece = role_of_label(labelled[0]), labelled[0], labelled[1]
        else:
            piece_role, piece_label = role, label
        people = parse_people(piece, piece_role, piece_label)
        if not people:
            return []
        found.extend(people)
    return found


def _pair_scripts(people: list[PersonLine]) -> list[dict[str, PersonLine]]:
    """Group a list of person lines into people: the n-th Japanese with the n-th English when a
    line or cell gives the same number in each script, else each alone."""
    ja = [p for p in people if p.script == "ja"]
    en = [p for p in people if p.script == "en"]
    if ja and en and len(ja) == len(en):
        return [{"ja": j, "en": e} for j, e in zip(ja, en)]
    return [{p.script: p} for p in people]


def _slot(forms: dict[str, PersonLine], item: Item | None, where: str) -> Slot:
    roles = [f.role for f in forms.values() if f.role]
    checks = []
    role = roles[0] if roles else None
    if role is None:
        role = "panelist" if item is not None and item.key.startswith("panel") else "speaker"
        if item is not None and item.key not in ("opening", "closing", "keynote", "talk") \
                and not item.key.startswith("session"):
            checks.append(f"role '{role}' assumed: the page gives no label")
    labels = [f.label for f in forms.values() if f.label]
    if labels and normal(labels[0]).lower().rstrip("0123456789 ") in APPROXIMATE_LABELS:
        checks.append(f"the page says '{labels[0]}', drafted as '{role}'")
    return Slot(role, forms, where, checks)


def _read_row(program: PageProgram, text: str, where: str) -> Item | None:
    """A programme table row: a time cell, an item cell, people cells."""
    cells = [c.strip() for c in text.split(CELL_SEPARATOR)]
    start = end = None
    rest_cells = []
    for cell in cells:
        if start is None and (found := find_range(cell)) and found[2] == 0 and len(normal(cell)) <= found[3] + 12:
            start, end = found[0], found[1]
        elif start is None and SINGLE.match(normal(cell)) and len(cell) <= 12:
            start = clock(*SINGLE.match(normal(cell)).groups())
        elif cell:
            rest_cells.append(cell)
    if start is None or not rest_cells:
        return None
    titles: dict[str, str] = {}
    key, kind = None, "session"
    people: list[PersonLine] = []
    talk = ""
    for cell_index, cell in enumerate(rest_cells):
        cell_role, cell_label = None, ""  # from a label on a line of its own ("Panelists:")
        for piece in [p.strip() for p in cell.split(" / ") if p.strip()]:
            labelled = split_label(piece)
            body, role, label = piece, cell_role, cell_label
            if labelled and role_of_label(labelled[0]):
                role, label, body = role_of_label(labelled[0]), labelled[0], labelled[1]
                if not body:
                    cell_role, cell_label = role, label
                    continue
            elif labelled and NOT_PEOPLE_LABELS.match(normal(labelled[0])):
                program.ignored.append(Sourced(piece, where))
                continue
            if QUOTED.match(body):
                talk = talk or body
                continue
            found = parse_people(body, role, label)
            if found:
                people.extend(found)
                continue
            if cell_index == 0 or not people and not titles.get(script_of(piece)):
                heading = _heading(piece)
                if heading and key is None:
                    key, kind = heading[0], heading[1]
                language = script_of(piece)
                if language not in titles:
                    titles[language] = heading[2][language] if heading else piece
    if not titles:
        return None
    item = Item(titles, where, kind, key or _slug(titles.get("en") or ""), start, end, time_where=where)
    for forms in _pair_scripts(people):
        slot = _slot(forms, item, where)
        item.slots.append(slot)
    if talk and item.slots:
        item.slots[-1].talk = talk
    return item


def _slug(title: str) -> str:
    words = re.findall(r"[a-z0-9]+", normal(title).lower())
    return "-".join(words[:4]) or "item"

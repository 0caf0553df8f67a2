"""The numbers a text states, in English or Japanese: digits, English number words and month
names, kanji numerals (一人か二人, 四つの柱), with the words in which a numeral character is not
a number (一方, 十分) left out.

Read by the report's grounding checks (a claim's numbers must be in what it cites) and by the
translations' quality estimate (a number the translation states and the source line does not
was invented: the packaged model adds years and counts).
"""

from __future__ import annotations

import re
import unicodedata

_DIGITS = re.compile(r"\d+(?:[.,]\d+)*")
_KANJI_NUMBER = re.compile(r"[〇一二三四五六七八九十百千万億]+")
# Words in which a numeral character is not a number (一方 "on the other hand", 十分 "enough").
_KANJI_NOT_NUMBER = ("一方", "一部", "一般", "一緒", "一層", "同一", "唯一", "統一", "一言", "一人ひとり", "万一",
                     "十分", "一度", "一環", "一貫", "一体", "一致", "一律", "一定", "第一に", "一つひとつ", "一人一人",
                     "一連", "一番", "一切", "一旦", "一向", "千差万別", "百も承知",
                     "数十", "数百", "数千", "数万", "何十", "何百")  # "decades", "hundreds": no number said
_KANJI_DIGIT = {"〇": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_KANJI_UNIT = {"十": 10, "百": 100, "千": 1000}
_EN_NUMBER = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty".split())}
_EN_NUMBER.update({"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
                   "ninety": 90, "hundred": 100, "thousand": 1000, "million": 10 ** 6, "billion": 10 ** 9,
                   "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
                   "ninth": 9, "tenth": 10, "twice": 2, "half": 0.5, "dozen": 12})
_MONTHS = {m: i + 1 for i, m in enumerate(
    "january february march april may june july august september october november december".split())}
_EN_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
# "second" as in "a second opinion" or time is rare in a report claim; "one" as a pronoun is not:
_EN_NOT_NUMBER = {"one"}  # "one of the pillars", "no one": the digit 1 is not claimed


def _kanji_value(run: str) -> int | None:
    total, current = 0, 0
    for ch in run:
        if ch in _KANJI_DIGIT:
            current = current * 10 + _KANJI_DIGIT[ch] if current else _KANJI_DIGIT[ch]
        elif ch in _KANJI_UNIT:
            total += (current or 1) * _KANJI_UNIT[ch]
            current = 0
        elif ch == "万":
            total = (total + current or 1) * 10_000
            current = 0
        elif ch == "億":
            total = (total + current or 1) * 100_000_000
            current = 0
    return total + current


def numbers(text: str) -> set[float]:
    """Every number a text states: digits, English number words and months, kanji numerals."""
    text = unicodedata.normalize("NFKC", text)
    found: set[float] = set()
    for match in _DIGITS.finditer(text):
        try:
            found.add(float(match.group().replace(",", "")))
        except ValueError:
            pass
    for word in _EN_WORD.findall(text):
        lower = word.lower()
        tens, _, unit = lower.partition("-")
        if unit and tens in _EN_NUMBER and unit in _EN_NUMBER:  # "twenty-one"
            found.add(float(_EN_NUMBER[tens] + _EN_NUMBER[unit]))
        elif lower in _EN_NUMBER and lower not in _EN_NOT_NUMBER:
            found.add(float(_EN_NUMBER[lower]))
        elif lower in _MONTHS and (lower != "may" or word == "May"):
            found.add(float(_MONTHS[lower]))
    masked = text
    for word in _KANJI_NOT_NUMBER:
        masked = masked.replace(word, "＿" * len(word))
    for match in _KANJI_NUMBER.finditer(masked):
        value = _kanji_value(match.group())
        if value is not None:
            found.add(float(value))
    return found


def number_words(text: str) -> set[float]:
    """Numbers a text may state in passing (``one`` as a pronoun included): the reference side."""
    return numbers(text) | ({1.0} if re.search(r"\bone\b", text, re.IGNORECASE) else set())

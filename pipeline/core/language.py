"""How each language is written, for the stages that join texts or cut them into words."""

from __future__ import annotations

from functools import lru_cache

# Written without spaces between words.
UNSPACED = frozenset({"ja", "zh"})


def joiner(language: str) -> str:
    """What goes between two texts of ``language`` when they are joined: nothing in Japanese
    (and Chinese), a space elsewhere."""
    return "" if language in UNSPACED else " "


@lru_cache(maxsize=1)
def _sudachi():
    from sudachipy import Dictionary

    return Dictionary(dict="core").create()


def japanese_morphemes(text: str):
    """Sudachi's morphemes of ``text`` in split mode C (the longest units: 経済安全保障推進法 is
    one), from one tokenizer a process: the analyser inside GiNZA, called directly because it
    loads in a tenth of a second where GiNZA takes seconds."""
    from sudachipy import SplitMode

    return _sudachi().tokenize(text, SplitMode.C)

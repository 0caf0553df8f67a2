"""How each language is written, for the stages that join texts or cut them into words."""

from __future__ import annotations

# Written without spaces between words.
UNSPACED = frozenset({"ja", "zh"})


def joiner(language: str) -> str:
    """What goes between two texts of ``language`` when they are joined: nothing in Japanese
    (and Chinese), a space elsewhere."""
    return "" if language in UNSPACED else " "

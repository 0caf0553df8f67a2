"""Text that other programs render: markup an editor did not intend is taken out.

Transcript text is plain text. SRT has no escaping, yet players render the HTML-like tags in it
(<b>, <i>, <font color=...>, and web players whatever else looks like a tag) and SSA overrides
such as {\\an8}; a line an editor typed as "<script>...</script>" must reach them as words.
"""

from __future__ import annotations

import re

# A tag: a name, then attribute-shaped pieces only; "a < b" or "<3" stays text. Comments too.
_TAG = re.compile(r"""<!--.*?-->|</?[A-Za-z][\w:-]*(?:\s+[\w:-]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'<>]+))?)*\s*/?>""",
                  re.DOTALL)
_SSA_OVERRIDE = re.compile(r"\{\\[^{}]*\}")


def strip_markup(text: str) -> str:
    """``text`` without tags and SSA overrides, with the spaces they leave tidied."""
    stripped = _SSA_OVERRIDE.sub("", _TAG.sub("", text))
    if stripped == text:
        return text
    return "\n".join(" ".join(line.split()) for line in stripped.split("\n")).strip()

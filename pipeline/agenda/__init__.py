"""Agenda import: the event's own pages in, a config draft out (``python -m pipeline agenda``).

    text, draft = draft_config(["event.html", "event-ja.html"])

Rules read the page's structure (programme items, role labels, "Name (Title, Affiliation)");
the project's LLM layer is asked only where rules leave a field open (``assist``), and every
value it gives must occur in the page. The draft is checked against the config schema before
it is returned, so a written draft always loads like a hand-written config.
"""

from .command import draft_config, print_check_table

__all__ = ["draft_config", "print_check_table"]

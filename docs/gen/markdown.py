"""Small Markdown helpers the generators share."""

from __future__ import annotations


def cell(text: str) -> str:
    """``text`` on one line, fit for a table cell: pipes escaped, and ``<``/``>`` outside code
    spans written as entities (inside backticks they show as they are)."""
    parts = " ".join(text.split()).replace("|", "\\|").split("`")
    for i in range(0, len(parts), 2):
        parts[i] = parts[i].replace("<", "&lt;").replace(">", "&gt;")
    return "`".join(parts)

"""The source text of a cell's statements, cut in time linear in the cell's size.

``ast.get_source_segment`` splits the whole source into lines, character by character, on
every call: called once per statement, a cell of n lines costs n². Here the source is split
once and each statement is cut from its own lines, by the node's positions (lines from 1,
columns in UTF-8 bytes, as ``ast`` gives them). Lines end where the parser ends them (``\\r\\n``,
``\\r``, ``\\n``), not at form feeds or the other breaks ``str.splitlines`` knows, so the
numbers match. Pure ``ast`` positions and text; nothing else.
"""

from __future__ import annotations

import ast
import re

__all__ = ["Segments"]

# A line with its end, or the last line when nothing ends it.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


class Segments:
    """One source split into lines once; the text of any node of its tree from them."""

    def __init__(self, source: str) -> None:
        self.lines: list[str] = _LINE.findall(source)
        # A line as columns count it: the str itself when ASCII (a byte is a character),
        # else its UTF-8 bytes; worked out once per line, however many statements share it.
        self._columns: dict[int, str | bytes] = {}

    def _cut(self, index: int, start: int, end: int | None) -> str:
        columns = self._columns.get(index)
        if columns is None:
            line = self.lines[index]
            columns = self._columns[index] = line if line.isascii() else line.encode()
        piece = columns[start:end]
        return piece if isinstance(piece, str) else piece.decode()

    def of(self, node: ast.AST) -> str | None:
        """The text of ``node``: what ``ast.get_source_segment(source, node)`` gives, None
        for a node without positions."""
        lineno = getattr(node, "lineno", None)
        end_lineno = getattr(node, "end_lineno", None)
        col, end_col = getattr(node, "col_offset", None), getattr(node, "end_col_offset", None)
        if lineno is None or end_lineno is None or col is None or end_col is None:
            return None
        first, last = lineno - 1, end_lineno - 1
        if first == last:
            return self._cut(first, col, end_col)
        return "".join([self._cut(first, col, None), *self.lines[first + 1:last],
                        self._cut(last, 0, end_col)])

    def statement(self, node: ast.stmt) -> str:
        """A statement's text with the decorators above it (a ``def``'s or a ``class``'s
        position starts at its keyword): the code that ran."""
        text = self.of(node) or ""
        decorators = getattr(node, "decorator_list", None)
        if decorators:
            first = min(d.lineno for d in decorators)
            text = "".join(self.lines[first - 1:node.lineno - 1]) + text
        return text

"""The matplotlib figures a tracked cell draws, as PNGs named after what they show.

A figure counts whether it is still open when the cell ends or was closed while it ran:
``plt.show()`` under Jupyter's inline backend displays every open figure and closes it at
once, and code that draws many figures often closes each one itself. So while a tracked cell
runs, ``pyplot.close`` is wrapped to keep hold of the figures it closes; PNGs are rendered
when the cell ends (a closed figure still renders). pyplot is never imported for this unless
the cell imports matplotlib itself.
"""

from __future__ import annotations

import contextlib
import functools
import io
import re
import sys
from collections.abc import Callable
from typing import Any

from nbmlops import store

_IMPORTS_MATPLOTLIB = re.compile(r"^\s*(?:import|from)\s+matplotlib\b", re.MULTILINE)


class FigureWatch:
    """What a cell's figures were from its start until :meth:`stop`."""

    def __init__(self, source: str) -> None:
        pyplot: Any = sys.modules.get("matplotlib.pyplot")
        if pyplot is None and _IMPORTS_MATPLOTLIB.search(source):
            # The cell imports it a moment later anyway; importing it now lets its closes
            # be seen. The backend is still chosen by the cell (`matplotlib.use` switches it).
            import matplotlib.pyplot

            pyplot = matplotlib.pyplot
        self._pyplot: Any = pyplot
        self._held = _open(pyplot)  # held, so no new figure can take one of their ids
        self._before = {id(f) for f in self._held}
        self._closed: list[Any] = []
        self._original: Callable[..., Any] | None = None
        if pyplot is not None:
            original = self._original = pyplot.close

            @functools.wraps(original)
            def close(*args: Any, **kwargs: Any) -> Any:
                if self._original is None:  # kept by the cell, called after it: pyplot's own
                    return original(*args, **kwargs)
                return self._closing(original, *args, **kwargs)

            pyplot.close = close

    def _closing(self, close: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        # The bookkeeping never fails the user's call; the call's own errors go through.
        try:
            open_before = _open(self._pyplot)
        except Exception:
            open_before = []
        result = close(*args, **kwargs)
        with contextlib.suppress(Exception):
            still_open = {id(f) for f in _open(self._pyplot)}
            self._closed += [f for f in open_before
                             if id(f) not in still_open and id(f) not in self._before]
        return result

    def stop(self) -> list[Any]:
        """Put ``pyplot.close`` back; the figures the cell made, closed or open, in the order
        they were closed, then by number. Idempotent."""
        original, self._original = self._original, None
        if original is not None and getattr(self._pyplot.close, "__wrapped__", None) is original:
            self._pyplot.close = original
        closed, self._closed = self._closed, []
        pyplot = sys.modules.get("matplotlib.pyplot")  # the cell may have imported it
        seen = {id(f) for f in closed} | self._before
        return closed + [f for f in _open(pyplot) if id(f) not in seen]


def _open(pyplot: Any) -> list[Any]:
    """pyplot's open figures by number, read without making any of them the current one
    (``pyplot.figure(n)`` would, and a bare ``plt.close()`` closes the current one)."""
    if pyplot is None:
        return []
    from matplotlib._pylab_helpers import Gcf

    return [m.canvas.figure for m in sorted(Gcf.get_all_fig_managers(), key=lambda m: m.num)]


def render(figures: list[Any], bound: dict[str, Any]) -> dict[str, bytes]:
    """PNGs of ``figures`` by artifact path, each named after what it shows (see
    :func:`figure_name`); ``bound`` holds what the cell's names refer to."""
    pngs: dict[str, bytes] = {}
    for i, figure in enumerate(figures, 1):
        png = io.BytesIO()
        figure.savefig(png, format="png", dpi=100)
        name = figure_name(figure, bound) or f"figure-{getattr(figure, 'number', i)}"
        path, n = store.figure_artifact(name), 1
        while path in pngs:
            n += 1
            path = store.figure_artifact(f"{name}-{n}")
        pngs[path] = png.getvalue()
    return pngs


def figure_name(figure: Any, bound: dict[str, Any]) -> str | None:
    """What the code says a figure shows: its title (the figure's, else its first axes'),
    else the name the cell gave it (``fig``, ``ax``, ``roc``), as a file name."""
    texts = []
    suptitle = getattr(figure, "_suptitle", None)
    if suptitle is not None:
        texts.append(suptitle.get_text())
    texts += [ax.get_title() for ax in figure.get_axes()]
    texts += [name for name, value in bound.items()
              if value is figure or getattr(value, "figure", None) is figure]
    for text in texts:
        slug = re.sub(r"[^\w.-]+", "-", text.strip().lower()).strip("-.")[:60]
        if slug:
            return slug
    return None

"""The figures a tracked cell draws, named after what stays the same from run to run.

matplotlib: a figure counts whether it is still open when the cell ends or was closed while it
ran: ``plt.show()`` under Jupyter's inline backend displays every open figure and closes it at
once, and code that draws many figures often closes each one itself. So while a tracked cell
runs, ``pyplot.close`` is wrapped to keep hold of the figures it closes; PNGs are rendered
when the cell ends (a closed figure still renders). pyplot is never imported for this unless
the cell imports matplotlib itself.

plotly and Altair: the figures the cell shows (``fig.show()``, ``plotly.io.show``, its last
expression) and those bound to names it writes. The kernel keeps only each figure's JSON (a
few milliseconds); the sync process makes the HTML page and the PNG
(:mod:`nbmlops.sync.figures`), since a PNG costs seconds of a headless browser.

A figure is named by the variable that holds it, else by its axes' labels, else by its
position among the cell's figures; never by its title, which often holds a value
(``rmse=55.8``) and would keep two runs' figures from lining up. Titles are kept as captions
in ``figures/captions.json``.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import re
import sys
from collections.abc import Callable
from typing import Any

from nbmlops import store

_IMPORTS_MATPLOTLIB = re.compile(r"^\s*(?:import|from)\s+matplotlib\b", re.MULTILINE)
_IMPORTS_PLOTLY = re.compile(r"^\s*(?:import|from)\s+plotly\b", re.MULTILINE)


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
        #: The plotly figures the cell showed, in order.
        self.shown: list[Any] = []
        self._plotly_io: Any = sys.modules.get("plotly.io")
        if self._plotly_io is None and _IMPORTS_PLOTLY.search(source):
            with contextlib.suppress(ImportError):  # the cell's own import will say it
                import plotly.io

                self._plotly_io = plotly.io
        self._show: Callable[..., Any] | None = None
        if self._plotly_io is not None:
            show = self._show = self._plotly_io.show

            # fig.show() calls plotly.io.show(fig): one place sees both.
            @functools.wraps(show)
            def showing(fig: Any, *args: Any, **kwargs: Any) -> Any:
                if self._show is not None:
                    self.shown.append(fig)
                return show(fig, *args, **kwargs)

            self._plotly_io.show = showing

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
        show, self._show = self._show, None
        if show is not None and getattr(self._plotly_io.show, "__wrapped__", None) is show:
            self._plotly_io.show = show
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


def last_result(shell: Any, execution_count: int | None) -> list[Any]:
    """The value the cell's last expression displayed (``Out[n]``), as a list of at most one."""
    out = getattr(shell, "user_ns", {}).get("Out")
    if not isinstance(out, dict) or execution_count not in out:
        return []
    return [out[execution_count]]


def render(
    figures: list[Any], bound: dict[str, Any], shown: list[Any] | None = None
) -> dict[str, bytes]:
    """The files of the cell's figures by artifact path: a PNG per matplotlib figure, the JSON
    of each plotly or Altair figure among ``shown`` and ``bound``, and ``figures/captions.json``
    with their titles. ``bound`` holds what the cell's names refer to."""
    files: dict[str, bytes] = {}
    taken: set[str] = set()
    captions: dict[str, str] = {}
    position = 0

    def name_of(stable: str | None) -> str:
        nonlocal position
        if stable is None:
            position += 1
            stable = f"figure-{position}"
        name, n = stable, 1
        while name in taken:
            n += 1
            name = f"{stable}-{n}"
        taken.add(name)
        return name

    for figure in figures:
        png = io.BytesIO()
        figure.savefig(png, format="png", dpi=100)
        name = name_of(figure_name(figure, bound))
        files[store.figure_artifact(name)] = png.getvalue()
        caption = _matplotlib_title(figure)
        if caption:
            captions[name] = caption
    seen: set[int] = set()
    for value in [*(shown or ()), *bound.values()]:
        kind = interactive_kind(value)
        if kind is None or id(value) in seen:
            continue
        seen.add(id(value))
        try:
            spec, suffix, head = _spec(value, kind)
        except Exception:  # a figure that cannot describe itself is left out, the rest kept
            continue
        name = name_of(_variable(value, bound) or _slug(_spec_labels(head, kind)))
        files[store.figure_artifact(name, suffix)] = spec.encode()
        caption = _spec_title(head, kind)
        if caption:
            captions[name] = caption
    if captions:
        files[store.FIGURE_CAPTIONS_ARTIFACT] = json.dumps(captions, indent=1).encode()
    return files


def figure_name(figure: Any, bound: dict[str, Any]) -> str | None:
    """The stable name of a matplotlib figure: the name the cell gave it (``fig``, else an
    axes' name such as ``ax``), else its first labelled axes' labels (``loss-vs-epoch``), as
    a file name; None when it has neither (it is then named by its position)."""
    held = _variable(figure, bound)
    if held is not None:
        return held
    axes = [name for name, value in bound.items() if _axes_of(value, figure)]
    if axes:
        return _slug(axes[0])
    for ax in figure.get_axes():
        found = _slug(_versus(ax.get_ylabel(), ax.get_xlabel()))
        if found:
            return found
    return None


def _variable(value: Any, bound: dict[str, Any]) -> str | None:
    return next((_slug(name) for name, held in bound.items() if held is value), None)


def _axes_of(value: Any, figure: Any) -> bool:
    """Whether ``value`` is an axes of ``figure`` (or an array of them, ``plt.subplots(2)``)."""
    if getattr(value, "figure", None) is figure and not hasattr(value, "savefig"):
        return True
    # Only a small array of objects can hold axes: a numeric array is never walked.
    if getattr(getattr(value, "dtype", None), "kind", None) != "O" or value.size > 1024:
        return False
    try:
        return any(getattr(ax, "figure", None) is figure for ax in value.flat)
    except (AttributeError, TypeError):
        return False


def _versus(y: str, x: str) -> str:
    y, x = y.strip(), x.strip()
    return f"{y} vs {x}" if y and x else y or x


def _matplotlib_title(figure: Any) -> str:
    texts = []
    suptitle = getattr(figure, "_suptitle", None)
    if suptitle is not None:
        texts.append(suptitle.get_text())
    texts += [ax.get_title() for ax in figure.get_axes()]
    return " | ".join(t.strip() for t in texts if t and t.strip())


def _slug(text: str | None) -> str | None:
    """``text`` as a file name; None when nothing of it is left."""
    slug = re.sub(r"[^\w.-]+|_", "-", (text or "").strip().lower()).strip("-.")[:60]
    return slug or None


# -- plotly and Altair --------------------------------------------------------------------------


def interactive_kind(value: Any) -> str | None:
    """``"plotly"`` or ``"vega-lite"`` for a figure of those libraries, else None; told by
    the type's module and methods, so neither library is imported for it."""
    module = type(value).__module__ or ""
    if module.startswith("plotly.") and hasattr(value, "to_plotly_json"):
        return "plotly"
    # A chart (single, layered, concatenated, faceted), not one of its parts (`alt.X(...)`).
    if module.startswith("altair.") and any(
            c.__name__ == "TopLevelMixin" for c in type(value).__mro__):
        return "vega-lite"
    return None


def _spec(value: Any, kind: str) -> tuple[str, str, dict[str, Any]]:
    """The figure's JSON, its file suffix, and the part of it that says its titles (for
    plotly its layout, read without its data)."""
    text = str(value.to_json())
    if kind == "plotly":
        return text, store.PLOTLY_SUFFIX, {"layout": value.layout.to_plotly_json()}
    return text, store.VEGA_LITE_SUFFIX, json.loads(text)


def _spec_labels(spec: dict[str, Any], kind: str) -> str:
    """The axes' titles of a figure's JSON: ``y vs x``."""
    if kind == "plotly":
        layout = spec.get("layout") or {}
        return _versus(_title_text((layout.get("yaxis") or {}).get("title")),
                       _title_text((layout.get("xaxis") or {}).get("title")))
    encoding = spec.get("encoding") or {}

    def channel(name: str) -> str:
        found = encoding.get(name) or {}
        if not isinstance(found, dict):
            return ""
        return _title_text(found.get("title")) or str(found.get("field") or "")

    return _versus(channel("y"), channel("x"))


def _spec_title(spec: dict[str, Any], kind: str) -> str:
    if kind == "plotly":
        return _title_text((spec.get("layout") or {}).get("title"))
    return _title_text(spec.get("title"))


def _title_text(title: Any) -> str:
    """A title as plotly or Vega-Lite write it: a string, a list of lines, or ``{text: ...}``."""
    if isinstance(title, dict):
        title = title.get("text")
    if isinstance(title, list):
        title = " ".join(str(t) for t in title)
    return str(title).strip() if title else ""

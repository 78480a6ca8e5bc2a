"""The compare panel of ``%mlops compare`` and ``nbmlops.compare()``.

Plain ipywidgets, no front-end code of its own, so it shows wherever widgets do (JupyterLab,
Notebook 7, VS Code). It reads MLflow only through :mod:`nbmlops.runs.query`:

- a runs table (run, start, status, duration, metrics, the params that differ between the
  runs shown, short data fingerprints), one page at a time; a click on a column header orders
  by it, and MLflow itself orders and pages, so the first page of 10,000 runs costs what the
  first of 10 does. ``--last N`` holds the N newest runs and orders them here.
- ticking two or more runs shows them side by side (:mod:`nbmlops.panel.render`);
- the Plots tab draws PNGs with matplotlib (:mod:`nbmlops.panel.plots`) when it is opened;
- Refresh reads the page again, so runs synced since then appear.

The table is one widget per column (a header button over an HTML column of fixed-height
cells) beside a column of checkboxes: a few dozen widgets per page instead of one per cell,
which keeps the first page fast in a kernel where every widget is a message to the browser.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets

from nbmlops import config, store
from nbmlops.exceptions import ConfigError, NbmlopsError
from nbmlops.panel import render
from nbmlops.panel.render import esc
from nbmlops.runs import query
from nbmlops.runs.diff import best_indexes, metric_direction, recorded_directions
from nbmlops.runs.entities import Experiment, RunSummary
from nbmlops.track import own_runs

__all__ = ["DEFAULT_PAGE_SIZE", "ComparePanel", "compare"]

DEFAULT_PAGE_SIZE = query.DEFAULT_PAGE_SIZE
DIFF_TAB, PLOTS_TAB = 0, 1


@dataclass
class Column:
    """One table column: its sort key (see :func:`nbmlops.runs.query.column_order`) and cells."""

    key: str
    label: str
    tooltip: str
    cell: Callable[[RunSummary], str]
    numeric: bool = False
    kind: str = "attribute"  # attribute, metric, param, data


@dataclass
class Row:
    """A run shown in the table and the checkbox that selects it."""

    run: RunSummary
    checkbox: widgets.Checkbox


def compare(
    experiment: str | None = None,
    *,
    cell: str | None = None,
    metric: str | None = None,
    last: int | None = None,
    filter: str = "",
    page_size: int = DEFAULT_PAGE_SIZE,
    tracking_uri: str | None = None,
    ui_url: str | None = None,
    where: config.Destination | None = None,
) -> ComparePanel:
    """The panel for ``experiment`` (default: the current notebook's), in the tracking store
    the notebook's cells go to (``tracking_uri`` overrides); ``where`` is that destination
    when the caller knows it already."""
    from IPython import get_ipython

    own_runs.settle(get_ipython())  # the runs this kernel's cells just made are shown too
    if where is None:
        from nbmlops.track import location

        where = config.destination(location.notebook_path(get_ipython()), experiment)
    uri = tracking_uri or where.tracking_uri
    return ComparePanel(
        experiment or where.experiment,
        tracking_uri=uri,
        cell=cell,
        metric=metric,
        last=last,
        filter=filter,
        page_size=page_size,
        ui_url=ui_url or config.ui_url(where.root, uri),
        directions=config.metric_directions(where.root),
    )


class ComparePanel(widgets.VBox):
    """Runs of one experiment: table, side-by-side diff of the ticked runs, plots.

    Raises :class:`~nbmlops.exceptions.QueryError` (experiment not found, filter rejected)
    while it is built; later errors (a filter typed into the panel, a store gone away) are
    shown in the panel itself.
    """

    def __init__(
        self,
        experiment: str,
        *,
        tracking_uri: str,
        cell: str | None = None,
        metric: str | None = None,
        last: int | None = None,
        filter: str = "",
        page_size: int = DEFAULT_PAGE_SIZE,
        ui_url: str | None = None,
        directions: Mapping[str, str] | None = None,
    ) -> None:
        if last is not None and last < 1:
            raise ConfigError(f"--last must be a positive number of runs, not {last}")
        if page_size < 1:
            raise ConfigError(f"page_size must be positive, not {page_size}")
        self.tracking_uri = tracking_uri
        self.experiment = query.get_experiment(tracking_uri, experiment)
        self.cell, self.metric, self.last = cell, metric, last
        self.filter = filter.strip()
        self.page_size = page_size
        self.ui_url = ui_url
        self.directions = dict(directions or {})
        #: What the code that computed each metric said of it (``nbmlops.direction.*`` tags).
        self.recorded = _recorded_direction(tracking_uri, self.experiment, metric)
        self.sort_column, self.sort_descending = self._default_sort()
        self.runs: list[RunSummary] = []  # the page shown
        self.champions: dict[str, list[str]] = {}  # run id -> the champions it logged
        self.rows: list[Row] = []
        self.selected: dict[str, RunSummary] = {}
        self.page = 0
        self.has_next = False
        self.sorted_here = False  # the page was ordered here, not by MLflow
        self._tokens: list[str | None] = [None]  # MLflow's token for each page seen
        self._next_token: str | None = None
        self._pool: list[RunSummary] | None = None  # --last: the N newest runs
        self._syncing = False  # checkbox values being set by the panel, not the user

        self._build_widgets()
        super().__init__(children=self._layout())
        self.add_class("nbm-panel")
        self._fetch()  # errors here reach the caller: the magic shows them as UsageError
        self._render()

    # --- widgets -------------------------------------------------------------------------

    def _build_widgets(self) -> None:
        self.style_html = widgets.HTML(render.STYLE, layout=widgets.Layout(height="0px"))
        self.title = widgets.HTML(self._title())
        self.filter_text = widgets.Text(
            value=self.filter,
            placeholder="metrics.auc > 0.8 and params.lr = '0.1'",
            description="Filter",
            continuous_update=False,
            layout=widgets.Layout(width="420px"),
        )
        self.refresh_button = widgets.Button(
            description="Refresh", icon="refresh", tooltip="read the runs again",
            layout=widgets.Layout(width="auto"),
        )
        self.prev_button = widgets.Button(
            description="Previous", icon="chevron-left", layout=widgets.Layout(width="auto")
        )
        self.next_button = widgets.Button(
            description="Next", icon="chevron-right", layout=widgets.Layout(width="auto")
        )
        self.page_label = widgets.HTML()
        self.message = widgets.HTML()
        self.header_buttons: dict[str, widgets.Button] = {}
        self.column_widgets: dict[str, widgets.HTML] = {}
        self._column_boxes: dict[str, widgets.VBox] = {}
        self._checkbox_box = widgets.VBox(layout=widgets.Layout(flex="0 0 auto"))
        self._checkbox_header = widgets.HTML(layout=widgets.Layout(
            height=f"{render.HEADER_HEIGHT}px", width="28px", margin="0",
        ))
        self.table = widgets.HBox(
            layout=widgets.Layout(overflow_x="auto", width="100%", align_items="flex-start")
        )
        self.caption = widgets.HTML()
        self.candidates_view = widgets.HTML()  # the page's searches, their candidates folded
        self.diff_view = widgets.HTML()
        self.clear_button = widgets.Button(
            description="Clear selection", icon="times",
            layout=widgets.Layout(width="auto", align_self="flex-start"),
        )
        self.plot_metric = widgets.Dropdown(description="Metric", options=[])
        self.plot_param = widgets.Dropdown(description="vs param", options=[])
        self.plots_note = widgets.HTML()
        # Inline SVG: sharp at any size, in the notebook theme's colours.
        self.metrics_plot = widgets.HTML(layout=_image_layout())
        self.scatter_plot = widgets.HTML(layout=_image_layout())
        self.tabs = widgets.Tab(
            children=[
                widgets.VBox([self.clear_button, self.diff_view]),
                widgets.VBox([
                    self.plots_note, self.metrics_plot,
                    widgets.HBox([self.plot_metric, self.plot_param]), self.scatter_plot,
                ]),
            ],
            selected_index=DIFF_TAB,
        )
        self.tabs.set_title(DIFF_TAB, "Compare")
        self.tabs.set_title(PLOTS_TAB, "Plots")

        self.refresh_button.on_click(lambda _: self._guarded(self.refresh))
        self.next_button.on_click(lambda _: self._guarded(self.next_page))
        self.prev_button.on_click(lambda _: self._guarded(self.previous_page))
        self.clear_button.on_click(lambda _: self._guarded(self.clear_selection))
        self.filter_text.observe(
            lambda c: self._guarded(lambda: self.set_filter(c["new"])), names="value"
        )
        self.tabs.observe(lambda _: self._guarded(self._render_plots), names="selected_index")
        self.plot_metric.observe(lambda _: self._guarded(self._render_scatter), names="value")
        self.plot_param.observe(lambda _: self._guarded(self._render_scatter), names="value")

    def _layout(self) -> list[widgets.Widget]:
        toolbar = widgets.HBox(
            [self.filter_text, self.refresh_button, self.prev_button, self.next_button,
             self.page_label],
            layout=widgets.Layout(align_items="center", flex_flow="row wrap"),
        )
        return [self.style_html, self.title, toolbar, self.message, self.table, self.caption,
                self.candidates_view, self.tabs]

    # --- what the user does (also the API the tests drive) -------------------------------

    def refresh(self) -> None:
        """Read the page shown again (and the N newest runs with ``--last``)."""
        self._pool = None
        self._fetch()
        self._render()

    def next_page(self) -> None:
        if not self.has_next:
            return
        if self.last is None and len(self._tokens) == self.page + 1:
            self._tokens.append(self._next_token)
        self.page += 1
        self._fetch()
        self._render()

    def previous_page(self) -> None:
        if self.page == 0:
            return
        self.page -= 1
        self._fetch()
        self._render()

    def sort_by(self, column: str, descending: bool | None = None) -> None:
        """Order by ``column``; a second click on the same column turns the order round."""
        if descending is None:
            if column == self.sort_column:
                descending = not self.sort_descending
            else:
                descending = self._natural_descending(column)
        self.sort_column, self.sort_descending = column, descending
        self._restart()

    def set_filter(self, text: str) -> None:
        """Keep only the runs matching ``text`` (MLflow's search syntax)."""
        previous = self.filter
        self.filter = text.strip()
        try:
            self._pool = None
            self._restart()
        except NbmlopsError:
            self.filter = previous
            raise

    def clear_selection(self) -> None:
        self.selected.clear()
        self._render()

    # --- reading -------------------------------------------------------------------------

    def _restart(self) -> None:
        self.page, self._tokens = 0, [None]
        self._fetch()
        self._render()

    def _fetch(self) -> None:
        """Put the current page's runs in ``self.runs``."""
        if self.last is not None:
            if self._pool is None:
                self._pool = query.last_runs(
                    self.tracking_uri, self.experiment, self.last, filter=self._search_filter(),
                    cell=self.cell,
                )
            ordered = query.sort_runs(self._pool, self.sort_column, self.sort_descending)
            start = self.page * self.page_size
            self.runs = nested_reproductions(ordered[start : start + self.page_size])
            self.recorded = {**self.recorded, **recorded_directions(self._pool)}
            self.has_next = start + self.page_size < len(ordered)
            self.sorted_here = False  # all N runs are here: the order is exact
            self.champions = _champions(self.tracking_uri)
            return
        order = query.column_order(self.sort_column, self.sort_descending)
        page = query.search_runs(
            self.tracking_uri, self.experiment, filter=self._search_filter(), cell=self.cell,
            order_by=[order] if order else None, max_results=self.page_size,
            page_token=self._tokens[self.page],
        )
        self.sorted_here = order is None
        runs = page.runs
        if self.sorted_here:
            runs = query.sort_runs(runs, self.sort_column, self.sort_descending)
        self.runs = nested_reproductions(runs)
        self.recorded = {**self.recorded, **recorded_directions(runs)}
        self._next_token = page.next_page_token
        self.has_next = page.next_page_token is not None
        self.champions = _champions(self.tracking_uri)

    def _search_filter(self) -> str:
        """The user's filter; opened for a metric, only the runs of cells that logged it."""
        if not self.metric:
            return self.filter
        return " and ".join(p for p in (self.filter, query.logged(self.metric)) if p)

    # --- drawing -------------------------------------------------------------------------

    def _render(self) -> None:
        self.message.value = ""
        self._render_table()
        self._render_diff()
        self._render_plots()

    def _render_table(self) -> None:
        columns = self.columns()
        self._sync_checkboxes()
        boxes: list[widgets.Widget] = [self._checkbox_box]
        for column in columns:
            boxes.append(self._column_box(column))
        self._fill_columns(columns)
        self.table.children = tuple(boxes) if self.runs else ()
        self.prev_button.disabled = self.page == 0
        self.next_button.disabled = not self.has_next
        first = self.page * self.page_size + 1
        shown = (
            f"runs {first} to {first + len(self.runs) - 1}" if self.runs else "no runs"
        )
        more = " · more after" if self.has_next else ""
        self.page_label.value = (
            f'<span class="nbm-muted">page {self.page + 1} · {shown}{more}</span>'
        )
        self.caption.value = self._caption(columns)
        self.candidates_view.value = render.candidates_html(self.runs)

    def columns(self) -> list[Column]:
        """The columns the table shows for the current page."""
        runs = self.runs
        cols = [
            Column("run_name", "run", "run name (link: the run in MLflow); ★ its model is "
                   "the champion",
                   lambda r: render.run_name_html(r, self._run_url(r))
                   + render.champion_html(self.champions.get(r.run_id))),
            Column("start_time", "started", "start time",
                   lambda r: esc(render.fmt_time(r.start_time))),
            Column("status", "status", "run status", lambda r: render.status_html(r.status)),
            Column("group", "execution", "the notebook execution that made the run: a job "
                   "run and its cells, or one kernel session (order by it to group them)",
                   lambda r: esc(_execution(r))),
            Column("duration", "duration", "how long the cell ran",
                   lambda r: esc(render.fmt_duration(r.duration_s)), numeric=True),
        ]
        # The column ordered by stays even on a page where no run has it.
        sorted_kind, _, sorted_key = self.sort_column.partition(".")
        metrics = sorted({k for r in runs for k in r.metrics})
        if sorted_kind == "metrics" and sorted_key not in metrics:
            metrics.append(sorted_key)
        if self.metric:
            metrics = [self.metric, *(m for m in metrics if m != self.metric)]
        for name in metrics:
            cols.append(self._metric_column(name))
        params = query.varying_params(runs)
        if sorted_kind == "params" and sorted_key not in params:
            params.append(sorted_key)
        for name in params:
            cols.append(_param_column(name))
        cols.append(Column("data", "data", "data the cell read: name and fingerprint",
                           render.data_html, kind="data"))
        return cols

    def _metric_column(self, name: str) -> Column:
        direction = metric_direction(name, self.directions, self.recorded)
        values = [r.metrics.get(name) for r in self.runs]
        best = {self.runs[i].run_id for i in best_indexes(values, direction)}
        hint = {"min": "lower is better", "max": "higher is better"}.get(direction or "", "")

        def cell(run: RunSummary) -> str:
            text = esc(render.fmt_number(run.metrics.get(name)))
            return f'<span class="nbm-best">{text}</span>' if run.run_id in best else text

        tooltip = f"metric {name}" + (f" ({hint}; best on this page in bold)" if hint else "")
        return Column(f"metrics.{name}", name, tooltip, cell, numeric=True, kind="metric")

    def _column_box(self, column: Column) -> widgets.VBox:
        button = self.header_buttons.get(column.key)
        if button is None:
            button = widgets.Button(layout=widgets.Layout(
                width="auto", height=f"{render.HEADER_HEIGHT}px", margin="0",
            ))
            button.on_click(lambda _, key=column.key: self._guarded(lambda: self.sort_by(key)))
            self.header_buttons[column.key] = button
            html = widgets.HTML(layout=widgets.Layout(margin="0"))
            self.column_widgets[column.key] = html
            self._column_boxes[column.key] = widgets.VBox(
                [button, html], layout=widgets.Layout(flex="0 0 auto")
            )
        arrow = ""
        if column.key == self.sort_column:
            arrow = " ▼" if self.sort_descending else " ▲"
        button.description = column.label + arrow
        button.tooltip = f"{column.tooltip} — click to sort"
        button.style.font_weight = "bold" if arrow else "normal"
        button.style.font_style = "italic" if column.kind == "param" else "normal"
        return self._column_boxes[column.key]

    def _fill_columns(self, columns: list[Column]) -> None:
        chosen = [r.run_id in self.selected for r in self.runs]
        for column in columns:
            cells = [column.cell(r) for r in self.runs]
            self.column_widgets[column.key].value = render.column_html(
                cells, chosen, column.numeric
            )

    def _sync_checkboxes(self) -> None:
        while len(self.rows) < len(self.runs):
            index = len(self.rows)
            box = widgets.Checkbox(
                value=False, indent=False, description="",
                layout=widgets.Layout(
                    width="28px", height=f"{render.ROW_HEIGHT}px", margin="0",
                ),
            )
            box.observe(lambda c, i=index: self._on_check(i, c["new"]), names="value")
            self.rows.append(Row(self.runs[index], box))
        self._syncing = True
        try:
            for row, run in zip(self.rows, self.runs, strict=False):
                row.run = run
                row.checkbox.value = run.run_id in self.selected
                row.checkbox.tooltip = f"compare {run.run_name} ({run.run_id[:8]})"
        finally:
            self._syncing = False
        del self.rows[len(self.runs):]
        if len(self._checkbox_box.children) != len(self.rows) + 1:
            self._checkbox_box.children = (
                self._checkbox_header, *(r.checkbox for r in self.rows)
            )

    def _on_check(self, index: int, value: bool) -> None:
        if self._syncing or index >= len(self.rows):
            return
        run = self.rows[index].run
        if value:
            self.selected[run.run_id] = run
        else:
            self.selected.pop(run.run_id, None)
        self._guarded(self._render_selection)

    def _render_selection(self) -> None:
        self._fill_columns(self.columns())
        self._render_diff()
        self._render_plots()

    def _caption(self, columns: list[Column]) -> str:
        if not self.runs:
            hint = " matching the filter" if self.filter else ""
            return f'<div class="nbm-muted">No runs{hint} in this experiment yet.</div>'
        notes = []
        same = query.common_params(self.runs)
        if same and len(self.runs) > 1:
            listed = ", ".join(f"{k}={v}" for k, v in list(same.items())[:8])
            more = f" and {len(same) - 8} more" if len(same) > 8 else ""
            notes.append(f"same in all runs shown: {esc(listed)}{more}")
        if any(c.kind == "param" for c in columns):
            notes.append("<i>italic</i> columns: params that differ")
        if self.sorted_here and self.has_next:
            notes.append(f"{esc(self.sort_column)} is ordered within this page only")
        notes.append("tick two or more runs to compare them")
        return f'<div class="nbm-muted" style="margin: 4px 0">{" · ".join(notes)}</div>'

    def _render_diff(self) -> None:
        chosen = sorted(self.selected.values(), key=lambda r: r.start_time or 0)
        self.clear_button.layout.display = "" if chosen else "none"
        if len(chosen) < 2:
            picked = f" ({len(chosen)} ticked)" if chosen else ""
            self.diff_view.value = (
                '<div class="nbm-muted" style="padding: 6px 0">Tick two or more runs in the '
                f"table to see them side by side{picked}.</div>"
            )
            return
        try:
            diff = query.diff_runs(
                self.tracking_uri, [r.run_id for r in chosen], directions=self.directions
            )
        except NbmlopsError as e:
            self.diff_view.value = _error_html(str(e))
            return
        self.diff_view.value = render.diff_html(diff, self._run_url)

    def _plot_runs(self) -> list[RunSummary]:
        """The ticked runs (two or more), else the page's, in the table's order."""
        if len(self.selected) < 2:
            return self.runs
        shown = [r for r in self.runs if r.run_id in self.selected]
        return shown + [r for r in self.selected.values() if r not in shown]

    def _render_plots(self) -> None:
        if self.tabs.selected_index != PLOTS_TAB:
            return  # drawn when the tab is opened: matplotlib costs nothing until then
        from nbmlops.panel import plots

        runs = self._plot_runs()
        which = "ticked" if len(self.selected) >= 2 else "shown"
        self.plots_note.value = f'<div class="nbm-muted">The {len(runs)} runs {which}.</div>'
        metrics = sorted({k for r in runs for k in r.metrics})
        if self.metric in metrics:
            metrics.remove(self.metric)
            metrics.insert(0, self.metric)
        varying = query.varying_params(runs)
        svg = plots.metrics_svg(runs, metrics, self.directions, x_param=_x_param(varying),
                                recorded={**self.recorded, **recorded_directions(runs)})
        self.metrics_plot.value = svg or ""
        self.metrics_plot.layout.display = "" if svg else "none"
        params = varying + sorted(query.common_params(runs))
        self._syncing = True
        try:
            _set_options(self.plot_metric, metrics)
            _set_options(self.plot_param, params)
        finally:
            self._syncing = False
        self._render_scatter()

    def _render_scatter(self) -> None:
        if self._syncing or self.tabs.selected_index != PLOTS_TAB:
            return
        from nbmlops.panel import plots

        metric, param = self.plot_metric.value, self.plot_param.value
        svg = plots.scatter_svg(self._plot_runs(), metric, param) if metric and param else None
        self.scatter_plot.value = svg or ""
        self.scatter_plot.layout.display = "" if svg else "none"

    # --- helpers -------------------------------------------------------------------------

    def _guarded(self, action: Callable[[], Any]) -> None:
        """Run a callback; its errors show in the panel (a widget callback has nobody else
        to tell)."""
        try:
            action()
        except Exception as e:
            text = str(e) if isinstance(e, NbmlopsError) else f"{type(e).__name__}: {e}"
            self.message.value = _error_html(text)

    def _run_url(self, run: RunSummary) -> str | None:
        return config.run_url(self.ui_url, self.experiment.experiment_id, run.run_id)

    def _title(self) -> str:
        name = f"<b>{esc(self.experiment.name)}</b>"
        url = config.experiment_url(self.ui_url, self.experiment.experiment_id)
        if url:
            name = f'<a href="{esc(url)}" target="_blank" title="open in MLflow">{name}</a>'
        parts = [f"Runs of {name}"]
        if self.cell:
            parts.append(f"cell <b>{esc(self.cell)}</b>")
        if self.last:
            parts.append(f"the {self.last} newest")
        return f'<div style="font-size: 1.1em; margin: 2px 0 6px 0">{" · ".join(parts)}</div>'

    def _default_sort(self) -> tuple[str, bool]:
        if self.metric:
            column = f"metrics.{self.metric}"
            return column, self._natural_descending(column)
        return "start_time", True

    def _natural_descending(self, column: str) -> bool:
        """The first order of a column: newest, best (by the metric's direction) first."""
        if column.startswith("metrics."):
            return metric_direction(column[len("metrics."):], self.directions,
                                    self.recorded) != "min"
        return column in ("start_time", "end_time", "duration")


def nested_reproductions(runs: list[RunSummary]) -> list[RunSummary]:
    """``runs`` in their order, except that a run ``nbmlops reproduce`` made follows the run
    it reproduces (when that run is among them), rather than standing as a new run."""
    listed = {r.run_id for r in runs}
    under: dict[str, list[RunSummary]] = {}
    for run in runs:
        if run.reproduces in listed and run.reproduces != run.run_id:
            under.setdefault(run.reproduces or "", []).append(run)
    moved = {r.run_id for rs in under.values() for r in rs}
    out: list[RunSummary] = []

    def put(run: RunSummary) -> None:
        out.append(run)
        for again in under.get(run.run_id, []):
            put(again)

    for run in runs:
        if run.run_id not in moved:
            put(run)
    return out if len(out) == len(runs) else runs  # a cycle: leave the order as it was


def _recorded_direction(
    tracking_uri: str, experiment: Experiment, metric: str | None
) -> dict[str, str]:
    """The direction the newest run's code recorded for ``metric`` (opened for it, the panel
    orders by it, best first, before any page is read); empty without a metric."""
    if not metric or "`" in metric:
        return {}
    tag = f"{store.DIRECTION_TAG_PREFIX}{metric}"
    page = query.search_runs(tracking_uri, experiment, filter=f"tags.`{tag}` IS NOT NULL",
                             max_results=1)
    return recorded_directions(page.runs)


def _execution(run: RunSummary) -> str:
    """``job weekly``, ``job run 1a2b3c4d`` (a cell of a job run), ``session 5e6f7a``."""
    if run.job:
        return f"job {run.job}"
    if run.parent_run_id:
        return f"job run {run.parent_run_id[:8]}"
    return f"session {run.group[:6]}" if run.group else ""


def _x_param(varying: list[str]) -> str | None:
    """The parameter to put on the x axis: the one that varies, when only one does (an
    estimator's ``model.n_estimators`` repeats ``n_estimators`` and does not count)."""
    plain = [name for name in varying if "." not in name]
    return plain[0] if len(plain) == 1 else None
def _champions(tracking_uri: str) -> dict[str, list[str]]:
    """Runs whose model version is the champion; nothing when the registry cannot say (the
    runs are what the panel is for)."""
    from nbmlops.models import registry

    try:
        with store.fail_fast():
            return registry.alias_runs(store.client(tracking_uri))
    except Exception:
        return {}


def _image_layout() -> widgets.Layout:
    return widgets.Layout(max_width="100%", width="auto", align_self="flex-start")


def _param_column(name: str) -> Column:
    def cell(run: RunSummary) -> str:
        return esc(run.params.get(name, ""))

    return Column(f"params.{name}", name, f"param {name} (differs between the runs shown)",
                  cell, kind="param")


def _set_options(dropdown: widgets.Dropdown, options: list[str]) -> None:
    keep = dropdown.value if dropdown.value in options else (options[0] if options else None)
    if list(dropdown.options) != options:
        dropdown.options = options
    dropdown.value = keep


def _error_html(text: str) -> str:
    return f'<div style="color: #d73a49; padding: 4px 0">{esc(text)}</div>'

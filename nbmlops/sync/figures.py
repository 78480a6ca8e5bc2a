"""A record's plotly and Altair figures made into what a person opens: an HTML page per figure,
and a PNG where a renderer is installed.

The kernel keeps only each figure's JSON (:mod:`nbmlops.track.figures`): a PNG takes a headless
browser seconds per figure (kaleido for plotly), so it is made here, in the sync process, next
to the upload. Each page carries its JavaScript inline (plotly.js; Vega-Lite's bundle when
vl-convert is installed, else links to its CDN): the MLflow UI and a JupyterLab without
internet show it as it is. A missing library or renderer skips that file quietly: the JSON is
uploaded all the same, and a PNG made from it later looks the same.
"""

from __future__ import annotations

import contextlib
import json
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nbmlops import store

log = logging.getLogger(__name__)


def make_files(files: Path, artifacts: list[str]) -> list[str]:
    """Write the HTML page and PNG of each figure JSON among ``artifacts`` (paths relative to
    ``files``) beside it; the artifact paths written. Never raises."""
    written: list[str] = []
    plotly = [a for a in artifacts if a.endswith(store.PLOTLY_SUFFIX)]
    vega = [a for a in artifacts if a.endswith(store.VEGA_LITE_SUFFIX)]
    if plotly:
        written += _plotly(files, plotly)
    if vega:
        written += _vega_lite(files, vega)
    return written


def _write(files: Path, spec: str, suffix: str, ending: str, data: bytes) -> str:
    relpath = spec.removesuffix(suffix) + ending
    (files / relpath).write_bytes(data)
    return relpath


def _plotly(files: Path, specs: list[str]) -> list[str]:
    try:
        import plotly.io as pio
    except ImportError:
        return []
    written, figures = [], []
    for spec in specs:
        try:
            figure = pio.from_json((files / spec).read_text(encoding="utf-8"))
            html = figure.to_html(include_plotlyjs=True, full_html=True)
        except Exception as e:
            log.warning("figure %s: no HTML page: %s: %s", spec, type(e).__name__, e)
            continue
        written.append(_write(files, spec, store.PLOTLY_SUFFIX, ".html", html.encode()))
        figures.append((spec, figure))
    with _kaleido() as ready:
        for spec, figure in figures if ready else ():
            try:
                with warnings.catch_warnings():  # plotly's notes on kaleido's options
                    warnings.simplefilter("ignore")
                    png = pio.to_image(figure, format="png")
            except Exception as e:  # no browser, or it failed: the rest would fail alike
                log.info("plotly figures without PNG: %s: %s", type(e).__name__, e)
                break
            written.append(_write(files, spec, store.PLOTLY_SUFFIX, ".png", png))
    return written


@contextlib.contextmanager
def _kaleido() -> Iterator[bool]:
    """kaleido's browser kept open across a record's figures (the first costs most); False
    when kaleido is not installed."""
    try:
        import kaleido
    except ImportError:
        yield False
        return
    started = False
    with contextlib.suppress(Exception):
        kaleido.start_sync_server(silence_warnings=True)
        started = True
    try:
        yield True
    finally:
        if started:
            with contextlib.suppress(Exception):
                kaleido.stop_sync_server(silence_warnings=True)


def _vega_lite(files: Path, specs: list[str]) -> list[str]:
    written = []
    converter: Any = None
    with contextlib.suppress(ImportError):
        import vl_convert

        converter = vl_convert
    for spec in specs:
        try:
            chart = json.loads((files / spec).read_text(encoding="utf-8"))
        except ValueError:
            continue
        html = _vega_lite_page(chart, inline=converter is not None)
        if html is not None:
            written.append(_write(files, spec, store.VEGA_LITE_SUFFIX, ".html", html.encode()))
        if converter is not None:
            try:
                png = converter.vegalite_to_png(chart, scale=2)
            except Exception as e:
                log.info("figure %s: no PNG: %s: %s", spec, type(e).__name__, e)
                continue
            written.append(_write(files, spec, store.VEGA_LITE_SUFFIX, ".png", png))
    return written


def _vega_lite_page(chart: dict[str, Any], *, inline: bool) -> str | None:
    """Altair's own page for the chart; None when Altair is not installed here."""
    try:
        import altair
        from altair.utils.html import spec_to_html
    except ImportError:
        return None
    try:
        return str(spec_to_html(
            chart, "vega-lite", vega_version=altair.VEGA_VERSION,
            vegaembed_version=altair.VEGAEMBED_VERSION,
            vegalite_version=altair.VEGALITE_VERSION, template="inline" if inline else "standard",
        ))
    except Exception as e:
        log.warning("Altair chart: no HTML page: %s: %s", type(e).__name__, e)
        return None

"""Every run of one notebook, wherever it went: one ordered, paged list.

A notebook's runs are first those of its experiment. Others belong to it too: a job's or a
pipeline step's runs (and their cells') went to the job's experiment and carry the notebook
in ``nbmlops.source_notebook``; a notebook that was renamed or moved keeps, in its saved
outputs, the ids of runs recorded under its old name. Each such place is a :class:`Source`
(experiments and a filter), and :func:`notebook_runs` merges their ordered pages into one,
with a page token that remembers where each source stands.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from nbmlops import store
from nbmlops.exceptions import ExperimentNotFound, InvalidQuery
from nbmlops.runs import candidates, query
from nbmlops.runs.entities import Experiment, RunPage, RunSummary

_TOKEN = "nbmlops-merged:"
#: Run ids read from a notebook's outputs that are looked up at most (the newest last).
MAX_REFERENCED = 200
#: Record ids (outputs saved before the upload) looked up at most: one query each.
MAX_RECORDS = 8


@dataclass(frozen=True)
class Source:
    """Where some of a notebook's runs are: experiment ids and what picks them there."""

    experiment_ids: tuple[str, ...]
    filter: str = ""


def quoted(value: str) -> str:
    """``value`` as a string literal of MLflow's search grammar."""
    quote = '"' if "'" in value else "'"
    return f"{quote}{value}{quote}"


def sources(
    tracking_uri: str,
    experiment: str,
    notebook: str | None,
    referenced: Sequence[str] = (),
) -> tuple[Experiment | None, list[Source]]:
    """The notebook's experiment (None if it has none yet) and every place its runs are.

    ``notebook`` is its project-relative name (``mlflow.source.name``); ``referenced`` the
    run ids its saved outputs name, and ``record:<id>`` for a record whose run id they do
    not hold (see :func:`nbmlops.server.notebook.referenced_runs`).
    """
    if not store.exists(tracking_uri):
        return None, []
    own: Experiment | None = None
    with contextlib.suppress(ExperimentNotFound):
        own = query.get_experiment(tracking_uri, experiment)
    found = [Source((own.experiment_id,))] if own else []
    others = [e.experiment_id for e in query.experiments(tracking_uri)
              if own is None or e.experiment_id != own.experiment_id]
    if notebook and others:
        found.append(Source(tuple(others),
                            f"tags.`{store.SOURCE_NOTEBOOK_TAG}` = {quoted(notebook)}"))
    # Runs the outputs name but the sources above miss: the notebook was renamed or moved
    # (its runs are under its old name), or it is a job's output (its runs are the job's).
    for experiment_id, name in _elsewhere(tracking_uri, list(referenced)[-MAX_REFERENCED:]):
        if own is not None and experiment_id == own.experiment_id:
            continue
        if name == notebook:
            continue
        found.append(Source((experiment_id,),
                            f"tags.`{store.SOURCE_NAME_TAG}` = {quoted(name)}"))
    return own, found


def _elsewhere(tracking_uri: str, referenced: list[str]) -> list[tuple[str, str]]:
    """The (experiment id, source name) pairs of the referenced runs that still exist."""
    ids = [r for r in dict.fromkeys(referenced) if re.fullmatch(r"[0-9a-zA-Z]+", r)]
    records = [r.partition(":")[2] for r in dict.fromkeys(referenced)
               if r.startswith("record:") and re.fullmatch(r"[0-9a-zA-Z_-]+", r[7:])]
    if not ids and not records:
        return []
    client = store.client(tracking_uri)
    every = [e.experiment_id for e in query.experiments(tracking_uri)]
    clauses = [f"attributes.run_id IN ({', '.join(quoted(r) for r in ids[i:i + 100])})"
               for i in range(0, len(ids), 100)]
    # MLflow has no IN for tags: one query a record, the newest few.
    clauses += [f"tags.`{store.RECORD_ID_TAG}` = {quoted(r)}" for r in records[-MAX_RECORDS:]]
    pairs: dict[tuple[str, str], None] = {}
    for clause in clauses:
        runs = query.call(tracking_uri, partial(
            client.search_runs, every, filter_string=clause, max_results=1000))
        for run in runs:
            name = run.data.tags.get(store.SOURCE_NAME_TAG)
            if name:
                pairs[(str(run.info.experiment_id), name)] = None
    return list(pairs)


def notebook_runs(
    tracking_uri: str,
    places: Sequence[Source],
    *,
    experiment: Experiment | None,
    filter: str = "",
    cell: str | None = None,
    order_by: Sequence[str] | None = None,
    max_results: int = query.DEFAULT_PAGE_SIZE,
    page_token: str | None = None,
) -> RunPage | None:
    """One page of the runs of every place, in ``order_by``'s order (newest first), each
    run once; None when there is no run at all. ``experiment`` is the notebook's (None when
    it has none: the first run's then). One place is
    :func:`nbmlops.runs.query.search_runs` itself."""
    order = list(order_by or query.DEFAULT_ORDER)
    if len(places) == 1 and not places[0].filter and len(places[0].experiment_ids) == 1:
        return query.search_runs(tracking_uri, places[0].experiment_ids[0], filter=filter,
                                 cell=cell, order_by=order, max_results=max_results,
                                 page_token=page_token)
    where = query._combined_filter(filter, cell)
    positions = _positions(page_token, len(places))
    client = store.client(tracking_uri)
    fetched: list[tuple[list[RunSummary], str | None]] = []
    for place, position in zip(places, positions, strict=True):
        if position is None:
            fetched.append(([], None))
            continue
        token, skip = position
        clause = candidates.top_level(" and ".join(p for p in (where, place.filter) if p))
        page = query.call(tracking_uri, partial(
            client.search_runs, list(place.experiment_ids), filter_string=clause,
            max_results=skip + max_results, order_by=order, page_token=token), filter=filter)
        fetched.append(([query.summary(r) for r in page][skip:], query._text_token(page.token)))
    rows, used = _merge([rows for rows, _ in fetched], order, max_results)
    after: list[tuple[str | None, int] | None] = []
    for (rows_i, next_token), position, n in zip(fetched, positions, used, strict=True):
        if position is None:
            after.append(None)
        elif n < len(rows_i):
            after.append((position[0], position[1] + n))
        else:
            after.append((next_token, 0) if next_token else None)
    more = any(p is not None for p in after)
    query.attach_candidates(tracking_uri, rows)
    if experiment is None:
        if not rows:
            return None
        experiment = query.get_experiment(tracking_uri, rows[0].experiment_id)
    return RunPage(experiment, rows, _token(after) if more else None, order, where)


def _merge(
    streams: list[list[RunSummary]], order: list[str], size: int
) -> tuple[list[RunSummary], list[int]]:
    """The first ``size`` runs of the ordered ``streams`` in ``order`` (each run once), and
    how many of each stream were taken."""
    keys = [_clause(c) for c in order]
    heads = [0] * len(streams)
    seen: set[str] = set()
    out: list[RunSummary] = []
    while len(out) < size:
        best: int | None = None
        for i, stream in enumerate(streams):
            if heads[i] < len(stream) and (
                    best is None or _before(stream[heads[i]], streams[best][heads[best]], keys)):
                best = i
        if best is None:
            break
        run = streams[best][heads[best]]
        heads[best] += 1
        if run.run_id not in seen:
            seen.add(run.run_id)
            out.append(run)
    return out, heads


_CLAUSE = re.compile(r"^\s*(?:(\w+)\.)?(?:`([^`]+)`|(\S+))(?:\s+(ASC|DESC))?\s*$", re.I)


def _clause(clause: str) -> tuple[str, bool]:
    match = _CLAUSE.match(clause)
    if match is None:
        raise InvalidQuery(f"cannot order by {clause!r}")
    kind = (match.group(1) or "attributes").lower()
    key = match.group(2) or match.group(3)
    column = key if kind == "attributes" else f"{kind}.{key}"
    return column, (match.group(4) or "ASC").upper() == "DESC"


def _before(a: RunSummary, b: RunSummary, keys: list[tuple[str, bool]]) -> bool:
    """Whether ``a`` comes before ``b``: missing values last, ties newest first."""
    for column, descending in [*keys, ("start_time", True)]:
        x, y = query.column_value(a, column), query.column_value(b, column)
        if x == y:
            continue
        if x is None or y is None:
            return y is None
        with contextlib.suppress(TypeError):
            return bool(x > y) if descending else bool(x < y)
        return str(x) > str(y) if descending else str(x) < str(y)
    return a.run_id < b.run_id


def _token(positions: list[tuple[str | None, int] | None]) -> str:
    text = json.dumps([list(p) if p else None for p in positions])
    return _TOKEN + base64.urlsafe_b64encode(text.encode()).decode()


def _positions(token: str | None, n: int) -> list[tuple[str | None, int] | None]:
    if not token:
        return [(None, 0)] * n
    try:
        if not token.startswith(_TOKEN):
            raise ValueError
        data = json.loads(base64.urlsafe_b64decode(token[len(_TOKEN):]))
        if not isinstance(data, list) or len(data) != n:
            raise ValueError
        return [None if p is None else (p[0], int(p[1])) for p in data]
    except (ValueError, TypeError, IndexError):
        raise InvalidQuery("the page token does not fit this notebook's runs: "
                           "refresh the list") from None


"""nbmlops: notebook work to real MLOps, without leaving the notebook.

``%load_ext nbmlops`` registers ``%%track`` and ``%mlops``; nothing heavy is imported here.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = [
    "__version__", "compare", "expect", "fingerprint", "last_run", "lineage",
    "load_ipython_extension", "load_model", "log_metric", "profile",
]


def load_ipython_extension(ipython: Any) -> None:
    """Register the magics once per shell (loading twice is harmless)."""
    from nbmlops.magics import TrackMagics

    if "TrackMagics" not in ipython.magics_manager.registry:
        ipython.register_magics(TrackMagics)
    _resume_sync()


def __getattr__(name: str) -> Any:
    # ``nbmlops.lineage.runs_using(fingerprint)``: the module loads on first use.
    if name == "lineage":
        from nbmlops.runs import lineage

        return lineage
    raise AttributeError(f"module 'nbmlops' has no attribute {name!r}")


def _resume_sync() -> None:
    # Records left by a kernel that died, or a sync process that was stopped, go up now.
    from nbmlops import config
    from nbmlops.sync import worker
    from nbmlops.sync.spool import Spool

    try:
        root = config.project_root()
        spool = Spool(config.spool_dir(root))
        if config.autosync(root) and spool.entries():
            worker.ensure_running(spool.root)
    except Exception:
        pass


def log_metric(name: str, value: Any, step: int | None = None) -> None:
    """Record ``value`` for metric ``name`` in the ``%%track`` cell that is running.

    Called in a loop, each call adds a point; without ``step`` the steps count 0, 1, 2, ...
    """
    from nbmlops.track.tracker import log_metric as _log_metric

    _log_metric(name, value, step)


def last_run() -> str:
    """The MLflow run id of the last ``%%track`` cell this kernel ran.

    Its record is uploaded by the sync process moments after the cell: this waits for it
    (at most 30 seconds). Raises :class:`nbmlops.exceptions.NbmlopsError` when no cell was
    tracked yet, or when its record is not uploaded (autosync off: ``%mlops sync`` first).
    """
    from IPython import get_ipython

    from nbmlops.exceptions import NbmlopsError
    from nbmlops.track import own_runs

    own = own_runs.of_shell(get_ipython())
    if own is None:
        raise NbmlopsError("nbmlops is not loaded here: %load_ext nbmlops, then track a cell")
    return own.last_run_id()


def load_model(reference: str, *, tracking_uri: str | None = None) -> Any:
    """The registered model ``reference`` names (``"churn@champion"``, ``"churn/3"``), from
    the project's store, as the object it was fitted as (an estimator with ``predict``).

    In a ``%%track`` cell the run names the version it loaded, so its predictions trace back
    to the model's training run and data, and the frame the cell scores is compared with the
    data the model was trained on (``monitor/NAME/report.html`` and ``monitor.NAME.*``
    metrics). Raises :class:`nbmlops.exceptions.ModelError` when
    no version matches.
    """
    from nbmlops.models.loading import load
    from nbmlops.store import quiet_downloads
    from nbmlops.track import tracker

    with quiet_downloads():
        model, version = load(reference, tracking_uri)
        tracker.note_tags(version.tags())
        if tracker.tracking() and version.run_id:
            from nbmlops.monitor.predictions import fetch as fetch_predictions
            from nbmlops.monitor.reference import fetch
            from nbmlops.track.scoring import Watched

            summary = fetch(version.tracking_uri, version.run_id, version.name)
            if summary is not None:
                tracker.note_scoring(Watched(version.name, version.version, summary,
                                             fetch_predictions(version.tracking_uri,
                                                               version.run_id, version.name)))
    return model


def compare(
    experiment: str | None = None,
    *,
    cell: str | None = None,
    metric: str | None = None,
    last: int | None = None,
    filter: str = "",
    page_size: int = 25,
    tracking_uri: str | None = None,
) -> Any:
    """The compare panel (an ipywidgets widget) for the runs of ``experiment``, by default
    the current notebook's: what ``%mlops compare`` shows. The runs this kernel's cells just
    made are in it: it first waits for their upload (at most 30 seconds).

    ``cell`` keeps the runs of one tracked cell, ``metric`` orders by that metric (best
    first), ``last`` keeps the N newest runs, ``filter`` is MLflow's search syntax
    (``"metrics.auc > 0.8"``). Raises :class:`nbmlops.exceptions.QueryError` when the
    experiment does not exist or MLflow rejects the filter.
    """
    from nbmlops.panel.widget import compare as _compare

    return _compare(
        experiment, cell=cell, metric=metric, last=last, filter=filter, page_size=page_size,
        tracking_uri=tracking_uri,
    )


# The data functions below are thin wrappers: their modules (fingerprints, profiles,
# expectations) load on first use, and are named in the plural so importing them never
# replaces these functions on the package.


def fingerprint(data: Any) -> str:
    """The full-content fingerprint of ``data``: 32 hex characters (XXH3-128).

    ``data`` is a pandas DataFrame, Series or Index, a NumPy array, a pyarrow Table or
    Array, a polars DataFrame or Series, or a file or folder as a ``pathlib.Path``. Every
    value, column name, column order, dtype and the index count: any change gives another
    fingerprint, equal content the same one in any process and on any machine. It is the
    digest of the data's dataset entry in MLflow, so ``nbmlops lineage FINGERPRINT`` finds
    the runs that read or wrote it. Raises ``nbmlops.data.fingerprints.FingerprintError`` for
    anything else.
    """
    from nbmlops.data.fingerprints import fingerprint as _fingerprint

    return _fingerprint(data)


def profile(data: Any) -> dict[str, Any]:
    """The profile a tracked cell records for ``data`` (artifact ``data/<name>.json``):
    rows, and per column dtype, null fraction, distinct count, min / max / mean / std and
    quantiles of numbers, top values of categories. See :mod:`nbmlops.data.profiles`."""
    from nbmlops.data.profiles import profile as _profile

    return _profile(data)


def expect(data: Any, expectations: Any = None, /, **declaration: Any) -> Any:
    """Check that ``data`` (a pandas DataFrame) meets its declared schema; return it.

    ``expectations`` is a path to a JSON declaration, a dict, or a pandera schema; or give
    the declaration as keywords::

        df = nbmlops.expect(pd.read_csv("users.csv"), "expectations/users.json")
        nbmlops.expect(df, columns={"age": {"dtype": "int64", "min": 0, "max": 120}})

    Raises ``nbmlops.expectations.ExpectationError`` listing what failed; inside a
    ``%%track`` cell the result is recorded on the run too. See :mod:`nbmlops.data.expectations`.
    """
    from nbmlops.data.expectations import expect as _expect

    return _expect(data, expectations, **declaration)

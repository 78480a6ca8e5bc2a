"""A ``%%track --model`` record's models -> logged MLflow models and registered versions.

How a version enters the registry; the sync process calls it from
:func:`nbmlops.sync.upload.upload`, after the run's artifacts and before the run is marked
finished, so a crash half-way leaves a RUNNING run that the next attempt deletes and uploads
afresh; a version registered from such a run carries the record id and is deleted then too,
so a retry never registers a model twice.

The model is logged with MLflow's own flavour where one fits its class (scikit-learn, XGBoost,
LightGBM, PyTorch, CatBoost, statsmodels), else as a pyfunc wrapper around the pickle; the
signature is inferred here from the input example the kernel kept (a few training rows, with
``category`` columns turned into their categories' type, which MLflow's schema can hold); a
version left without one says why (tag, evaluation report, status line). The version is
tagged with the run, the cell's code sha, the data it was trained on, the author and the
metrics, and its evaluation report is logged to the run. It takes the alias ``challenger``
unless a version whose run ended later holds it: uploads come in any order.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import logging
import os
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from nbmlops import store
from nbmlops.models.aliases import ended_later, move_alias, now_iso, quote, serialised
from nbmlops.record import ModelRecord, RunRecord

if TYPE_CHECKING:
    from mlflow import MlflowClient

log = logging.getLogger(__name__)

#: Top-level package of a model's class -> the MLflow flavour module that logs it.
FLAVOURS = {
    "sklearn": "mlflow.sklearn",
    "xgboost": "mlflow.xgboost",
    "lightgbm": "mlflow.lightgbm",
    "torch": "mlflow.pytorch",
    "catboost": "mlflow.catboost",
    "statsmodels": "mlflow.statsmodels",
}
PYFUNC = "mlflow.pyfunc"


def flavour_of(model: ModelRecord) -> str:
    return FLAVOURS.get(model.module.split(".", 1)[0], PYFUNC)


@dataclass
class Registered:
    name: str
    version: str
    flavour: str
    challenger_stays: str | None = None  # the version whose run ended later, keeping the alias
    no_signature: str | None = None  # why the version has no signature

    def receipt(self) -> dict[str, str]:
        """What the status line says of it: its name and version, and what is unusual."""
        found = {"name": self.name, "version": self.version}
        if self.challenger_stays is not None:
            found["challenger_stays"] = self.challenger_stays
        if self.no_signature is not None:
            found["no_signature"] = self.no_signature
        return found


def register_models(
    client: MlflowClient, record: RunRecord, run_id: str, experiment_id: str, files: Path,
    author: str | None, problems: list[str],
) -> list[Registered]:
    """Log and register each model of the record; a model that cannot be loaded or saved is
    one line in ``problems`` (its run is uploaded all the same). MLflow failing to store it
    raises, so the whole record is retried."""
    with _tracking_uri(record.tracking_uri), _experiment(experiment_id):
        return _register_all(client, record, run_id, files, author, problems)


@contextlib.contextmanager
def _experiment(experiment_id: str) -> Iterator[None]:
    """MLflow's active experiment for a while: ``Model.log`` puts the logged model in the
    active experiment, not in its run's, and the default one's artifacts would land in
    ``./mlruns`` of whatever folder the sync process started in."""
    from mlflow.tracking import fluent

    old = fluent._active_experiment_id
    fluent._active_experiment_id = experiment_id  # type: ignore[assignment]
    try:
        yield
    finally:
        fluent._active_experiment_id = old


@contextlib.contextmanager
def _tracking_uri(uri: str) -> Iterator[None]:
    """MLflow's process-wide tracking URI set to ``uri`` for a while, and put back as it was.

    The fluent ``log_model`` logs to it, and MLflow's sqlite registry looks a new version's
    logged model up through it; one sync process serves several stores. MLflow's own
    ``_use_tracking_uri`` unsets ``MLFLOW_TRACKING_URI`` on the way out when no URI was set in
    code, which would send everything after it to ``./mlflow.db``.
    """
    from mlflow.tracking._tracking_service import utils

    env = os.environ.get(_URI_ENV)
    old = utils._tracking_uri
    utils.set_tracking_uri(uri)
    try:
        yield
    finally:
        utils.set_tracking_uri(old)  # type: ignore[arg-type]  # None: none set in code
        if env is None:
            os.environ.pop(_URI_ENV, None)
        else:
            os.environ[_URI_ENV] = env


_URI_ENV = "MLFLOW_TRACKING_URI"


def _register_all(
    client: MlflowClient, record: RunRecord, run_id: str, files: Path, author: str | None,
    problems: list[str],
) -> list[Registered]:
    done = []
    for model in record.models:
        try:
            obj, example = _load(files, model)
        except Exception as e:
            problems.append(f"model {model.variable}: cannot be unpickled by the sync process: "
                            f"{type(e).__name__}: {e}")
            continue
        flavour = flavour_of(model)
        try:
            info, no_signature = _log_model(run_id, files, model, obj, example, flavour)
        except _LocalFailure as e:
            problems.append(f"model {model.variable}: {e}")
            continue
        if store.REPRODUCES_TAG in record.tags:
            # A reproduction re-makes the model to compare its run, not to offer it: a new
            # version would become the challenger and push the model it checks aside.
            continue
        version = _register(client, record, run_id, model, info, author, no_signature)
        # A record without an end time (never written so, but possible) counts as just ended.
        ended = record.outcome.end_ms or int(time.time() * 1000)
        stays = claim_challenger(client, model.name, version, ended, author)
        done.append(Registered(model.name, version, flavour, stays, no_signature))
        report = evaluation_report(record, model, version, flavour, run_id)
        report["signature"] = _signature_dict(info)
        report["no_signature"] = no_signature
        report["challenger_stays"] = stays
        report["captions"] = _captions(files)
        client.log_text(run_id, json.dumps(report, indent=1), store.evaluation_artifact(
            model.name, version))
        if model.reference and (files / model.reference).is_file():
            client.log_artifact(run_id, str(files / model.reference),
                                str(PurePosixPath(store.monitoring_reference_artifact(
                                    model.name)).parent))
            # Its predictions on its evaluation data, when the cell had some, go beside it.
            predicted = files / store.model_spool_path(model.variable, "predictions.json")
            if predicted.is_file():
                client.log_artifact(run_id, str(predicted), str(PurePosixPath(
                    store.monitoring_predictions_artifact(model.name)).parent))
    return done


def claim_challenger(
    client: MlflowClient, name: str, version: str, ended: int, author: str | None
) -> str | None:
    """Give ``challenger`` to the new ``version`` of ``name`` (its run ended at ``ended``, ms)
    unless a version whose run ended later holds it; that version (None when it moved).
    Decided and moved under the registry's lock: two sync processes registering versions of
    one model at once would each find their own newest and both move."""
    with serialised(client):
        stays = ended_later(client, name, version, ended)
        if stays is None:
            move_alias(client, name, store.CHALLENGER, version, how="registered", by=author)
    return stays


def discard_logged_models(client: MlflowClient, experiment_id: str, run_id: str) -> None:
    """The logged models of a half-uploaded run being deleted: those still PENDING (the sync
    process was killed inside ``Model.log``, which finalizes them only when it returns) are
    finalized FAILED and deleted with their run; the record's retry logs its models afresh."""
    token = None
    while True:
        # MLflow's store cannot filter on the status: the run has one or two models anyway.
        page = client.search_logged_models([experiment_id],
                                           filter_string=f"source_run_id = '{run_id}'",
                                           max_results=100, page_token=token)
        for model in page:
            if str(getattr(model.status, "name", model.status)) != "PENDING":
                continue
            client.finalize_logged_model(model.model_id, "FAILED")
            client.delete_logged_model(model.model_id)
        token = page.token
        if not token:
            return


def _captions(files: Path) -> dict[str, str]:
    """The titles of the cell's figures, by figure name."""
    try:
        found = json.loads((files / store.FIGURE_CAPTIONS_ARTIFACT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _signature_dict(info: Any) -> dict[str, Any] | None:
    signature = getattr(info, "signature", None)
    return None if signature is None else dict(signature.to_dict())


class _LocalFailure(Exception):
    """Saving the model failed here, before MLflow stored anything: no retry helps."""


def _load(files: Path, model: ModelRecord) -> tuple[Any, Any]:
    import cloudpickle

    with open(files / model.file, "rb") as f:  # streamed: never the pickle and the object
        obj = cloudpickle.load(f)
    example = None
    if model.example and (files / model.example).is_file():
        with contextlib.suppress(Exception):
            example = cloudpickle.loads((files / model.example).read_bytes())
    return obj, example


def _log_model(
    run_id: str, files: Path, model: ModelRecord, obj: Any, example: Any, flavour: str
) -> tuple[Any, str | None]:
    """Log ``obj`` to the run with ``flavour``; the ModelInfo, and why it has no signature
    (None when it has one)."""
    import importlib

    from mlflow.exceptions import MlflowException
    from mlflow.models import Model

    requirements = files / store.REQUIREMENTS_ARTIFACT
    kwargs: dict[str, Any] = {
        "name": model.variable,
        # The kernel's imported packages: MLflow's own inference would start a subprocess.
        "pip_requirements": str(requirements) if requirements.is_file() else None,
    }
    no_signature: str | None = NO_EXAMPLE
    if example is not None:
        example = mlflow_example(example)
        kwargs["input_example"] = example
        # Inferred here rather than by the flavour: MLflow's own attempt fails quietly on
        # what it cannot enforce, and leaves the version without one.
        kwargs["signature"], no_signature = signature_of(obj, example)
    module = importlib.import_module(flavour)
    if flavour == PYFUNC:
        from nbmlops.models.pickled_model import PickledModel

        kwargs["python_model"] = PickledModel()
        kwargs["artifacts"] = {"model": str(files / model.file)}
    else:
        # Each flavour's save_model names its model argument its own way (sk_model, ...).
        kwargs[next(iter(inspect.signature(module.save_model).parameters))] = obj
        if flavour == "mlflow.sklearn":
            # skops refuses to load types it was not told to trust; the kernel's pickle is
            # what the user made.
            kwargs["serialization_format"] = "cloudpickle"
    try:
        with _quiet():
            # Model.log is what every flavour's log_model calls; only it takes the run's id
            # (the sync process has no active run).
            info = Model.log(artifact_path=None, flavor=module, run_id=run_id, **kwargs)
    except MlflowException:
        raise
    except (OSError, ConnectionError):
        raise
    except Exception as e:  # the flavour could not save this object
        raise _LocalFailure(f"MLflow's {flavour} could not save it: {type(e).__name__}: "
                            f"{' '.join(str(e).split())[:300]}") from None
    if getattr(info, "signature", None) is not None:
        return info, None
    return info, no_signature or "MLflow stored none"


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """No pickle-safety lectures or progress lines from MLflow in the sync log."""
    logger = logging.getLogger("mlflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


#: Why a model registered without an input example has no signature.
NO_EXAMPLE = ("no input example: no frame or array of the cell has the model's input columns "
              "(name its training data with --data)")


def mlflow_example(example: Any) -> Any:
    """``example`` as MLflow's schema can hold it: a pandas ``category`` column becomes a
    column of its categories' type (strings, numbers), which is what a served model receives
    from MLflow's JSON input anyway. Anything else is returned as it is."""
    dtypes = getattr(example, "dtypes", None)
    if dtypes is None or not hasattr(example, "columns"):
        return example
    names = [c for c, dtype in dtypes.items() if str(dtype) == "category"]
    if not names:
        return example
    example = example.copy()
    for name in names:
        example[name] = example[name].astype(example[name].cat.categories.dtype)
    return example


def signature_of(obj: Any, example: Any) -> tuple[Any, str | None]:
    """The signature of ``obj`` on ``example``: inputs and outputs, else inputs only when
    predicting fails; else None and why."""
    from mlflow.models import infer_signature

    with _quiet():
        try:
            predict = getattr(obj, "predict", None) or obj
            return infer_signature(example, predict(example)), None
        except Exception:
            pass
        try:
            return infer_signature(example), None
        except Exception as e:
            return None, f"MLflow cannot infer one from the input example: {type(e).__name__}: " \
                         f"{' '.join(str(e).split())[:200]}"


def _register(
    client: MlflowClient, record: RunRecord, run_id: str, model: ModelRecord, info: Any,
    author: str | None, no_signature: str | None = None,
) -> str:
    from mlflow.exceptions import MlflowException

    with contextlib.suppress(MlflowException):  # it exists already: the usual case
        client.create_registered_model(model.name)
    flt = f"name = '{quote(model.name)}' and tags.`{store.RECORD_ID_TAG}` = '{record.record_id}'"
    for old in client.search_model_versions(flt):
        if old.run_id == run_id:
            return str(old.version)  # registered before the sync process stopped
        # From a run a crash left half-uploaded, deleted since: it must not stay.
        client.delete_model_version(model.name, old.version)
    tags = version_tags(record, model, run_id, author)
    if no_signature:
        tags[store.MODEL_SIGNATURE_TAG] = no_signature[:store.MAX_TAG_VALUE]
    version = client.create_model_version(
        model.name, source=info.model_uri, run_id=run_id, tags=tags,
        model_id=getattr(info, "model_id", None),
    )
    return str(version.version)


def last_metrics(record: RunRecord) -> dict[str, float]:
    """Each metric's last value (highest step, then latest time): what a gate compares."""
    best: dict[str, tuple[int, int, float]] = {}
    for p in record.metrics:
        key = (int(p.step), int(p.timestamp_ms), float(p.value))
        if p.name not in best or key[:2] >= best[p.name][:2]:
            best[p.name] = key
    return {name: value for name, (_, _, value) in best.items()}


def version_tags(
    record: RunRecord, model: ModelRecord, run_id: str, author: str | None
) -> dict[str, str]:
    tags = {
        store.RECORD_ID_TAG: record.record_id,
        store.MODEL_RUN_TAG: run_id,
        store.CODE_SHA_TAG: record.code_sha,
        store.NOTEBOOK_TAG: record.notebook,
        # A job's version: the notebook the job came from lists it among its models.
        store.SOURCE_NOTEBOOK_TAG: record.tags.get(store.SOURCE_NOTEBOOK_TAG, ""),
        store.MODEL_VARIABLE_TAG: model.variable,
        store.MODEL_AUTHOR_TAG: author or "",
        store.MODEL_JOB_RUN_TAG: record.parent_run_id or "",
        store.MODEL_RUN_ENDED_TAG: str(record.outcome.end_ms or ""),
        # The data the cell read, and what it made itself (a split, features) before fitting.
        store.MODEL_DATA_TAG: "\n".join(dict.fromkeys(
            f"{d.name}={d.fingerprint}"
            for d in sorted(record.datasets, key=lambda d: d.context != "input")
        ))[:store.MAX_TAG_VALUE],
    }
    for name, value in last_metrics(record).items():
        tags[f"{store.MODEL_METRIC_TAG_PREFIX}{name}"] = repr(value)
    return {k: v for k, v in tags.items() if v}


def evaluation_report(
    record: RunRecord, model: ModelRecord, version: str, flavour: str, run_id: str
) -> dict[str, Any]:
    """The evaluation report of a new version: its metrics, the data it was trained and
    evaluated on, the cell's plots; the gate results are added by each promotion."""
    return {
        "model": model.name,
        "version": version,
        "run_id": run_id,
        "registered_at": now_iso(),
        "flavour": flavour,
        "class": f"{model.module}.{model.class_name}",
        "notebook": record.notebook,
        "code_sha": record.code_sha,
        "metrics": last_metrics(record),
        "data": [
            {"name": d.name, "context": d.context, "kind": d.kind, "fingerprint": d.fingerprint,
             "shape": list(d.shape)}
            for d in record.datasets
        ],
        "input_example_of": model.example_of,
        "plots": [a for a in record.artifacts if a.startswith(store.FIGURES_FOLDER + "/")
                  and a != store.FIGURE_CAPTIONS_ARTIFACT],
        "gates": [],
    }

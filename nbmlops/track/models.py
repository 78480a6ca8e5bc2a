"""``%%track --model VAR[=NAME]`` in the kernel: the model object and a few rows of the data
it was trained on, pickled into the record.

Only pickling happens here (cloudpickle, so a class defined in the notebook travels with the
object); the sync process unpickles it, chooses the MLflow flavour, infers the signature from
the example and registers the version. The kernel never imports mlflow.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, BinaryIO

from nbmlops import redact, store
from nbmlops.record import ModelRecord
from nbmlops.sync.spool import Staging

#: Rows of the training data kept as the input example: enough for a signature, small enough
#: to cost nothing.
EXAMPLE_ROWS = 5
#: Rows of the training data summarised as the monitoring reference; a larger frame is
#: sampled (a million rows pin every bin of the reference within a tenth of a percent).
REFERENCE_ROWS = 1_000_000


def _dumps(value: Any) -> bytes:
    try:
        import cloudpickle

        return bytes(cloudpickle.dumps(value))
    except ImportError:  # pragma: no cover - mlflow depends on cloudpickle
        import pickle

        return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def _dump(value: Any, file: BinaryIO) -> None:
    """Pickle ``value`` into ``file``: large buffers (an array's weights) go straight to it,
    never into a copy in memory."""
    try:
        import cloudpickle

        cloudpickle.dump(value, file)
    except ImportError:  # pragma: no cover - mlflow depends on cloudpickle
        import pickle

        pickle.dump(value, file, protocol=pickle.HIGHEST_PROTOCOL)


def capture(
    wanted: Iterable[tuple[str, str]],
    namespace: Mapping[str, Any],
    candidates: Iterable[str],
    staging: Staging,
    problems: list[str],
) -> list[ModelRecord]:
    """Pickle each wanted model into ``staging``; what cannot be is one line in ``problems``
    (the rest of the run is recorded all the same). ``candidates`` are the names the cell
    read or bound, in order, where the training data is looked for."""
    found: list[ModelRecord] = []
    candidates = list(dict.fromkeys(candidates))
    for variable, name in wanted:
        if variable not in namespace:
            problems.append(f"--model {variable}: no such variable after the cell ran")
            continue
        model = namespace[variable]
        record = ModelRecord(
            variable=variable, name=name, file=store.model_spool_path(variable, "model.pkl"),
            module=type(model).__module__, class_name=type(model).__qualname__,
        )
        try:
            with staging.stream(record.file) as out:
                _dump(model, out)
        except Exception as e:
            problems.append(f"--model {variable}: cannot serialise {type(model).__name__}: "
                            f"{type(e).__name__}: {e}")
            continue
        data = training_data(model, namespace, candidates)
        if data is not None:
            source, rows = data
            try:
                record.example = store.model_spool_path(variable, "input_example.pkl")
                staging.write_bytes(record.example, _dumps(redacted_example(_head(rows))))
                record.example_of = source
            except Exception:  # a model without an example still gets registered
                record.example = None
            record.reference = monitoring_reference(rows, variable, staging)
            if record.reference:
                evaluation_predictions(model, namespace, candidates, source, staging, variable)
        found.append(record)
    return found


def input_example(
    model: Any, namespace: Mapping[str, Any], candidates: Iterable[str]
) -> tuple[str, Any] | None:
    """``(variable, first rows)`` of the data the model was most likely fitted on (see
    :func:`training_data`). None when none fits: the model is then registered without a
    signature."""
    found = training_data(model, namespace, candidates)
    if found is None:
        return None
    name, data = found
    return name, _head(data)


def _head(data: Any) -> Any:
    return (data.head(EXAMPLE_ROWS) if hasattr(data, "iloc") else data[:EXAMPLE_ROWS]).copy()


def training_data(
    model: Any, namespace: Mapping[str, Any], candidates: Iterable[str]
) -> tuple[str, Any] | None:
    """``(variable, data)``: the data the model was most likely fitted on, a 2-D frame or
    array of the cell whose width is the model's ``n_features_in_`` (a frame must hold its
    ``feature_names_in_``, and only those columns are kept); names with ``train`` in them
    first."""
    width = getattr(model, "n_features_in_", None)
    if not isinstance(width, int):
        return None
    columns = getattr(model, "feature_names_in_", None)
    names = sorted(candidates, key=lambda n: "train" not in n.lower())
    for name in names:
        value = namespace.get(name)
        if value is None:
            continue
        shape = getattr(value, "shape", None)
        if value is model or not isinstance(shape, tuple) or len(shape) != 2 or shape[0] < 1:
            continue
        if hasattr(value, "iloc") and hasattr(value, "columns"):  # a pandas frame
            if columns is not None:
                wanted = [str(c) for c in columns]
                if not set(wanted) <= {str(c) for c in value.columns}:
                    continue
                return name, value[list(columns)]
            if shape[1] == width:
                return name, value
        elif shape[1] == width and columns is None and hasattr(value, "dtype"):
            return name, value
    return None


def monitoring_reference(data: Any, variable: str, staging: Staging) -> str | None:
    """What scoring runs will watch the model against: its training frame summarised
    (:mod:`nbmlops.monitor.reference`) into the entry; None for arrays and on any failure
    (the model is registered all the same, unmonitored)."""
    if not (hasattr(data, "iloc") and hasattr(data, "columns")):
        return None
    try:
        from nbmlops.monitor import reference

        path = store.model_spool_path(variable, "reference.json")
        built = reference.build(data.sample(n=REFERENCE_ROWS, random_state=0)
                                if len(data) > REFERENCE_ROWS else data)
        staging.write_bytes(path, built.encoded())
        return path
    except Exception:
        return None


def evaluation_predictions(model: Any, namespace: Mapping[str, Any], candidates: Iterable[str],
                           training: str, staging: Staging, variable: str) -> str | None:
    """What scoring runs will watch the model's predictions against: its predictions on its
    evaluation data (:mod:`nbmlops.monitor.predictions`), beside the reference; None when the
    cell has no evaluation frame, and on any failure (the model is registered all the same)."""
    try:
        from nbmlops.monitor import predictions

        found = predictions.evaluation_data(model, namespace, candidates, training)
        if found is None:
            return None
        built = predictions.build(model, found[1], found[0])
        if built is None:
            return None
        path = store.model_spool_path(variable, "predictions.json")
        staging.write_bytes(path, built.encoded())
        return path
    except Exception:
        return None


def redacted_example(rows: Any) -> Any:
    """The example rows as they may be stored with the model (MLflow writes them out as its
    input examples): a secret-named column's values become the placeholder, or a zero of the
    column's type when it holds no text, so the signature keeps every column and its type;
    credential-looking text anywhere else is redacted. ``rows`` is a copy of the user's."""
    if hasattr(rows, "columns") and hasattr(rows, "dtypes"):
        # By position: a name may label several columns.
        for i, name in enumerate(list(rows.columns)):
            column = rows.iloc[:, i]
            if redact.is_secret_name(str(name)):
                rows.isetitem(i, _blank(column))
            elif _holds_text(column.dtype):
                # Categories that were redacted are new ones: the old type cannot hold them.
                category = str(column.dtype) == "category"
                rows.isetitem(i, column.map(_redact_cell).astype(
                    "category" if category else column.dtype))
        return rows
    dtype = getattr(rows, "dtype", None)
    if dtype is not None and getattr(dtype, "kind", "") in ("O", "U"):
        import numpy as np

        cleaned = np.array([_redact_cell(v) for v in rows.ravel()], dtype=object)
        return cleaned.reshape(rows.shape).astype(str if dtype.kind == "U" else object)
    return rows


def _redact_cell(value: Any) -> Any:
    return redact.redact_value(value) if isinstance(value, str) else value


def _holds_text(dtype: Any) -> bool:
    """Object, string and category columns (a category's values are its categories)."""
    return getattr(dtype, "kind", "O") in ("O", "U", "S")


def _blank(column: Any) -> Any:
    """A column of the same length, index and type whose values tell nothing."""
    import pandas as pd

    dtype = column.cat.categories.dtype if str(column.dtype) == "category" else column.dtype
    filler: Any = redact.PLACEHOLDER if _holds_text(dtype) else 0
    blank = pd.Series([filler] * len(column), index=column.index, dtype=object)
    try:
        return blank.astype(dtype)
    except (TypeError, ValueError):  # a type no zero converts to: the secret goes all the same
        return pd.Series([redact.PLACEHOLDER] * len(column), index=column.index, dtype=object)

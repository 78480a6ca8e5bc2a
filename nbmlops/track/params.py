"""The parameters of a run: everything plain the cell was given, not only its own literals.

A notebook's hyperparameters rarely live in the cell that uses them: papermill injects them
after a ``parameters`` cell, an earlier cell sets them, ``nbmlops run`` hands them in. So a
run records, besides the literals its cell assigns (:mod:`nbmlops.track.capture`):

- every plain value the cell reads from the notebook (bool, int, float, str, None, enums,
  paths, short lists and tuples of those), as it was when the cell started, or as the cell
  left it when the cell rebound it (``lr = lr * 0.1``);
- the hyperparameters of every estimator the cell creates, fits or uses (the scikit-learn
  ``get_params()`` protocol: scikit-learn, XGBoost, LightGBM, CatBoost, skorch ...) as
  ``NAME.param``, nested pipelines flattened; a PyTorch module's class and parameter count.

Where each came from is said in tags (:data:`SOURCE_TAGS`). Pure: values in, text out; no
import of numpy, torch or scikit-learn.
"""

from __future__ import annotations

import ast
import contextlib
import enum
import numbers
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import PurePath
from typing import Any

from nbmlops import store

#: Longest list or tuple that is still a parameter; a longer one is data.
MAX_ITEMS = 20
#: Estimator hyperparameters kept per run; the rest are counted in a tag.
MAX_ESTIMATOR_PARAMS = 100
#: Longest text of one estimator hyperparameter (a nested object's repr is cut here).
MAX_TEXT = 250
#: The comment papermill puts on top of the cell it injects.
_INJECTED_HEADER = "# Parameters"


@dataclass
class RunParams:
    """Parameters found outside the cell's literals, and the tags saying where from."""

    values: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


def plain_text(value: Any) -> str | None:
    """The text a plain value is recorded as; None when the value is not a parameter
    (frames, arrays, models, functions, modules, long lists are not)."""
    plain = _plain(value)
    if plain is _NOT_PLAIN:
        return None
    return plain if isinstance(plain, str) else repr(plain)


_NOT_PLAIN = object()


def _plain(value: Any, depth: int = 0) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, enum.Enum):
        return str(value)
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, numbers.Real | numbers.Complex) and not hasattr(value, "shape"):
        return value
    if getattr(value, "shape", None) == () and callable(getattr(value, "item", None)):
        kind = getattr(getattr(value, "dtype", None), "kind", "")
        if kind in "biuf":  # a NumPy scalar: its Python value (0.1, not np.float64(0.1))
            return value.item()
        return _NOT_PLAIN
    if isinstance(value, list | tuple) and depth == 0 and len(value) <= MAX_ITEMS:
        items = [_plain(v, depth + 1) for v in value]
        if any(i is _NOT_PLAIN or isinstance(i, list | tuple) for i in items):
            return _NOT_PLAIN
        return type(value)(items)
    return _NOT_PLAIN


def read_values(namespace: Mapping[str, Any], names: Iterable[str]) -> dict[str, str]:
    """The plain values among ``names`` in ``namespace`` (what a cell reads, before it runs).
    Names starting with ``_`` are IPython's history and the user's private helpers."""
    found = {}
    for name in names:
        if name.startswith("_") or name not in namespace:
            continue
        text = plain_text(namespace[name])
        if text is not None:
            found[name] = text
    return found


def _injected_cells(history: Sequence[Any]) -> Iterator[ast.Module]:
    """The cells papermill injected, parsed, oldest first."""
    for source in history:
        if not isinstance(source, str) or not source.lstrip().startswith(_INJECTED_HEADER):
            continue
        try:
            yield ast.parse(source)
        except (SyntaxError, ValueError):
            continue


def injected_names(history: Sequence[Any]) -> set[str]:
    """Names assigned by the cells papermill injected (``nbmlops run`` injects through
    papermill too), found in the kernel's input history."""
    names: set[str] = set()
    for tree in _injected_cells(history):
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    return names


def injected_values(
    history: Sequence[Any], namespace: Mapping[str, Any], names: Iterable[str] = ()
) -> dict[str, str]:
    """Every value injected into this kernel, as text: the literals of papermill's injected
    cells (the last one wins), and ``names`` (those ``nbmlops run`` says it injected) not
    found there, from ``namespace``. A run records them all, read by its cell or not."""
    found: dict[str, str] = {}
    for tree in _injected_cells(history):
        for stmt in tree.body:
            if not isinstance(stmt, ast.Assign):
                continue
            for target in stmt.targets:
                if not isinstance(target, ast.Name):
                    continue
                try:
                    text = plain_text(ast.literal_eval(stmt.value))
                except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                    text = None  # not a literal: what the kernel holds under the name
                if text is None:
                    text = plain_text(namespace.get(target.id))
                if text is not None:
                    found[target.id] = text
    for name in names:
        if name not in found and name in namespace:
            text = plain_text(namespace[name])
            if text is not None:
                found[name] = text
    return found


def estimator_params(
    namespace: Mapping[str, Any], names: Iterable[str]
) -> dict[str, str]:
    """``NAME.param`` of each estimator among ``names``: its ``get_params()`` (nested steps
    as ``NAME.step.param``), a Keras model's class, parameter and layer counts, or a PyTorch
    module's class and parameter count."""
    found: dict[str, str] = {}
    owned = _owned(namespace, names)
    for name in dict.fromkeys(names):
        obj = namespace.get(name)
        if obj is None or isinstance(obj, type) or name.startswith("_"):
            continue
        if id(obj) in owned:
            continue  # recorded once, through the estimator that holds it (see _owned)
        owned.add(id(obj))  # the same object under a second name is not recorded again
        get_params = getattr(obj, "get_params", None)
        if callable(get_params):
            params = _get_params(obj)
            if params is not None:
                for key, value in sorted(params.items(), key=lambda kv: str(kv[0])):
                    found[f"{name}.{str(key).replace('__', '.')}"] = estimator_text(value)
        elif _is_keras_model(obj):
            found[f"{name}.class"] = type(obj).__name__
            with contextlib.suppress(Exception):  # a model not built yet has no weights
                found[f"{name}.parameters"] = str(int(obj.count_params()))
            found[f"{name}.layers"] = str(len(getattr(obj, "layers", ())))
        elif _is_torch_module(obj):
            found[f"{name}.class"] = type(obj).__name__
            with contextlib.suppress(Exception):  # a module in the middle of being built
                found[f"{name}.parameters"] = str(sum(p.numel() for p in obj.parameters()))
    return found


def _get_params(obj: Any) -> Mapping[Any, Any] | None:
    """``obj.get_params(deep=True)``; None when a half-built estimator cannot say."""
    try:
        params = obj.get_params(deep=True)
    except TypeError:
        try:
            params = obj.get_params()
        except Exception:
            return None
    except Exception:
        return None
    return params if isinstance(params, Mapping) else None


def _is_estimator(value: Any) -> bool:
    return not isinstance(value, type) and callable(getattr(value, "get_params", None))


def _owned(namespace: Mapping[str, Any], names: Iterable[str]) -> set[int]:
    """Ids of the estimators nested in another estimator among ``names``.

    A step built in one cell (``pre = ColumnTransformer(...)``) and used in a pipeline
    (``pipe = Pipeline([("pre", pre), ...])``) is recorded once, through its owner
    (``pipe.pre.*``), not again as ``pre.*``: the owner's keys say where the setting acts in
    the model that is fitted, and two runs line up by the model even when its steps were
    built under other names."""
    owned: set[int] = set()
    for name in dict.fromkeys(names):
        obj = namespace.get(name)
        if name.startswith("_") or not _is_estimator(obj):
            continue
        for value in (_get_params(obj) or {}).values():
            if _is_estimator(value) and value is not obj:
                owned.add(id(value))
    return owned


def estimator_text(value: Any) -> str:
    """How an estimator's hyperparameter is written: a plain value as itself, a nested
    estimator by its class, a pipeline's steps by their names, cut at :data:`MAX_TEXT`."""
    text = plain_text(value)
    if text is None:
        if _is_estimator(value):
            # A nested estimator is named by its class; its own parameters follow as keys.
            text = type(value).__name__
        elif _is_steps(value):
            # A pipeline's steps (a column transformer's transformers) are named, in order:
            # what each holds follows as its own keys, so their repr would say it twice.
            text = ", ".join(str(step[0]) for step in value)
        else:
            text = repr(value)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 3] + "..."


def _is_steps(value: Any) -> bool:
    return (isinstance(value, list | tuple) and bool(value) and all(
        isinstance(step, tuple) and len(step) >= 2 and isinstance(step[0], str)
        for step in value) and any(_is_estimator(step[1]) for step in value))


@lru_cache(maxsize=256)
def passed_names(source: str) -> frozenset[tuple[str, str]]:
    """``(keyword, name)`` of each call in ``source`` that passes a notebook value by name:
    ``GradientBoostingClassifier(learning_rate=learning_rate)``, ``random_state=seed``."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return frozenset()
    return frozenset(
        (kw.arg, kw.value.id) for node in ast.walk(tree) if isinstance(node, ast.Call)
        for kw in node.keywords if kw.arg and isinstance(kw.value, ast.Name))


def shown_once(
    estimators: Mapping[str, str], passed: Iterable[tuple[str, str]], values: Mapping[str, str],
) -> dict[str, str]:
    """``estimators`` without the hyperparameters the cell passed from a value the run
    records by its own name: ``learning_rate`` (read from an earlier cell, or a literal)
    given as ``clf = GradientBoostingClassifier(learning_rate=learning_rate)`` is one
    parameter, recorded as ``learning_rate`` (the name papermill injects and a comparison
    of runs shows), not again as ``clf.learning_rate``."""
    by_keyword: dict[str, set[str]] = {}
    for keyword, name in passed:
        if name in values:
            by_keyword.setdefault(keyword, set()).add(values[name])
    return {key: text for key, text in estimators.items()
            if text not in by_keyword.get(key.rsplit(".", 1)[-1], ())}


def model_summaries(namespace: Mapping[str, Any], names: Iterable[str]) -> dict[str, str]:
    """A Keras model's layer summary (``model.summary()``) by the artifact path it is kept
    at, for each Keras model among ``names``."""
    found: dict[str, str] = {}
    for name in dict.fromkeys(names):
        obj = namespace.get(name)
        if obj is None or isinstance(obj, type) or not _is_keras_model(obj):
            continue
        try:
            found[store.model_summary_artifact(name)] = _keras_summary(obj)
        except Exception:
            continue  # a model that cannot describe itself yet (not built)
    return found


def _keras_summary(model: Any) -> str:
    lines: list[str] = []
    model.summary(print_fn=lambda text, *_, **__: lines.append(str(text)))
    return "\n".join(lines) + "\n"


def _is_keras_model(obj: Any) -> bool:
    # Keras 3 (any backend) and tf.keras / tf_keras 2, without importing either.
    return any(
        c.__name__ in ("Model", "Functional", "Sequential")
        and c.__module__.split(".")[0] in ("keras", "tf_keras")
        and callable(getattr(obj, "summary", None))
        for c in type(obj).__mro__
    )


def _is_torch_module(obj: Any) -> bool:
    return any(
        c.__module__ == "torch.nn.modules.module" and c.__name__ == "Module"
        for c in type(obj).__mro__
    )


def run_params(
    *,
    read_before: Mapping[str, str],
    namespace: Mapping[str, Any],
    rebound: Iterable[str],
    injected: Iterable[str],
    estimators: Mapping[str, str],
    skip: Iterable[str] = (),
    passed: Iterable[tuple[str, str]] = (),
    literals: Mapping[str, str] | None = None,
    injected_values: Mapping[str, str] | None = None,
) -> RunParams:
    """What the run records besides its literals.

    ``read_before`` are the plain values the cell read (as it started); a name the cell
    ``rebound`` is recorded as the cell left it. ``skip`` are names recorded otherwise
    (metrics, the cell's own literals: ``literals``). ``injected`` names came from papermill
    or a job; ``injected_values`` are all the values injected into the kernel
    (:func:`injected_values`), recorded whether the cell reads them or not. An estimator's
    hyperparameter the cell ``passed`` from one of these values (:func:`passed_names`) is
    recorded once, by the value's name (:func:`shown_once`).
    """
    skipped, rebound = set(skip), set(rebound)
    injected = set(injected) | set(injected_values or {})
    # Injected values the cell does not read belong to the run all the same.
    read_before = {**{n: v for n, v in (injected_values or {}).items()
                      if n not in read_before}, **read_before}
    out = RunParams()
    came_in: list[str] = []
    earlier: list[str] = []
    changed: list[str] = []
    for name, before in read_before.items():
        if name in skipped:
            continue
        value = before
        if name in rebound:
            after = plain_text(namespace.get(name)) if name in namespace else None
            if after is not None and after != before:
                value = after
                changed.append(name)
        out.values[name] = value
        (came_in if name in injected else earlier).append(name)
    estimators = shown_once(estimators, passed, {**out.values, **(literals or {})})
    kept = dict(list(estimators.items())[:MAX_ESTIMATOR_PARAMS])
    out.values.update(kept)
    for tag, names in ((store.PARAMS_INJECTED_TAG, came_in),
                       (store.PARAMS_EARLIER_TAG, earlier),
                       (store.PARAMS_CHANGED_TAG, changed)):
        if names:
            out.tags[tag] = ",".join(sorted(names))
    if len(estimators) > len(kept):
        out.tags[store.PARAMS_OMITTED_TAG] = str(len(estimators) - len(kept))
    return out

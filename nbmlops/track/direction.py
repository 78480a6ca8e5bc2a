"""Which value of a metric is better: from what computed it when the code says, else its name.

``score = mean_squared_error(y, pred)`` is lower-is-better although ``score`` reads as
higher-is-better: the cell's code is the better witness. :func:`of_code` reads it statically
(the call that produced each assigned name: scikit-learn's ``*_error`` / ``*_loss``
functions are lower-is-better, ``*_score`` ones higher; a ``scoring="neg_..."`` scorer is
higher-is-better, as every scikit-learn scorer; a unary minus turns it round). The run
records what the code said as a tag per metric (:func:`nbmlops.store.direction_tag`), so
the comparison of runs, the panel and the sidebar read one answer. :func:`of_name` is the
rule by name alone, for metrics the code says nothing about.

Pure: source text and names in, ``"min"`` / ``"max"`` out.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Literal

from nbmlops import store

Direction = Literal["min", "max"]

#: Name words of metrics where lower is better, and where higher is better. A metric name is
#: split into words at ``_ . - /`` and read from its last word back: ``val_loss`` -> min,
#: ``r2_score`` -> max, ``mean_squared_error`` -> min.
LOWER_IS_BETTER = frozenset({
    "loss", "error", "err", "errors", "rmse", "mae", "mse", "mape", "rmsle", "msle",
    "logloss", "perplexity", "wer", "cer",
})
HIGHER_IS_BETTER = frozenset({
    "acc", "accuracy", "auc", "f1", "precision", "recall", "r2", "score", "map", "ndcg",
})
_WORD = re.compile(r"[^a-z0-9]+")

#: The last word of a function's name that makes a call evidence of a metric's direction:
#: scikit-learn's metric functions (``mean_squared_error``, ``log_loss``, ``accuracy_score``,
#: ``cross_val_score``) and functions named like them.
_CALL_WORDS: dict[str, Direction] = {"error": "min", "loss": "min", "score": "max"}


def of_name(name: str) -> Direction | None:
    """``"min"`` / ``"max"`` by the words of ``name``; None when they do not tell.
    scikit-learn's ``neg_`` scorers (``neg_mean_squared_error``) are higher-is-better."""
    words = [w for w in _WORD.split(name.lower()) if w]
    for word in reversed(words):
        found: Direction | None = None
        if word in LOWER_IS_BETTER:
            found = "min"
        elif word in HIGHER_IS_BETTER or word.startswith("acc"):
            found = "max"
        if found is not None:
            return "max" if words[0] == "neg" else found
    return None


@lru_cache(maxsize=256)
def of_code(source: str) -> dict[str, Direction]:
    """The direction of each name a cell assigns at its top level from a metric's call:
    ``rmse = np.sqrt(mean_squared_error(y, p))`` -> min, ``score = -cross_val_score(m, X, y,
    scoring="neg_mean_absolute_error").mean()`` -> min. A later assignment of the name that
    says nothing drops what an earlier one said."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return {}
    found: dict[str, Direction] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign):
            targets, value = stmt.targets, stmt.value
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            targets, value = [stmt.target], stmt.value
        else:
            continue
        direction = _of_expression(value)
        for target in targets:
            if not isinstance(target, ast.Name):
                continue
            if direction is None:
                found.pop(target.id, None)
            else:
                found[target.id] = direction
    return found


def _of_expression(node: ast.expr) -> Direction | None:
    """What ``node`` computes: the first metric call from the outside in, through wrappers
    (``float()``, ``np.sqrt()``, ``.mean()``, ``round()``), turned round by a unary minus."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        operand = _of_expression(node.operand)
        return None if operand is None else ("max" if operand == "min" else "min")
    if isinstance(node, ast.Call):
        scorer = _scoring(node)
        if scorer is not None:
            return scorer
        word = _last_word(_call_name(node.func))
        if word in _CALL_WORDS:
            return _CALL_WORDS[word]
        inner_nodes = [*node.args, *(kw.value for kw in node.keywords)]
        if isinstance(node.func, ast.Attribute):  # ``cross_val_score(...).mean()``
            inner_nodes.insert(0, node.func.value)
        for inner in inner_nodes:
            said = _of_expression(inner)
            if said is not None:
                return said
    return None


def _scoring(call: ast.Call) -> Direction | None:
    """A ``scoring="..."`` string: every scikit-learn scorer is greater-is-better (the
    errors are negated: ``neg_mean_squared_error``)."""
    for kw in call.keywords:
        if kw.arg == "scoring" and isinstance(kw.value, ast.Constant) and isinstance(
                kw.value.value, str):
            return "max"
    return None


def _call_name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _last_word(name: str) -> str:
    words = [w for w in _WORD.split(name.lower()) if w]
    return words[-1] if words else ""


def tags(source: str, metrics: Iterable[str]) -> dict[str, str]:
    """The run's tags for the ``metrics`` whose direction the cell's code says."""
    said = of_code(source)
    return {store.DIRECTION_TAG_PREFIX + name: said[name] for name in metrics if name in said}

"""The configuration reference, from ``nbmlops/config.py``: every ``[tool.nbmlops]`` key it
knows (``KNOWN_KEYS``) and every environment variable it reads, each with the docstring of the
function that reads it. A key or variable read by a new function appears here by itself."""

from __future__ import annotations

import ast
import inspect
import re
from dataclasses import dataclass, field

from nbmlops import config

from .markdown import cell

ENV_NAME = re.compile(r"^(NBMLOPS|MLFLOW)_[A-Z_]+$")


@dataclass
class Reader:
    """One function of ``config`` and the settings it reads."""

    name: str
    doc: str
    keys: list[str] = field(default_factory=list)
    variables: list[str] = field(default_factory=list)


def _doc(node: ast.FunctionDef) -> str:
    text = ast.get_docstring(node) or ""
    text = re.sub(r":(func|data|mod|class):", "", text)  # Sphinx roles read as plain code
    return " ".join(text.split("\n\n")[0].split()).replace("``", "`")


def _constants(tree: ast.Module) -> dict[str, str]:
    """``ENV_X = "NBMLOPS_X"`` module constants: name -> variable."""
    found = {}
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str) and ENV_NAME.match(node.value.value)):
            found[node.targets[0].id] = node.value.value
    return found


def readers() -> list[Reader]:
    """The functions of ``config`` that read a known key or an environment variable."""
    tree = ast.parse(inspect.getsource(config))
    constants = _constants(tree)
    out = []
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
            continue
        reader = Reader(node.name, _doc(node))
        # what it names in its docstring counts too (a key read through a table, a
        # variable whose name is an argument)
        named = [ast.Constant(v) for v in re.findall(r"``([\w.]+)", ast.get_docstring(node) or "")]
        for inner in [*ast.walk(node), *named]:
            value = None
            if isinstance(inner, ast.Constant) and isinstance(inner.value, str):
                value = inner.value
            elif isinstance(inner, ast.Name) and inner.id in constants:
                value = constants[inner.id]
            if value is None:
                continue
            if value in config.KNOWN_KEYS and value not in reader.keys:
                reader.keys.append(value)
            if ENV_NAME.match(value) and value not in reader.variables:
                reader.variables.append(value)
        if reader.keys or reader.variables:
            out.append(reader)
    return out


def _comments() -> dict[str, str]:
    """The trailing comment of each ``ENV_X = "NBMLOPS_X"  # ...`` line, by variable."""
    found = {}
    for line in inspect.getsource(config).splitlines():
        match = re.match(r'^ENV_\w+ = "(\w+)"\s+#\s*(.+)$', line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def _cell(text: str) -> str:
    return cell(text)


def page() -> str:
    found = readers()
    out = ["# Configuration reference\n",
           "Generated from `nbmlops/config.py`, where every setting is read. Environment",
           "variables win over `[tool.nbmlops]` in the project's `pyproject.toml`, which wins",
           "over the defaults; [Configuration](../configuration.md) explains them with an",
           "example.\n", "## `[tool.nbmlops]` keys\n",
           "| key | environment variable | meaning | read by |", "|---|---|---|---|"]
    for key in sorted(config.KNOWN_KEYS):
        mine = [r for r in found if key in r.keys]
        variables = sorted({v for r in mine for v in r.variables})
        meaning = " ".join(r.doc for r in mine[:1])
        default = config.DRIFT_THRESHOLDS.get(key)
        if default is not None:
            meaning = f"default `{default[1]}` (`Thresholds.{default[0]}`). " + meaning
        out.append(f"| `{key}` | {', '.join(f'`{v}`' for v in variables)} | {_cell(meaning)} "
                   f"| {', '.join(f'`config.{r.name}`' for r in mine)} |")
    comments = _comments()
    out += ["", "## Environment variables\n", "| variable | meaning | read by |", "|---|---|---|"]
    for variable in sorted({v for r in found for v in r.variables} | set(comments)):
        mine = [r for r in found if variable in r.variables]
        meaning = comments.get(variable) or " ".join(r.doc for r in mine[:1])
        out.append(f"| `{variable}` | {_cell(meaning)} | "
                   f"{', '.join(f'`config.{r.name}`' for r in mine)} |")
    return "\n".join(out) + "\n"

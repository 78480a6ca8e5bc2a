"""The ``nbmlops assess --format json`` report's fields, from its JSON Schema
(``nbmlops/assess/schema.json``, the one the report is validated against)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbmlops.assess

from .markdown import cell

SCHEMA = Path(nbmlops.assess.__file__).parent / "schema.json"


def _type(node: dict[str, Any]) -> str:
    if "const" in node:
        return f"`{json.dumps(node['const'])}`"
    if "enum" in node:
        return ", ".join(f"`{json.dumps(v)}`" for v in node["enum"])
    if "oneOf" in node:
        return " or ".join(_type(n) for n in node["oneOf"])
    kind = node.get("type", "any")
    if kind == "array":
        return f"array of {_type(node.get('items', {}))}"
    return "/".join(kind) if isinstance(kind, list) else str(kind)


def _rows(node: dict[str, Any], prefix: str) -> list[str]:
    rows = []
    required = set(node.get("required", ()))
    for name, child in node.get("properties", {}).items():
        path = f"{prefix}{name}"
        limits = [f"{k} {child[k]}" for k in ("minimum", "maximum", "maxItems") if k in child]
        meaning = "; ".join([child.get("description", ""), *limits]).strip("; ")
        rows.append(f"| `{path}` | {cell(_type(child))} | {'yes' if name in required else ''} "
                    f"| {cell(meaning)} |")
        inner = child.get("items", child) if child.get("type") == "array" else child
        for option in inner.get("oneOf", [inner]):
            if option.get("type") == "object" and "properties" in option:
                rows += _rows(option, f"{path}[]." if child.get("type") == "array" else f"{path}.")
    return rows


def page() -> str:
    schema = json.loads(SCHEMA.read_text())
    return "\n".join([
        "# `assess` JSON schema\n",
        f"Generated from `nbmlops/assess/schema.json` ({schema.get('title', '')}, id",
        f"`{schema.get('$id', '')}`). What each criterion looks at is in",
        "[the criteria](../assess.md#criteria).\n",
        "| field | type | required | meaning |", "|---|---|---|---|",
        *_rows(schema, ""), "", "## The schema\n", "```json", json.dumps(schema, indent=2),
        "```", ""])

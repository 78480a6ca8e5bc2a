"""Declared expectations: a schema that a frame must meet, checked by pandera.

A declaration is a small JSON document (or the same as a dict)::

    {
      "name": "df",                         # optional: the variable it is about
      "columns": {
        "age":  {"dtype": "int64", "nullable": false, "min": 0, "max": 120},
        "city": {"dtype": "str", "in": ["Paris", "Lyon"]},
        "id":   {"unique": true},
        "email": {"regex": "^[^@]+@[^@]+$", "required": false}
      },
      "strict": false,                      # true: no other columns allowed
      "ordered": false,                     # true: columns in this order
      "rows": {"min": 1, "max": 1000000}
    }

Column keys: ``dtype`` (a pandas dtype name, as ``df.dtypes`` shows it), ``nullable``
(default true: a declaration says what it checks), ``unique``, ``min``, ``max``, ``in``,
``not_in``, ``regex``, ``required`` (default true). A pandera ``DataFrameSchema`` or
``DataFrameModel`` can be given instead of a declaration.

Why pandera: it is the maintained, widely used validator for pandas, it checks every row
lazily and reports each failure case, and users who already have pandera schemas can pass
them as they are. nbmlops only translates the small JSON form into a ``DataFrameSchema``
and turns pandera's failure table into short lines. pandera is imported on first use, so a
session that declares nothing never pays for it.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nbmlops import regular_files
from nbmlops.exceptions import NbmlopsError

__all__ = ["ExpectationError", "Failure", "Result", "check", "expect", "load_spec"]

COLUMN_KEYS = frozenset(
    {"dtype", "nullable", "unique", "min", "max", "in", "not_in", "regex", "required"}
)
TOP_KEYS = frozenset({"name", "columns", "strict", "ordered", "rows", "description"})
#: Failing values quoted per check.
EXAMPLES = 5


class ExpectationError(NbmlopsError):
    """Data does not meet its declared expectations, or a declaration is invalid."""

    def __init__(self, message: str, result: Result | None = None) -> None:
        super().__init__(message)
        self.result = result


@dataclass
class Failure:
    """One check that failed: ``age: 3 values > 120 (e.g. 150, 151, 200)``."""

    column: str | None
    check: str
    count: int
    examples: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        where = f"{self.column}: " if self.column else ""
        if self.check == "column missing":
            return f"column {self.examples[0]!r} missing" if self.examples else "column missing"
        if self.check == "unexpected column":
            return f"unexpected column {self.examples[0]!r}" if self.examples else self.check
        if self.check.startswith("dtype") or self.column is None:
            return f"{where}{self.check}"
        if self.check == "not null":
            return f"{where}{self.count} null value(s)"
        examples = f" (e.g. {', '.join(self.examples)})" if self.examples else ""
        return f"{where}{self.check} failed for {self.count} value(s){examples}"


@dataclass
class Result:
    """The outcome of checking one object against one declaration."""

    name: str
    source: str
    rows: int
    failures: list[Failure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def message(self, limit: int = 5) -> str:
        if self.ok:
            return f"{self.name} meets {self.source}"
        parts = [str(f) for f in self.failures[:limit]]
        if len(self.failures) > limit:
            parts.append(f"{len(self.failures) - limit} more")
        return f"{self.name} does not meet {self.source}: " + "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


# -- declarations ------------------------------------------------------------------------------


#: Largest declaration file read (``--expect /dev/zero`` must not read forever).
MAX_SPEC_BYTES = 1 << 20


def load_spec(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check a JSON declaration; ExpectationError (one line) when it is invalid."""
    file = Path(path)
    try:
        raw = json.loads(regular_files.read_text(file, MAX_SPEC_BYTES))
    except regular_files.UnreadableFile:
        raise ExpectationError(
            f"{os.fspath(path)} is not a declaration: a JSON file of at most "
            f"{MAX_SPEC_BYTES // 1024} KB is needed") from None
    except OSError as e:
        raise ExpectationError(f"cannot read {os.fspath(path)}: {e.strerror or e}") from None
    except ValueError as e:
        raise ExpectationError(f"{os.fspath(path)} is not valid JSON: {e}") from None
    return validate_spec(raw, where=os.fspath(path))


def validate_spec(spec: Any, where: str = "expectations") -> dict[str, Any]:
    """``spec`` if it is a well-formed declaration, else ExpectationError saying what is not."""
    if not isinstance(spec, Mapping):
        raise ExpectationError(f"{where}: a declaration is a JSON object")
    unknown = set(spec) - TOP_KEYS
    if unknown:
        raise ExpectationError(
            f"{where}: unknown key(s) {', '.join(sorted(unknown))} "
            f"(known: {', '.join(sorted(TOP_KEYS))})"
        )
    columns = spec.get("columns", {})
    if not isinstance(columns, Mapping):
        raise ExpectationError(f"{where}: 'columns' maps column names to their rules")
    for column, rules in columns.items():
        if not isinstance(rules, Mapping):
            raise ExpectationError(f"{where}: column {column!r}: rules are a JSON object")
        bad = set(rules) - COLUMN_KEYS
        if bad:
            raise ExpectationError(
                f"{where}: column {column!r}: unknown key(s) {', '.join(sorted(bad))} "
                f"(known: {', '.join(sorted(COLUMN_KEYS))})"
            )
        for key in ("in", "not_in"):
            if key in rules and not isinstance(rules[key], list):
                raise ExpectationError(f"{where}: column {column!r}: {key!r} is a list")
    rows = spec.get("rows", {})
    if not isinstance(rows, Mapping) or set(rows) - {"min", "max"}:
        raise ExpectationError(f"{where}: 'rows' is {{\"min\": N, \"max\": N}}")
    return dict(spec)


# -- checking ----------------------------------------------------------------------------------

_active: list[list[Result]] = []


def check(
    data: Any, expectations: Any, *, name: str = "data", source: str | None = None
) -> Result:
    """Check ``data`` (a pandas DataFrame or Series) against a declaration (dict or path to
    a JSON file) or a pandera schema; never raises for data that fails, only for a bad
    declaration or data that is not a pandas frame."""
    pd = sys.modules.get("pandas")
    if pd is None or not isinstance(data, (pd.DataFrame, pd.Series)):
        raise ExpectationError(
            f"{name}: expectations check pandas DataFrames, not {type(data).__name__}"
        )
    frame = data.to_frame() if isinstance(data, pd.Series) else data
    schema, source = _schema(expectations, source)
    import pandera.errors

    result = Result(name=name, source=source, rows=len(frame))
    try:
        schema.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as e:
        result.failures = _failures(e.failure_cases, frame)
    except pandera.errors.SchemaError as e:  # raised eagerly by some checks
        result.failures = [Failure(None, str(e).splitlines()[0][:200], 1)]
    return result


def expect(data: Any, expectations: Any = None, /, **declaration: Any) -> Any:
    """Check that ``data`` meets its declared expectations; return ``data`` unchanged.

    ``expectations`` is a path to a JSON declaration, a dict, or a pandera schema; or give
    the declaration's keys as keyword arguments::

        df = nbmlops.expect(pd.read_csv("users.csv"), "expectations/users.json")
        nbmlops.expect(df, columns={"age": {"min": 0, "max": 120}}, rows={"min": 1})

    Raises :class:`ExpectationError` listing what failed. Inside a ``%%track`` cell the
    result is also recorded on the run (artifact ``data/expectations.json``).
    """
    if expectations is None:
        expectations = validate_spec(declaration, where="expect()")
    elif declaration:
        raise TypeError("expect() takes a declaration or keyword arguments, not both")
    name = declaration.get("name") or (
        expectations.get("name") if isinstance(expectations, Mapping) else None
    ) or "data"
    result = check(data, expectations, name=str(name))
    if _active:
        _active[-1].append(result)
    if not result.ok:
        raise ExpectationError(result.message(), result)
    return data


def _schema(expectations: Any, source: str | None) -> tuple[Any, str]:
    """A pandera DataFrameSchema for a declaration, and how to name it in messages."""
    import pandera.pandas as pa

    if isinstance(expectations, pa.DataFrameSchema):
        return expectations, source or expectations.name or "a pandera schema"
    if isinstance(expectations, type) and issubclass(expectations, pa.DataFrameModel):
        return expectations.to_schema(), source or expectations.__name__
    if isinstance(expectations, (str, os.PathLike)):
        spec, source = load_spec(expectations), source or os.fspath(expectations)
    else:
        spec, source = validate_spec(expectations), source or "the declared expectations"
    return _translate(spec, source), source


def _translate(spec: Mapping[str, Any], where: str) -> Any:
    import pandera.pandas as pa
    from pandera.engines import pandas_engine

    columns = {}
    for name, rules in spec.get("columns", {}).items():
        dtype = rules.get("dtype")
        if dtype is not None:
            try:
                pandas_engine.Engine.dtype(dtype)
            except TypeError:
                raise ExpectationError(
                    f"{where}: column {name!r}: unknown dtype {dtype!r}"
                ) from None
        checks = []
        if "min" in rules:
            checks.append(pa.Check.ge(rules["min"], error=f">= {rules['min']}"))
        if "max" in rules:
            checks.append(pa.Check.le(rules["max"], error=f"<= {rules['max']}"))
        if "in" in rules:
            checks.append(pa.Check.isin(rules["in"], error=f"in {_short(rules['in'])}"))
        if "not_in" in rules:
            label = f"not in {_short(rules['not_in'])}"
            checks.append(pa.Check.notin(rules["not_in"], error=label))
        if "regex" in rules:
            label = f"matches {rules['regex']!r}"
            checks.append(pa.Check.str_matches(rules["regex"], error=label))
        columns[name] = pa.Column(
            dtype,
            checks=checks,
            nullable=bool(rules.get("nullable", True)),
            unique=bool(rules.get("unique", False)),
            required=bool(rules.get("required", True)),
            coerce=False,
        )
    frame_checks = []
    rows = spec.get("rows", {})
    if rows:
        low, high = rows.get("min", 0), rows.get("max")
        label = f"rows >= {low}" if high is None else f"{low} <= rows <= {high}"
        frame_checks.append(
            pa.Check(
                lambda df: low <= len(df) and (high is None or len(df) <= high),
                error=label,
            )
        )
    return pa.DataFrameSchema(
        columns,
        checks=frame_checks,
        strict=bool(spec.get("strict", False)),
        ordered=bool(spec.get("ordered", False)),
        name=where,
    )


def _failures(cases: Any, frame: Any) -> list[Failure]:
    """pandera's failure-case table, one :class:`Failure` per (column, check)."""
    out: dict[tuple[str | None, str], Failure] = {}
    for row in cases.itertuples(index=False):
        frame_level = row.schema_context == "DataFrameSchema"
        column = None if frame_level or _missing(row.column) else str(row.column)
        check = str(row.check)
        case = row.failure_case
        if frame_level and "rows" in check:
            column, check, case = None, f"{check} (got {len(frame)})", None
        elif check == "column_in_dataframe":
            column, check = None, "column missing"
        elif check == "column_in_schema":
            column, check = None, "unexpected column"
        elif check.startswith("dtype(") and column is not None:
            actual = frame[column].dtype if column in frame.columns else "?"
            check = f"dtype is {actual}, expected {check[6:-1].strip(chr(39))}"
        elif check == "not_nullable":
            check = "not null"
        elif check == "field_uniqueness":
            check = "unique"
        elif check == "column_ordered":
            column, check = None, "columns in the declared order"
        key = (column, check)
        failure = out.get(key)
        if failure is None:
            failure = out[key] = Failure(column, check, 0)
        failure.count += 1
        if case is not None and len(failure.examples) < EXAMPLES and check != "not null":
            text = str(case)
            if text not in failure.examples:
                failure.examples.append(text[:60])
    return list(out.values())


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _short(values: list[Any]) -> str:
    text = json.dumps(values, default=str)
    return text if len(text) <= 60 else text[:59] + "…]"

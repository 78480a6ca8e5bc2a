"""Declared expectations, checked by pandera: readable failures, strict declarations."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pandera.pandas as pa
import pytest

import nbmlops
from nbmlops.data.expectations import ExpectationError, check, load_spec, validate_spec
from nbmlops.exceptions import NbmlopsError

USERS = pd.DataFrame({
    "id": [1, 2, 2, 4],
    "age": [30, 151, -1, None],
    "country": ["FR", "DE", "XX", "FR"],
    "email": ["a@x.io", "b@x.io", "nope", "d@x.io"],
    "extra": [0, 0, 0, 0],
})


def test_every_kind_of_rule_reports_what_failed() -> None:
    result = check(USERS, {
        "columns": {
            "id": {"dtype": "int64", "unique": True},
            "age": {"dtype": "int64", "nullable": False, "min": 0, "max": 120},
            "country": {"in": ["FR", "DE"]},
            "email": {"regex": r"^[^@]+@[^@]+$"},
            "zip": {},
        },
        "strict": True,
        "rows": {"min": 10},
    }, name="users", source="users.json")
    assert not result.ok and result.rows == 4
    lines = [str(f) for f in result.failures]
    assert set(lines) == {
        "unexpected column 'extra'",
        "column 'zip' missing",
        "rows >= 10 (got 4)",
        "id: unique failed for 2 value(s) (e.g. 2)",
        "age: 1 null value(s)",
        "age: dtype is float64, expected int64",
        "age: >= 0 failed for 1 value(s) (e.g. -1.0)",
        "age: <= 120 failed for 1 value(s) (e.g. 151.0)",
        'country: in ["FR", "DE"] failed for 1 value(s) (e.g. XX)',
        "email: matches '^[^@]+@[^@]+$' failed for 1 value(s) (e.g. nope)",
    }
    assert result.message(limit=2).startswith("users does not meet users.json: ")
    assert result.message(limit=2).endswith("; 8 more")
    assert result.to_dict()["ok"] is False


def test_passing_data_and_optional_columns() -> None:
    result = check(USERS, {"columns": {"id": {"min": 1}, "missing": {"required": False}}})
    assert result.ok and result.message() == "data meets the declared expectations"


def test_expect_returns_the_data_or_raises() -> None:
    assert nbmlops.expect(USERS, columns={"id": {"dtype": "int64"}}) is USERS
    with pytest.raises(ExpectationError, match="age: <= 120 failed") as err:
        nbmlops.expect(USERS, {"columns": {"age": {"max": 120}}})
    assert isinstance(err.value, NbmlopsError) and err.value.result is not None
    with pytest.raises(TypeError, match="not both"):
        nbmlops.expect(USERS, {"columns": {}}, rows={"min": 1})


def test_pandera_schemas_are_used_as_they_are() -> None:
    schema = pa.DataFrameSchema({"age": pa.Column(float, pa.Check.le(120), nullable=True)},
                                name="users-schema")
    result = check(USERS, schema)
    assert result.source == "users-schema"
    assert [str(f) for f in result.failures] == [
        "age: less_than_or_equal_to(120) failed for 1 value(s) (e.g. 151.0)"
    ]

    class Model(pa.DataFrameModel):
        id: int = pa.Field(ge=2)

    assert [f.column for f in check(USERS, Model).failures] == ["id"]
    series = check(USERS["age"].rename("age"), {"columns": {"age": {"min": 0}}})
    assert [f.column for f in series.failures] == ["age"]


def test_declarations_are_checked(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"name": "df", "columns": {"a": {"min": 1}}}))
    assert load_spec(good)["name"] == "df"
    bad = [
        ([], "a declaration is a JSON object"),
        ({"colums": {}}, "unknown key(s) colums"),
        ({"columns": {"a": {"maxx": 1}}}, "column 'a': unknown key(s) maxx"),
        ({"columns": {"a": {"in": "x"}}}, "column 'a': 'in' is a list"),
        ({"rows": {"least": 1}}, "'rows' is"),
    ]
    for spec, message in bad:
        with pytest.raises(ExpectationError, match=message.replace("(", r"\(").replace(")", r"\)")):
            validate_spec(spec)
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ExpectationError, match="is not valid JSON"):
        load_spec(tmp_path / "broken.json")
    with pytest.raises(ExpectationError, match="unknown dtype 'integr'"):
        check(USERS, {"columns": {"id": {"dtype": "integr"}}})
    with pytest.raises(ExpectationError, match="not list"):
        check([1, 2], {"columns": {}})

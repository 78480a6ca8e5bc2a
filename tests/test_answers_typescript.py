"""The REST answers are defined once (nbmlops/server/answers.py) and the sidebar's TypeScript
types generated from them: the committed file is what the generator writes, every JSON route
names its answer, and what the server sends of an answer is what its type lists."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Literal, TypedDict

import pytest

from nbmlops import store
from nbmlops.runs.entities import Dataset, RunSummary
from nbmlops.server import answers, handlers, routes, typescript
from nbmlops.server.jsonable import jsonable

ROOT = Path(__file__).resolve().parent.parent
NOT_JSON = {handlers.ImageHandler, handlers.MlflowLinkHandler}  # an image, a page


def test_the_committed_types_are_what_the_generator_writes() -> None:
    committed = (ROOT / typescript.OUTPUT).read_text(encoding="utf-8")
    assert committed == typescript.generate(), (
        f"{typescript.OUTPUT} is stale: run python -m nbmlops.server.typescript")


def test_check_fails_on_a_stale_file_and_writing_makes_it_current(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / typescript.OUTPUT
    out.parent.mkdir(parents=True)
    out.write_text(typescript.generate().replace("  champion: string;\n", ""))
    assert typescript.main(["--root", str(tmp_path), "--check"]) == 1
    assert "stale" in capsys.readouterr().err
    assert typescript.main(["--root", str(tmp_path)]) == 0
    assert out.read_text() == typescript.generate()
    assert typescript.main(["--root", str(tmp_path), "--check"]) == 0


def test_every_json_route_names_its_answer() -> None:
    json_routes = {pattern for pattern, handler in routes.ROUTES if handler not in NOT_JSON}
    assert set(answers.ANSWERS) == json_routes


def fields_of(ts: str, interface: str) -> list[str]:
    body = ts.split(f"export interface {interface} {{\n", 1)[1].split("\n}", 1)[0]
    return [line.strip().split(":")[0].rstrip("?") for line in body.splitlines()]


def test_what_jsonable_sends_of_a_run_is_what_its_type_lists() -> None:
    run = RunSummary("r", "fit", "1", "FINISHED", 1, 2, tags={store.CODE_SHA_TAG: "abc"},
                     datasets=[Dataset("raw", "d", "f" * 16, "input")])
    sent = jsonable(run)
    ts = typescript.generate()
    assert list(sent) == fields_of(ts, "RunSummary")
    assert list(sent["datasets"][0]) == fields_of(ts, "Dataset")
    assert sent["code_sha"] == "abc" and sent["datasets"][0]["short"] == "f" * 8


def test_every_answer_is_built_from_what_it_declares() -> None:
    """A model version and the spool status are made with ``**`` from the dicts the registry
    and the sync worker give: a key either adds is refused, not silently dropped."""
    with pytest.raises(TypeError, match="surprise"):
        answers.SpoolStatus(**{f.name: None for f in dataclasses.fields(answers.SpoolStatus)},
                            surprise=1)


class Reigned(TypedDict, total=False):
    since: int


@dataclasses.dataclass
class Sample:
    """A sample answer."""

    state: Literal["ready", "starting"]
    score: float
    count: int | None
    names: list[str | None]
    by_name: dict[str, list[Reigned]]
    anything: Any
    nested: list[Sample] = dataclasses.field(default_factory=list)


def test_python_types_become_typescript_types() -> None:
    writer = typescript.Writer()
    assert writer.type_of(Sample) == "Sample"
    text = writer.interfaces[Sample]
    assert text.startswith("/** A sample answer. */\nexport interface Sample {\n")
    for line in ("  state: 'ready' | 'starting';", "  score: number | null;",
                 "  count: number | null;", "  names: (string | null)[];",
                 "  by_name: Record<string, Reigned[]>;", "  anything: unknown;",
                 "  nested: Sample[];"):
        assert line in text.splitlines()
    assert "  since?: number;" in writer.interfaces[Reigned]


def test_two_types_of_one_typescript_name_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(answers.TS_NAMES, "Sample", "Reigned")
    with pytest.raises(TypeError, match="both be Reigned"):
        typescript.Writer().type_of(dict[str, Sample | Reigned])


def test_a_type_with_no_typescript_twin_is_refused() -> None:
    with pytest.raises(TypeError, match="no TypeScript type"):
        typescript.Writer().type_of(complex)

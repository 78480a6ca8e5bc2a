"""job.yaml as :mod:`nbmlops.jobs.spec` reads, checks and writes it: names, types, sections,
each refusal with the words that tell what to fix (pure: no kernel, no CLI)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nbmlops.exceptions import JobError
from nbmlops.jobs import spec
from nbmlops.jobs.spec import Job, ParamSpec, Promote, Schedule


@pytest.mark.parametrize(("annotation", "kind"), [
    ("int", "int"), ("float", "float"), ("str", "str"), ("bool", "bool"),
    ("list[int]", "list"), ("list[list[int]]", "list"), ("dict[str, list[int]]", "dict"),
    ("List[int]", "list"), (" tuple [int, ...]", "list"),
    ("Sequence[float]", "list"), ("dict[str, int]", "dict"), ("Mapping[str, int]", "dict"),
    ("object", "any"), ("Any", "any"), ("Optional[str]", None), ("np.ndarray", None),
    ("", None),
])
def test_the_type_an_annotation_gives(annotation: str, kind: str | None) -> None:
    assert spec.type_of_annotation(annotation) == kind


@pytest.mark.parametrize(("value", "kind"), [
    (True, "bool"), (3, "int"), (0.5, "float"), ("a", "str"), ([1], "list"), ((1,), "list"),
    ({"a": 1}, "dict"), (None, "any"), (b"x", "any"),
])
def test_the_type_a_default_gives(value: Any, kind: str) -> None:
    assert spec.type_of(value) == kind


@pytest.mark.parametrize(("stem", "name"), [
    ("train", "train"), ("it's a test", "it-s-a-test"), ("..hidden..", "hidden"),
    ("-_x_-", "x"), ("???", "job"), ("Train Model", "Train-Model"), ("X-ray.v2", "X-ray.v2"),
    ("a" * 150, "a" * 100), ("Été 2024", "t-2024"),
])
def test_the_default_job_name_is_a_safe_folder_name(stem: str, name: str) -> None:
    assert spec.default_name(stem) == name
    assert spec.check_name(name) == name


@pytest.mark.parametrize("name", ["", ".hidden", "-x", "a/b", "a b", "a" * 101, "../up"])
def test_a_name_that_cannot_be_a_folder_is_refused(name: str) -> None:
    with pytest.raises(JobError, match=r"^invalid job name .*letters, digits.*--name\)$"):
        spec.check_name(name)


def test_a_timezone_is_checked_against_the_iana_database() -> None:
    assert spec.check_timezone("Europe/Paris") == "Europe/Paris"
    for zone in ("Mars/Olympus", "../etc/passwd", ""):
        with pytest.raises(JobError, match=r"^unknown timezone .* \(e\.g\. UTC, Europe/Paris\)$"):
            spec.check_timezone(zone)


# Written as is: not escaped (\\xE9), not folded at 80 columns.
HELP = "taux d'apprentissage: à baisser quand la perte oscille d'une époque à la suivante"


def full_job() -> Job:
    return Job(
        name="nightly", notebook="nightly.ipynb", source="../train.ipynb",
        parameters=[ParamSpec("lr", "float", 0.1, HELP), ParamSpec("n", "int", 3)],
        schedule=Schedule("0 3 * * 1", "Europe/Paris", ["cron"]), retries=2,
        promote=Promote("churn", "champion", ["auc >= champion"]),
    )


def test_job_yaml_round_trips(tmp_path: Path) -> None:
    job = full_job()
    text = spec.dump(job, "jobs/nightly")
    assert text.startswith("# nbmlops job: `nbmlops run jobs/nightly` runs it;")
    quoted = HELP.replace("'", "''")
    assert f"lr:\n    type: float\n    default: 0.1\n    help: '{quoted}'\n" in text
    assert "  n:\n    type: int\n    default: 3\nschedule:" in text  # no empty help written
    assert text.index("name:") < text.index("parameters:") < text.index("schedule:")
    (tmp_path / "job.yaml").write_text(text)
    assert spec.load(tmp_path) == job == spec.load(tmp_path / "job.yaml")
    assert spec.folder_of(tmp_path / "job.yaml") == tmp_path.resolve()
    assert spec.folder_of(tmp_path) == tmp_path.resolve()

    plain = Job(name="plain", notebook="plain.ipynb")
    assert spec.dump(plain).startswith("# nbmlops job: `nbmlops run .` runs it;")
    assert "promote" not in plain.to_dict() and "promote:" not in spec.dump(plain)
    assert full_job().to_dict()["promote"] == {
        "model": "churn", "to": "champion", "gates": ["auc >= champion"]}


def test_a_job_without_its_file_or_with_broken_yaml_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(JobError, match=r"^no job at .*job\.yaml is missing \(create it with "
                                       r"`nbmlops export NOTEBOOK`\)$"):
        spec.load(tmp_path)
    (tmp_path / "job.yaml").write_text("name: [unclosed\n")
    with pytest.raises(JobError, match=r"job\.yaml is not valid YAML: while parsing a flow "
                                       r"sequence in \"<unicode string>\", line 1") as raised:
        spec.load(tmp_path)
    assert "\n" not in str(raised.value)
    (tmp_path / "job.yaml").write_text("name: j\nnotebook: j.ipynb\nretry: 3\n")
    with pytest.raises(JobError, match=rf"^{tmp_path}/job\.yaml: unknown key\(s\) retry$"):
        spec.load(tmp_path)
    (tmp_path / "job.yaml").unlink()
    (tmp_path / "job.yaml").mkdir()
    with pytest.raises(JobError, match=r"^cannot read .*job\.yaml: Is a directory$"):
        spec.load(tmp_path)


BASE = {"name": "j", "notebook": "j.ipynb"}


@pytest.mark.parametrize(("data", "message"), [
    ({"name": "j"}, "f.yaml: needs at least 'name' and 'notebook'"),
    ({"notebook": "j.ipynb"}, "f.yaml: needs at least 'name' and 'notebook'"),
    (["name", "notebook"], "f.yaml: needs at least 'name' and 'notebook'"),
    ({**BASE, "zeta": 1, "alpha": 2}, "f.yaml: unknown key(s) alpha, zeta"),
    ({**BASE, "parameters": ["lr"]}, "f.yaml: 'parameters' must be a mapping of name to spec"),
    ({**BASE, "parameters": {"lr": {"type": "complex"}}},
     "f.yaml: parameter lr: unknown type 'complex'"),
    ({**BASE, "overlap": "kill"}, "f.yaml: overlap must be one of skip, wait"),
    ({**BASE, "promote": "churn"},
     "f.yaml: 'promote' needs 'model: NAME' (and optionally 'to' and 'gates')"),
    ({**BASE, "promote": {"model": 3}},
     "f.yaml: 'promote' needs 'model: NAME' (and optionally 'to' and 'gates')"),
    ({**BASE, "promote": {"model": "m", "when": 1, "after": 2}},
     "f.yaml: promote: unknown key(s) after, when"),
    ({**BASE, "promote": {"model": "m", "gates": [1]}},
     "f.yaml: promote: gates must be a list of gates such as 'auc >= champion'"),
    ({**BASE, "promote": {"model": "m", "gates": {"auc": 1}}},
     "f.yaml: promote: gates must be a list of gates such as 'auc >= champion'"),
    ({**BASE, "promote": {"model": "m", "gates": "auc >>= champion"}}, "f.yaml: promote: "),
    ({**BASE, "promote": {"model": "m", "to": "prod/eu"}}, "f.yaml: promote: bad alias 'prod/eu'"),
])
def test_a_bad_job_file_says_what_to_fix(data: Any, message: str) -> None:
    with pytest.raises(JobError) as raised:
        Job.from_dict(data, "f.yaml")
    assert str(raised.value).startswith(message), str(raised.value)


def test_sections_and_parameters_as_job_yaml_writes_them_by_hand() -> None:
    job = Job.from_dict({
        **BASE, "parameters": {"lr": 0.5, "tags": {"default": ["a"], "help": "which"},
                               "seed": None, "n": {"type": "int"}},
        "schedule": {"cron": "0 3 * * *"}, "overlap": "wait",
        "promote": {"model": "churn", "gates": "auc >= champion"},
    })
    assert job.parameters == [ParamSpec("lr", "float", 0.5), ParamSpec("tags", "list", ["a"],
                              "which"), ParamSpec("seed", "any", None), ParamSpec("n", "int", None)]
    assert job.param("tags") == job.parameters[1] and job.param("nope") is None
    assert job.schedule == Schedule("0 3 * * *", "UTC", []) and job.overlap == "wait"
    assert job.promote == Promote("churn", "champion", ["auc >= champion"])
    assert Job.from_dict({**BASE, "promote": {"model": "m", "to": "challenger"}}).promote == (
        Promote("m", "challenger", []))
    assert Job.from_dict({**BASE, "parameters": None, "schedule": None}) == Job("j", "j.ipynb")
    with pytest.raises(JobError, match=r"^job\.yaml: needs at least"):  # the default place
        Job.from_dict({})

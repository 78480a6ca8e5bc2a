"""A job as ``job.yaml`` describes it: parameters with types and defaults, schedule, limits.

This module is the one place that knows the file's format. It reads and writes it, and
checks parameter values against it (used by ``nbmlops run`` before any kernel starts). No
papermill, no mlflow: only yaml.
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from nbmlops import config, regular_files, store
from nbmlops.exceptions import ConfigError, JobError
from nbmlops.monitor import settings
from nbmlops.monitor.settings import SECTIONS as WATCH_SECTIONS
from nbmlops.monitor.settings import Watch

JOB_FILE = "job.yaml"
#: What running a job leaves in its folder: the output notebooks, and a pipeline's steps'
#: last successes. Named here since exporting (the folder's .gitignore) knows them too.
RUNS_DIR = "runs"
STATE_DIR = ".nbmlops-state"
#: Parameter types job.yaml knows; ``any`` accepts every value (a ``None`` default).
TYPES = ("int", "float", "str", "bool", "list", "dict", "any")
OVERLAP = ("skip", "wait")


@dataclass(frozen=True)
class ParamSpec:
    """One parameter of a job: what papermill injects and ``nbmlops run -p`` checks."""

    name: str
    type: str
    default: Any
    help: str = ""


@dataclass
class Schedule:
    cron: str | None = None
    timezone: str = "UTC"
    targets: list[str] = field(default_factory=list)
    airflow_operator: str = "bash"  # bash (on the worker) or kubernetes (the job's image)


@dataclass
class Promote:
    """``promote:``: after a successful run, give ``to`` to the version of ``model`` the run
    registered (``%%track --model VAR=MODEL``) when every gate passes; otherwise the run fails
    and the alias stays where it was. ``[tool.nbmlops.gates]`` applies too."""

    model: str
    to: str = store.CHAMPION
    gates: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: Any, where: str) -> Promote:
        if not isinstance(data, Mapping) or not isinstance(data.get("model"), str):
            raise JobError(f"{where}: 'promote' needs 'model: NAME' (and optionally 'to' and "
                           "'gates')")
        unknown = set(data) - {"model", "to", "gates"}
        if unknown:
            raise JobError(f"{where}: promote: unknown key(s) {', '.join(sorted(unknown))}")
        gates = data.get("gates") or []
        if isinstance(gates, str):
            gates = [gates]
        if not isinstance(gates, list) or not all(isinstance(g, str) for g in gates):
            raise JobError(f"{where}: promote: gates must be a list of gates such as "
                           "'auc >= champion'")
        from nbmlops.exceptions import ModelError
        from nbmlops.models.aliases import check_alias
        from nbmlops.models.gates import parse_all

        to = str(data.get("to") or store.CHAMPION)
        try:
            parse_all(gates)  # a typo fails the file, not a run at 3 am
            check_alias(to)
        except ModelError as e:
            raise JobError(f"{where}: promote: {e}") from None
        return cls(str(data["model"]), to, list(gates))


@dataclass
class Step:
    """One notebook of a pipeline (``steps:`` in job.yaml). Paths are relative to the job
    folder; ``inputs`` and ``outputs`` are what the export saw it read and write, and what
    ``nbmlops run`` fingerprints to tell whether the step is up to date."""

    name: str
    notebook: str
    source: str | None = None
    cwd: str = "."
    needs: list[str] = field(default_factory=list)
    parameters: list[str] = field(default_factory=list)  # pipeline parameters it declares
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        del data["name"]
        return data

    @classmethod
    def from_dict(cls, name: str, data: Any, where: str) -> Step:
        if not JOB_NAME.fullmatch(name):
            # A step's name names its state, lock and output files in the job folder.
            raise JobError(f"{where}: invalid step name {name!r}: letters, digits, '.', '_' "
                           "and '-' only, a letter or digit first")
        if not isinstance(data, Mapping) or not isinstance(data.get("notebook"), str):
            raise JobError(f"{where}: step {name} needs 'notebook: FILE'")
        known = {f.name for f in fields(cls)} - {"name"}
        unknown = set(data) - known
        if unknown:
            raise JobError(f"{where}: step {name}: unknown key(s) {', '.join(sorted(unknown))}")
        values = dict(data)
        for key in ("needs", "parameters", "inputs", "outputs"):
            items = values.get(key) or []
            if isinstance(items, str):
                items = [items]
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                raise JobError(f"{where}: step {name}: {key} must be a list of names")
            values[key] = list(items)
        return cls(name=str(name), **values)


@dataclass
class Job:
    """The content of ``job.yaml``. Paths are relative to the job folder.

    A pipeline has ``steps`` (one notebook each) instead of ``notebook``; its ``parameters``
    are handed to the steps that declare them.
    """

    name: str
    notebook: str = ""
    source: str | None = None  # the notebook it was exported from
    parameters: list[ParamSpec] = field(default_factory=list)
    schedule: Schedule = field(default_factory=Schedule)
    tracking_uri: str | None = None  # None: resolved when the job runs, as for a cell
    experiment: str | None = None  # None: the source notebook's experiment
    kernel: str = "python3"
    cwd: str = "."  # where the notebook runs: its relative paths were written for there
    cell_timeout: float | None = None  # seconds per cell
    run_timeout: float | None = None  # seconds for the whole run
    retries: int = 0
    retry_delay: float = 60.0
    overlap: str = "skip"  # a run that finds the previous one still running: skip or wait
    on_failure: str | None = None  # a shell command run after the last failed attempt
    image: str | None = None  # the container image of the kubernetes target
    promote: Promote | None = None  # register-and-promote after a successful run
    steps: list[Step] = field(default_factory=list)
    max_parallel: int | None = None  # steps run side by side at most; None: the core count
    # A scoring job's monitoring, as written (nbmlops.monitor.settings reads them).
    monitor: dict[str, Any] | None = None
    alerts: list[Any] | None = None
    retrain: dict[str, Any] | None = None
    rollback: str | None = None

    @property
    def is_pipeline(self) -> bool:
        return bool(self.steps)

    def step(self, name: str) -> Step:
        found = next((s for s in self.steps if s.name == name), None)
        if found is None:
            raise JobError(f"job {self.name} has no step {name!r} (steps: "
                           f"{', '.join(s.name for s in self.steps) or 'none'})")
        return found

    def destination(self, folder: Path) -> config.Destination:
        """Where the runs of the job in ``folder`` go: to the notebook it was exported from
        (its experiment, unless job.yaml names one)."""
        source = folder / self.source if self.source else folder / self.notebook
        return config.destination(source, self.experiment, uri=self.tracking_uri)

    def param(self, name: str) -> ParamSpec | None:
        return next((p for p in self.parameters if p.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["parameters"] = {
            p.name: {k: v for k, v in asdict(p).items() if k != "name" and (k != "help" or v)}
            for p in self.parameters
        }
        for key in ("promote", *WATCH_SECTIONS):
            if data[key] is None:
                del data[key]  # job.yaml shows a section only when it is used
        if self.steps:
            for key in ("notebook", "source", "cwd"):
                del data[key]  # each step has its own
            data["steps"] = {s.name: s.to_dict() for s in self.steps}
        else:
            del data["steps"], data["max_parallel"]  # a one-notebook job.yaml as before
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = JOB_FILE) -> Job:
        if not isinstance(data, Mapping) or "name" not in data or (
                "notebook" not in data and not data.get("steps")):
            raise JobError(f"{where}: needs at least 'name' and 'notebook' (or 'steps')")
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise JobError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        values = dict(data)
        params = values.pop("parameters", None) or {}
        if not isinstance(params, Mapping):
            raise JobError(f"{where}: 'parameters' must be a mapping of name to spec")
        specs = []
        for name, spec in params.items():
            spec = spec if isinstance(spec, Mapping) else {"default": spec}
            kind = str(spec.get("type", type_of(spec.get("default"))))
            if kind not in TYPES:
                raise JobError(f"{where}: parameter {name}: unknown type {kind!r}")
            specs.append(ParamSpec(str(name), kind, spec.get("default"), str(spec.get("help", ""))))
        schedule = values.pop("schedule", None) or {}
        if not isinstance(schedule, Mapping):
            raise JobError(f"{where}: 'schedule' must be a mapping (cron, timezone, targets)")
        unknown = set(schedule) - {f.name for f in fields(Schedule)}
        if unknown:
            raise JobError(f"{where}: schedule: unknown key(s) {', '.join(sorted(unknown))}")
        promote = values.pop("promote", None)
        steps = values.pop("steps", None) or {}
        if not isinstance(steps, Mapping):
            raise JobError(f"{where}: 'steps' must be a mapping of step name to its notebook "
                           "and needs")
        job = cls(**values, parameters=specs, schedule=Schedule(**schedule),
                  promote=Promote.from_dict(promote, where) if promote is not None else None,
                  steps=[Step.from_dict(str(n), d, where) for n, d in steps.items()])
        if job.max_parallel is not None and (
                not isinstance(job.max_parallel, int) or job.max_parallel < 1):
            raise JobError(f"{where}: max_parallel must be a whole number >= 1")
        if job.overlap not in OVERLAP:
            raise JobError(f"{where}: overlap must be one of {', '.join(OVERLAP)}")
        job.watch()  # a monitoring typo fails here, before any kernel starts
        return job

    def watch(self) -> Watch:
        """The job's ``monitor:``, ``alerts:``, ``retrain:`` and ``rollback:``, parsed."""
        try:
            return settings.parse({k: getattr(self, k) for k in WATCH_SECTIONS})
        except ConfigError as e:
            raise JobError(f"job {self.name}: {e}") from None


#: A job's name: it becomes the folder ``jobs/NAME/``, so no separators and no dot first.
JOB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def check_name(name: str) -> str:
    """``name`` when it can name a job (its folder); JobError saying why not otherwise."""
    if not JOB_NAME.fullmatch(name):
        raise JobError(f"invalid job name {name!r}: letters, digits, '.', '_' and '-' only "
                       "(give one with --name)")
    return name


def default_name(notebook_stem: str) -> str:
    """The job name a notebook gives when none is asked for: its name, made a safe folder
    name (``it's a test`` -> ``it-s-a-test``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", notebook_stem).strip("-._")[:100] or "job"


def check_timezone(timezone: str) -> str:
    """``timezone`` when the IANA database knows it; JobError otherwise."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise JobError(f"unknown timezone {timezone!r} (e.g. UTC, Europe/Paris)") from None
    return timezone


def type_of(value: Any) -> str:
    """The job.yaml type of a literal default."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, dict):
        return "dict"
    return "any"


def type_of_annotation(annotation: str) -> str | None:
    """``float`` -> float, ``list[int]`` -> list, ``Optional[str]`` -> None (unknown)."""
    # mutation-equivalent: any maxsplit; the part before the first "[" is the same.
    base = annotation.split("[", 1)[0].strip().lower()
    aliases = {"tuple": "list", "sequence": "list", "mapping": "dict", "object": "any"}
    base = aliases.get(base, base)
    return base if base in TYPES else None


def coerce(spec: ParamSpec, value: Any) -> Any:
    """``value`` as the parameter's type; a string from the command line is parsed (``"0.1"``
    is a fine float). Raises JobError with one line saying what was expected."""
    kind = spec.type
    if kind == "any":
        return _parse(value) if isinstance(value, str) else value
    if kind == "str":
        return value if isinstance(value, str) else _fail(spec, value)
    parsed = _parse(value) if isinstance(value, str) else value
    if kind == "bool":
        if isinstance(parsed, bool):
            return parsed
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.lower() in ("true", "yes", "1")
    elif kind == "int":
        if isinstance(parsed, int) and not isinstance(parsed, bool):
            return parsed
    elif kind == "float":
        # 1e999 parses as infinity: no learning rate
        if isinstance(parsed, int | float) and not isinstance(parsed, bool) and (
                math.isfinite(parsed)):
            return float(parsed)
    elif kind == "list":
        if isinstance(parsed, list | tuple):
            return list(parsed)
    elif kind == "dict" and isinstance(parsed, dict):
        return parsed
    return _fail(spec, value)


def _parse(text: str) -> Any:
    # JSON first (what YAML files and `-p x '[1, 2]'` give), then Python literals (True, 'a').
    for parse in (json.loads, ast.literal_eval):
        try:
            return parse(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
    return text


def _fail(spec: ParamSpec, value: Any) -> Any:
    raise JobError(f"parameter {spec.name}: expected {spec.type}, got {value!r}")


def resolve_params(job: Job, given: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults overridden by ``given``, each value checked and cast to its declared type.

    Unknown names fail, and so does a parameter whose default is None and type not ``any``
    when no value is given (a required parameter).
    """
    unknown = [name for name in given if job.param(name) is None]
    if unknown:
        known = ", ".join(p.name for p in job.parameters) or "none"
        raise JobError(f"unknown parameter(s) {', '.join(unknown)} for job {job.name} "
                       f"(known: {known})")
    values: dict[str, Any] = {}
    for spec in job.parameters:
        if spec.name in given:
            values[spec.name] = coerce(spec, given[spec.name])
        elif spec.default is None and spec.type not in ("any",):
            raise JobError(f"parameter {spec.name} ({spec.type}) is required: "
                           f"pass -p {spec.name} VALUE")
        else:
            values[spec.name] = spec.default
    return passable(values)


#: The parameters reach papermill as one JSON word of its command line, which the system
#: caps at 128 KiB (MAX_ARG_STRLEN): what is larger cannot be run.
MAX_PARAMS_BYTES = 100_000


def passable(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` when a job's command line can carry them; JobError saying why not."""
    for name, value in values.items():
        if _has_nul(value):  # a NUL ends a C string: no command line nor database takes it
            raise JobError(f"parameter {name}: a NUL character cannot be passed to a job")
    size = len(json.dumps(values, default=repr))  # as papermill gets it: ASCII
    if size > MAX_PARAMS_BYTES:
        raise JobError(f"the parameters take {size} bytes as JSON; a job takes at most "
                       f"{MAX_PARAMS_BYTES}")
    return values


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


# -- the file ---------------------------------------------------------------------------------

_HEADER = (
    "# nbmlops job: `nbmlops run {folder}` runs it; `nbmlops export` again updates it.\n"
    "# Times are seconds. overlap: skip|wait. on_failure: a shell command, or null.\n"
)


def dump(job: Job, folder: str = ".") -> str:
    import yaml

    # mutation-equivalent: sort_keys=None (falsy, as False) and width=101 (one column more
    # before folding) write the same files.
    body = yaml.safe_dump(job.to_dict(), sort_keys=False, allow_unicode=True, width=100)
    return _HEADER.format(folder=folder) + body


def load(folder: str | Path) -> Job:
    """The job of ``folder`` (or of a ``job.yaml`` path)."""
    import yaml

    path = Path(folder)
    if path.is_dir():
        path = path / JOB_FILE
    try:
        text = regular_files.read_text(path)  # a pipe named job.yaml is refused, not waited on
    except FileNotFoundError:
        raise JobError(f"no job at {folder}: {path} is missing (create it with "
                       f"`nbmlops export NOTEBOOK`)") from None
    except OSError as e:
        raise JobError(f"cannot read {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise JobError(f"{path} is not UTF-8 text") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise JobError(f"{path} is not valid YAML: {' '.join(str(e).split())}") from None
    return Job.from_dict(data, str(path))


def folder_of(job_path: str | Path) -> Path:
    path = Path(job_path).resolve()
    return path.parent if path.name == JOB_FILE else path


def workdir_of(notebook: Path) -> Path | None:
    """The folder a job's notebook runs in (job.yaml's ``cwd``, a step's own), for a
    notebook that lies in a job folder; None for any other notebook. Both paths are relative
    to the job folder, so the answer follows a project that moved."""
    folder = notebook.parent
    if not (folder / JOB_FILE).is_file():
        return None
    job = load(folder)
    for name, cwd in [(s.notebook, s.cwd) for s in job.steps] or [(job.notebook, job.cwd)]:
        if (folder / name).resolve() == notebook.resolve():
            return (folder / cwd).resolve()
    return None

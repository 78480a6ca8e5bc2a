"""Whether a pipeline step is up to date: same code, parameters and inputs as its last
successful run, and its outputs still as that run left them.

The state of each step's last success is a small JSON file in the job folder
(``.nbmlops-state/<step>.json``): the check must answer in milliseconds without a tracking
store (which may be away, or slow to import), and the job folder is what a scheduled run
owns. The MLflow run of the step is named in it, so a skipped step can point at the run whose
results it reuses.

Fingerprints are full-content (:func:`nbmlops.data.fingerprints.fingerprint_file`), so a file
touched without a change stays up to date and a file rewritten with new content does not.
That module caches a file's fingerprint by (path, size, mtime_ns, ctime_ns, inode) in memory
and, for files of 1 MiB or more, on disk: an unchanged 1 GB input is hashed once, not on
every check, while any write to it (which moves mtime and ctime) makes it hashed again.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import xxhash

from nbmlops import regular_files
from nbmlops.atomic_files import write_atomic
from nbmlops.data.fingerprints import FingerprintError, fingerprint_file
from nbmlops.jobs.spec import STATE_DIR, Job, Step
from nbmlops.track import cells as notebook_cells


@dataclass
class StepState:
    """What one successful run of a step saw."""

    code: str
    params: str
    inputs: dict[str, str | None] = field(default_factory=dict)  # path -> fingerprint
    outputs: dict[str, str | None] = field(default_factory=dict)
    run_id: str | None = None  # the step's MLflow run
    finished: str = ""  # ISO time


@dataclass(frozen=True)
class Verdict:
    current: bool
    reason: str  # why it must run ("input ../data/raw.csv changed"), or "up to date"
    state: StepState | None


def code_digest(notebook: Path, kernel: str) -> str:
    """The step's code: its cells' types and sources and the kernel, not outputs or
    metadata (a notebook saved again without a change is the same code)."""
    h = xxhash.xxh3_128()
    h.update(kernel.encode())
    for cell in notebook_cells.read(notebook):
        h.update(json.dumps([cell.cell_type, cell.source]).encode())
    return h.hexdigest()


def params_digest(params: Mapping[str, Any]) -> str:
    text = json.dumps(dict(params), sort_keys=True, default=repr)
    return xxhash.xxh3_128(text.encode()).hexdigest()


def fingerprints(folder: Path, paths: list[str]) -> dict[str, str | None]:
    """Each path (relative to the job folder) with its content fingerprint; None when it is
    missing or unreadable."""
    found: dict[str, str | None] = {}
    for rel in paths:
        try:
            found[rel] = fingerprint_file(folder / rel)
        except FingerprintError:
            found[rel] = None
    return found


def state_path(folder: Path, step: str) -> Path:
    return folder / STATE_DIR / f"{step}.json"


def load_state(folder: Path, step: str) -> StepState | None:
    try:
        data = json.loads(regular_files.read_text(state_path(folder, step)))
        return StepState(**data)
    except (OSError, ValueError, TypeError):
        return None  # never run, or a state from another version: the step runs


def save_state(folder: Path, step: str, state: StepState) -> None:
    path = state_path(folder, step)
    # mutation-equivalent: parents=False; the job folder above it holds job.yaml.
    path.parent.mkdir(parents=True, exist_ok=True)
    # mutation-equivalent: any indent; the state reads back the same (1 keeps it short).
    write_atomic(path, json.dumps(asdict(state), indent=1).encode())


def forget(folder: Path, step: str) -> None:
    """A failed run leaves the step not up to date, whatever its earlier success."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(state_path(folder, step))


def check(folder: Path, job: Job, step: Step, params: Mapping[str, Any]) -> Verdict:
    """Whether ``step`` can be skipped, and if not, the first reason why."""
    state = load_state(folder, step.name)
    if state is None:
        return Verdict(False, "no successful run recorded", None)
    return compare(state, code_digest(folder / step.notebook, job.kernel),
                   params_digest(params), step, lambda paths: fingerprints(folder, paths))


def compare(state: StepState, code: str, params: str, step: Step,
            seen: Callable[[list[str]], Mapping[str, str | None]]) -> Verdict:
    """The rule, apart from the files: the step's last success (``state``) against its code
    and parameters digests now and the fingerprints ``seen`` gives for paths now. Files are
    asked for only once code and parameters agree (a changed notebook hashes nothing), and
    both the paths the step names now and those its last run saw are compared, so a path
    dropped from ``job.yaml`` still counts until the step runs again."""
    if state.code != code:
        return Verdict(False, "its notebook changed", state)
    if state.params != params:
        return Verdict(False, "its parameters changed", state)
    inputs = sorted(set(step.inputs) | set(state.inputs))
    now = seen(inputs)
    for path in inputs:
        if state.inputs.get(path) != now.get(path):
            return Verdict(False, f"input {path} changed", state)
    outputs = sorted(set(step.outputs) | set(state.outputs))
    now = seen(outputs)
    for path in outputs:
        if state.outputs.get(path) != now.get(path):
            return Verdict(False, f"output {path} is not what its last run wrote", state)
    return Verdict(True, "up to date", state)


def before_run(folder: Path, job: Job, step: Step, params: Mapping[str, Any]) -> StepState:
    """The step's code, parameters and inputs as the run about to start sees them."""
    return StepState(
        code=code_digest(folder / step.notebook, job.kernel),
        params=params_digest(params),
        inputs=fingerprints(folder, list(step.inputs)),
    )


def after_run(folder: Path, step: Step, state: StepState, run_id: str | None) -> StepState:
    """``state`` completed with the outputs the run left, saved as the step's last success."""
    state.outputs = fingerprints(folder, list(step.outputs))
    state.run_id = run_id
    state.finished = datetime.now(timezone.utc).isoformat(timespec="seconds")
    save_state(folder, step.name, state)
    return state

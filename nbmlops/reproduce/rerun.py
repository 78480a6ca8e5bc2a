"""``nbmlops reproduce RUN_ID``: re-run a tracked run's code slice and say whether it came back.

The order matters: the slice, the data files and the packages are checked before a kernel
starts (a changed file is named as the likely cause before anything runs); the slice then runs
in a fresh kernel with papermill, its tracked cell recorded as a new run tagged
``nbmlops.reproduces=<run id>``, uploaded in the foreground; the two runs are compared and the
verdict is tagged on the original run (``nbmlops.reproduced``), so gates can require it.

papermill runs as a child process, as for ``nbmlops run`` (a kernel that dies takes only that
process with it). The kernel works where the run's kernel worked, so the relative paths the
slice reads resolve as they did: the notebook's own folder, or for a job's notebook the folder
its job.yaml runs it in (``cwd``, a pipeline step's own). The executed slice is kept in a
temporary folder, in ``--out DIR``, or beside the notebook (``--in-place``). The
reproduction's run is found by the record id its status line left in the executed slice, so
no other run can be taken for it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from nbmlops import config, papermill_cli, store
from nbmlops.exceptions import NbmlopsError, ReproduceError
from nbmlops.jobs.run import failure_of
from nbmlops.jobs.spec import workdir_of
from nbmlops.reproduce import checks
from nbmlops.reproduce.home import home_of, recorded_notebook
from nbmlops.reproduce.verdict import Verdict, compare
from nbmlops.runs import lineage, query
from nbmlops.runs.entities import RunSummary
from nbmlops.sync import worker
from nbmlops.sync.spool import Spool
from nbmlops.track import cells as notebook_cells
from nbmlops.track.line import PREFIX
from nbmlops.track.status_line import METADATA_KEY as STATUS_METADATA

#: How long the reproduction waits for its tracked cell's record to upload.
SYNC_WAIT_SECONDS = 60.0
#: The kernel the slice runs in (the notebook's kernelspec when it names one).
KERNEL = "python3"

Say = Callable[[str], None]


@dataclass
class Reproduction:
    """What ``nbmlops reproduce`` found and did."""

    run: RunSummary
    verdict: Verdict
    files: list[checks.FileChange] = field(default_factory=list)
    scripts: list[checks.ScriptChange] = field(default_factory=list)
    packages: list[checks.PackageChange] = field(default_factory=list)
    reproduction_id: str | None = None
    notebook: Path | None = None  # the executed slice
    duration_s: float = 0.0

    @property
    def changes(self) -> list[checks.FileChange | checks.ScriptChange]:
        """What changed since the run, data and code: possible causes of a difference."""
        return [*self.files, *self.scripts]

    @property
    def exit_code(self) -> int:
        return 0 if self.verdict.verdict != "no" else 1


def reproduce(
    run_id: str, *, tracking_uri: str | None = None, tolerance: float = 1e-6,
    out: Path | None = None, in_place: bool = False,
    say: Say = lambda s: print(s, file=sys.stderr),
) -> Reproduction:
    """Re-run the code slice of ``run_id`` and compare; records the verdict on the run.
    The executed slice goes to ``out``, beside the notebook (``in_place``), or to a new
    temporary folder."""
    if not tolerance >= 0:
        raise ReproduceError(f"--tolerance must be a number >= 0 (got {tolerance})")
    current = config.project_root()  # where the user stands
    uri = config.store_uri(tracking_uri, current)
    run_id = lineage.full_run_id(run_id, uri)  # the short id a status line shows
    original = query.get_run(uri, run_id, history=False, artifacts=False).run
    text = query.artifact_text(uri, original.run_id, store.SLICE_NOTEBOOK_ARTIFACT)
    if text is None:
        raise ReproduceError(
            f"run {run_id} has no code slice ({store.SLICE_NOTEBOOK_ARTIFACT}): it was "
            "recorded without one (by an older nbmlops, or with slicing off)"
        )
    root = home_of(original, uri, current)  # where its notebook and data files are
    requirements = query.parse_requirements(
        query.artifact_text(uri, original.run_id, store.REQUIREMENTS_ARTIFACT) or ""
    )
    result = Reproduction(original, Verdict("no"))
    result.files = checks.changed_files(original.datasets, root)
    result.packages = checks.changed_packages(requirements)
    result.scripts = checks.changed_scripts(
        query.artifact_texts(uri, original.run_id, store.SCRIPTS_FOLDER), root)
    for change in [*result.files, *result.scripts]:
        say(f"nbmlops: {change}: a possible cause of any difference")
    if result.packages:
        say("nbmlops: packages differ from the run's: "
            + ", ".join(str(p) for p in result.packages))

    experiment = query.get_experiment(uri, original.experiment_id).name
    source = recorded_notebook(original)
    notebook = (root / source).resolve() if source else None
    here = notebook.parent if notebook is not None and notebook.parent.is_dir() else None
    if out is not None:
        folder = out.resolve()
    elif in_place and here is not None:
        folder = here
    else:
        folder = Path(tempfile.mkdtemp(prefix="nbmlops-reproduce-"))
    folder.mkdir(parents=True, exist_ok=True)
    workdir = _workdir(notebook) or here or folder
    slice_in = folder / f"{original.run_id}.slice.ipynb"
    slice_in.write_text(tagged(text, original.run_id), encoding="utf-8")
    result.notebook = folder / f"{original.run_id}.reproduced.ipynb"

    spool = Spool(config.spool_dir(current))
    env = dict(os.environ)
    for key in (config.ENV_PARENT_RUN_ID, config.ENV_PARENT_RUN_FILE, config.ENV_JOB,
                config.ENV_JOB_PARAMS, config.ENV_NOTEBOOK):
        env.pop(key, None)
    env.update({
        "MLFLOW_TRACKING_URI": uri,
        config.ENV_EXPERIMENT: experiment,
        config.ENV_SPOOL: str(spool.root),
        "NBMLOPS_AUTOSYNC": "0",  # uploaded here, in the foreground, below
        "NBMLOPS_STRICT": "0",
        **store.FAIL_FAST_ENV,
    })
    if notebook is not None:
        env[config.ENV_NOTEBOOK] = str(notebook)
    # A job run's reproduction is found, as the run is, from the notebook the job came from.
    env.pop(config.ENV_SOURCE_NOTEBOOK, None)
    if original.tags.get(store.SOURCE_NOTEBOOK_TAG):
        env[config.ENV_SOURCE_NOTEBOOK] = original.tags[store.SOURCE_NOTEBOOK_TAG]

    started = time.time()
    failure = _papermill(slice_in, result.notebook, workdir, env)
    result.duration_s = time.time() - started
    report = worker.drain(spool, timeout=SYNC_WAIT_SECONDS)
    found = _reproduction(uri, original, result.notebook)
    if found is None and failure is None:
        why = report.errors[0] if report.errors else "its record did not upload"
        failure = f"the reproduction's run is not in the store ({why})"
    result.reproduction_id = found.run_id if found else None
    result.verdict = compare(
        original.metrics, found.metrics if found else {},
        original.datasets, found.datasets if found else [], tolerance, failure,
    )
    _record(uri, original.run_id, result)
    return result


def _workdir(notebook: Path | None) -> Path | None:
    """Where a job ran the notebook (its job.yaml's ``cwd``), None for a notebook of no job."""
    if notebook is None:
        return None
    try:
        return workdir_of(notebook)
    except NbmlopsError as e:  # a guess would fail on every relative path the slice reads
        raise ReproduceError(f"cannot tell where job {notebook.parent.name} ran "
                             f"{notebook.name}: {e}") from None


def tagged(notebook_text: str, run_id: str) -> str:
    """The slice notebook with its tracked cell tagged as reproducing ``run_id``."""
    try:
        nb = notebook_cells.loads(notebook_text)
    except NbmlopsError:
        raise ReproduceError("the run's code slice is not a readable notebook") from None
    found = notebook_cells.tracked(notebook_cells.cells_of(nb))
    if not found:
        raise ReproduceError("the run's code slice has no %%track cell")
    cell = found[-1]
    # Last on the line: it wins over the tag of a run that was itself a reproduction.
    tag = f"--tag {store.REPRODUCES_TAG}={run_id}"
    line = " ".join(w for w in (PREFIX, cell.line, tag) if w)
    cell.cell.raw["source"] = f"{line}\n{cell.body}"
    return json.dumps(nb, indent=1)


def _papermill(notebook: Path, output: Path, cwd: Path, env: dict[str, str]) -> str | None:
    command = papermill_cli.command(
        str(notebook), str(output), "--cwd", str(cwd),
        "-k", KERNEL, "--no-progress-bar", "--log-level", "WARNING",
    )
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode == 0:
        return None
    return str(failure_of(output, done.stderr or "")).replace("job failed", "the slice failed")


def _reproduction(uri: str, original: RunSummary, executed: Path) -> RunSummary | None:
    """The run the executed slice's tracked cell became: its status line names its record,
    the run carries the record's id (and is tagged as reproducing ``original``)."""
    record_id = _record_id(executed)
    if record_id is None:
        return None
    client = store.client(uri)
    with store.fail_fast():
        runs = client.search_runs(
            [original.experiment_id],
            filter_string=f"tags.`{store.RECORD_ID_TAG}` = '{record_id}' and "
            f"tags.`{store.REPRODUCES_TAG}` = '{original.run_id}'",
            max_results=1,
        )
    return query.summary(runs[0]) if runs else None


def _record_id(executed: Path) -> str | None:
    """The record id of the last status line in an executed notebook (None if none)."""
    try:
        cells = notebook_cells.read(executed)
    except NbmlopsError:
        return None
    for cell in reversed(cells):
        for output in reversed(cell.raw.get("outputs") or []):
            shown = (output.get("metadata") or {}).get(STATUS_METADATA) or {}
            if isinstance(shown, dict) and re.fullmatch(r"[0-9a-f]{1,64}",
                                                        str(shown.get("record_id", ""))):
                return str(shown["record_id"])
    return None


def _record(uri: str, run_id: str, result: Reproduction) -> None:
    client = store.client(uri)
    tags = {store.REPRODUCED_TAG: result.verdict.verdict}
    if result.reproduction_id:
        tags[store.REPRODUCED_RUN_TAG] = result.reproduction_id
    differences = [*result.verdict.differences, *result.verdict.causes(result.changes),
                   *(f"package {p}" for p in result.packages)]
    tags[store.REPRODUCED_DIFF_TAG] = "\n".join(differences)[:store.MAX_TAG_VALUE] or "none"
    with store.fail_fast():
        for key, value in tags.items():
            client.set_tag(run_id, key, value)

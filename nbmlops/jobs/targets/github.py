"""GitHub Actions: a workflow that runs the job from the repository on GitHub's runners."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

from nbmlops import config
from nbmlops.exceptions import ScheduleError
from nbmlops.jobs.schedule import RUN_DATE_PARAM, check_cron, cron_of
from nbmlops.jobs.spec import Job
from nbmlops.jobs.targets.base import Target, step_commands


def job_ids(steps: list[str]) -> dict[str, str]:
    """Each step's GitHub job id: GitHub wants a letter or ``_`` first, then letters, digits,
    ``-`` and ``_`` (``01_load`` -> ``_01_load``, ``a.b`` -> ``a_b``); two steps that would
    share one get a number (``a_b-2``)."""
    ids: dict[str, str] = {}
    taken: set[str] = set()
    for step in steps:
        base = re.sub(r"[^A-Za-z0-9_-]", "_", step)
        if not re.match(r"[A-Za-z_]", base):
            base = "_" + base
        found, number = base, 2
        while found in taken:
            found, number = f"{base}-{number}", number + 1
        taken.add(found)
        ids[step] = found
    return ids


def _default(spec: dict[str, Any]) -> str:
    # a string literal of GitHub's expression language: single quotes, doubled inside
    return "'" + str(spec["default"]).replace("'", "''") + "'"


class GithubTarget(Target):
    name = "github"
    filename = "github-workflow.yml"
    description = "copy github-workflow.yml to .github/workflows/ of the repository"

    def workflow(self, job: Job, folder: Path) -> dict[str, Any]:
        root = config.project_root(folder)
        try:
            where = folder.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            where = folder.name
        kinds = {"int": "number", "float": "number", "bool": "boolean"}
        inputs = {
            p.name: {"description": p.help or p.name, "required": False,
                     "type": kinds.get(p.type, "string"),
                     "default": p.default if p.type in kinds else json.dumps(p.default)
                     if p.type in ("list", "dict") else str(p.default or "")}
            for p in job.parameters
        }
        # Inputs reach the script through the environment, never pasted into it (GitHub's
        # advice against script injection); paths are quoted for the shell.
        env = {
            f"NBMLOPS_PARAM_{p.name}": f"${{{{ inputs.{p.name} || {_default(inputs[p.name])} }}}}"
            for p in job.parameters if p.name != RUN_DATE_PARAM
        }
        # NAME=VALUE as one word: a value starting with "-" is never read as an option.
        args = "".join(
            f' -p "{p.name}=$NBMLOPS_PARAM_{p.name}"'
            if p.name != RUN_DATE_PARAM else f' -p "{p.name}=$(date -u +%F)"'
            for p in job.parameters
        )
        requirements = shlex.quote(f"{where}/requirements.txt")
        workflow: dict[str, Any] = {
            "name": f"nbmlops job {job.name}",
            "on": {"schedule": [{"cron": cron_of(job)}], "workflow_dispatch": {"inputs": inputs}},
            "concurrency": {"group": "nbmlops-" + re.sub(r"[^A-Za-z0-9._-]+", "-", job.name),
                            "cancel-in-progress": False},
            "jobs": {"run": {
                "runs-on": "ubuntu-latest",
                **({"timeout-minutes": max(1, round(job.run_timeout / 60))}
                   if job.run_timeout else {}),
                "env": {"MLFLOW_TRACKING_URI": "${{ secrets.MLFLOW_TRACKING_URI }}",
                        "MLFLOW_TRACKING_USERNAME": "${{ secrets.MLFLOW_TRACKING_USERNAME }}",
                        "MLFLOW_TRACKING_PASSWORD": "${{ secrets.MLFLOW_TRACKING_PASSWORD }}"},
                "steps": [
                    {"uses": "actions/checkout@v4"},
                    {"uses": "actions/setup-python@v5", "with": {"python-version": "3.11"}},
                    {"run": f"pip install nbmlops -r {requirements}"},
                    {"env": env, "run": f"nbmlops run {shlex.quote(where)}{args}"},
                ],
            }},
        }
        if job.steps:
            # One workflow job per step, with the pipeline's needs: GitHub draws the graph.
            # Each runs on a runner of its own: what a step reads from another must reach it
            # (a data store, or actions/upload-artifact and download-artifact).
            run = workflow["jobs"].pop("run")
            ids = job_ids([s.name for s in job.steps])
            for name, needs, command in step_commands(job, shlex.quote(where)):
                steps = [*run["steps"][:-1], {"env": env, "run": command + args}]
                workflow["jobs"][ids[name]] = {
                    **({"needs": [ids[n] for n in needs if n in ids]} if needs else {}),
                    **run, "steps": steps}
        return workflow

    def render(self, job: Job, folder: Path) -> str:
        import yaml

        note = ("# GitHub runs schedules in UTC" +
                ("" if job.schedule.timezone == "UTC" else
                 f"; this job's timezone {job.schedule.timezone} is not applied") + "\n")
        return note + yaml.safe_dump(self.workflow(job, folder), sort_keys=False, width=200)

    def check(self, text: str) -> None:
        import yaml

        data = yaml.safe_load(text)
        # PyYAML reads the key `on` as True (YAML 1.1), as GitHub does not; accept both.
        on = data.get("on", data.get(True)) if isinstance(data, dict) else None
        if not on or "jobs" not in data:
            raise ScheduleError("the GitHub workflow lacks 'on' or 'jobs'")
        for item in on.get("schedule", []):
            check_cron(item["cron"])

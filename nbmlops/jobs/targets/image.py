"""The container image a job runs in: a Dockerfile, and how to build it.

The image mirrors the project: the build context is the folder the job's notebook runs in
(its ``cwd``) together with the job folder, copied under :data:`PROJECT_IN_IMAGE`, so the
relative paths the notebook was written with hold inside the container too. Only the job
folder is copied; files the notebook reads from the project (``data/...``) are mounted
there, or read from shared storage, by whoever runs the image.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path, PurePosixPath

from nbmlops.exceptions import ScheduleError
from nbmlops.jobs.spec import Job
from nbmlops.jobs.targets.base import Target

PROJECT_IN_IMAGE = PurePosixPath("/project")
#: The image's non-root user; Kubernetes checks ``runAsNonRoot`` against this number.
USER_ID = 10001
#: What a job needs besides its notebook's imports: nbmlops runs it, papermill executes it in
#: an ipykernel.
RUNNERS = ("nbmlops", "papermill", "ipykernel")
INSTRUCTIONS = {"FROM", "ARG", "ENV", "COPY", "RUN", "USER", "WORKDIR", "CMD", "LABEL"}


def dns_name(name: str) -> str:
    """``name`` as Kubernetes and image registries accept it (lower case, digits, '-')."""
    slug = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    return (slug or "job")[:52]  # CronJob names are at most 52 characters


def image_name(job: Job) -> str:
    return job.image or f"{dns_name(job.name)}:latest"


def build_context(job: Job, folder: Path) -> Path:
    """The folder the job folder and the folders its notebooks run in all lie within."""
    folder = folder.resolve()
    cwds = [job.cwd, *(step.cwd for step in job.steps)]
    return Path(os.path.commonpath([folder, *((folder / cwd).resolve() for cwd in cwds)]))


def job_in_image(job: Job, folder: Path) -> PurePosixPath:
    """Where the job folder is inside the image."""
    relative = folder.resolve().relative_to(build_context(job, folder))
    return PROJECT_IN_IMAGE / relative.as_posix()


def _pinned(distribution: str) -> str:
    try:
        return f"{distribution}=={version(distribution)}"
    except PackageNotFoundError:
        return distribution


class ImageTarget(Target):
    name = "image"
    filename = "Dockerfile"
    description = "`nbmlops image JOB` prints (or, with Docker or Podman, runs) the build"
    timed = False

    def render(self, job: Job, folder: Path) -> str:
        relative = job_in_image(job, folder).relative_to(PROJECT_IN_IMAGE).as_posix()
        inside = job_in_image(job, folder)
        nbmlops, *runners = (_pinned(d) for d in RUNNERS)
        python = f"{sys.version_info.major}.{sys.version_info.minor}"
        return f"""\
# The image of nbmlops job {job.name}: `nbmlops run` with what the notebook imports.
# Build it from the project (the folder holding the job and what its notebook reads):
#   nbmlops image {relative}
# Files the notebook reads from the project are not copied: mount them under {PROJECT_IN_IMAGE}.
FROM python:{python}-slim
# nbmlops from the index this machine installed it from; a wheel or a private index works too
ARG NBMLOPS_REQUIREMENT={nbmlops}
ENV PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY {relative}/requirements.txt /tmp/job-requirements.txt
RUN pip install --no-cache-dir -r /tmp/job-requirements.txt "$NBMLOPS_REQUIREMENT" \\
        {" ".join(runners)} \\
    && useradd --create-home --uid {USER_ID} nbmlops
COPY --chown={USER_ID}:{USER_ID} {relative} {inside}
USER {USER_ID}:{USER_ID}
WORKDIR {inside}
CMD ["nbmlops", "run", "{inside}"]
"""

    def check(self, text: str) -> None:
        """The instructions are known ones, FROM comes first and the user is not root."""
        lines = _instructions(text)
        if not lines or lines[0][0] != "FROM":
            raise ScheduleError("the Dockerfile must start with FROM")
        for keyword, _ in lines:
            if keyword not in INSTRUCTIONS:
                raise ScheduleError(f"the Dockerfile has an unknown instruction {keyword}")
        users = [arg for keyword, arg in lines if keyword == "USER"]
        if not users or users[-1].split(":")[0] in ("root", "0"):
            raise ScheduleError("the Dockerfile must end as a non-root USER")


def _instructions(text: str) -> list[tuple[str, str]]:
    joined = text.replace("\\\n", " ")
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, arg = line.partition(" ")
            out.append((keyword.upper(), arg.strip()))
    return out


# -- building -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Build:
    """How to build a job's image: the command, and the engine that can run it here (if any)."""

    command: list[str]
    engine: str | None
    why_not: str = ""

    @property
    def shell(self) -> str:
        return " ".join(shlex.quote(part) for part in self.command)


def container_engine() -> tuple[str | None, str]:
    """The container engine that answers here (docker, then podman), or None and why not."""
    reasons = []
    for engine in ("docker", "podman"):
        path = shutil.which(engine)
        if path is None:
            reasons.append(f"no {engine}")
            continue
        try:
            done = subprocess.run([path, "info"], capture_output=True, text=True, timeout=20,
                                  check=False)
        except (OSError, subprocess.TimeoutExpired) as e:
            reasons.append(f"{engine}: {e}")
            continue
        if done.returncode == 0:
            return path, ""
        last = (done.stderr.strip().splitlines() or ["no answer"])[-1]
        reasons.append(f"{engine} has no engine to talk to ({last.strip()[:120]})")
    return None, "; ".join(reasons)


def build_plan(job: Job, folder: Path, tag: str | None = None) -> Build:
    engine, why_not = container_engine()
    context = build_context(job, folder)
    command = [Path(engine).name if engine else "docker", "build",
               "-f", os.path.relpath(folder / ImageTarget.filename),
               "-t", tag or image_name(job), os.path.relpath(context)]
    return Build(command, engine, why_not)


def build(plan: Build) -> int:
    """Run the build with the engine found, its output going to ours."""
    if plan.engine is None:
        raise ScheduleError(f"no container engine to build with: {plan.why_not}")
    return subprocess.run([plan.engine, *plan.command[1:]], check=False).returncode

"""What can make a reproduction differ, found before it runs: data files whose content
changed since the run read them, scripts it ran with ``%run`` that were edited since, and
packages installed at other versions than it used."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from nbmlops import config, redact, regular_files
from nbmlops.data import file_names, fingerprints
from nbmlops.exceptions import FingerprintError
from nbmlops.runs.entities import Dataset
from nbmlops.runs.lineage import source_path


@dataclass(frozen=True)
class FileChange:
    """A file the run read that is not what it was: changed (``now`` its fingerprint) or
    gone (``now`` None)."""

    path: str
    recorded: str
    now: str | None

    def __str__(self) -> str:
        if self.now is None:
            return f"{self.path} is gone (the run read {self.recorded[:8]})"
        return (f"{self.path} changed since the run (recorded {self.recorded[:8]}, "
                f"now {self.now[:8]})")


@dataclass(frozen=True)
class PackageChange:
    """A package the run imported, installed here at another version (``now`` None: not
    installed)."""

    name: str
    recorded: str
    now: str | None

    def __str__(self) -> str:
        return f"{self.name} {self.recorded} -> {self.now or 'not installed'}"


def file_path(dataset: Dataset, root: Path | None = None) -> str | None:
    """The local path of a file the run read (its MLflow dataset source), None for others.
    A project-relative source is under ``root`` (the current project by default), wherever
    the run was made."""
    if "input" not in dataset.contexts:
        return None
    return source_path(dataset.kind, dataset.source, root or config.project_root())


def changed_files(datasets: Iterable[Dataset], root: Path | None = None) -> list[FileChange]:
    """The files among ``datasets`` whose content fingerprint is not the recorded one (each
    named as the run named it)."""
    root = root or config.project_root()
    changes = []
    for dataset in datasets:
        path = file_path(dataset, root)
        if path is None:
            continue
        try:
            now: str | None = fingerprints.describe_file(path, "input").fingerprint
        except FingerprintError:
            now = None
        if now != dataset.fingerprint:
            changes.append(FileChange(file_names.name_of(path, root), dataset.fingerprint, now))
    return changes


@dataclass(frozen=True)
class ScriptChange:
    """A script the run ran with ``%run`` that is not what it was: its code, not its data."""

    name: str
    gone: bool = False

    def __str__(self) -> str:
        return (f"script {self.name} is gone" if self.gone
                else f"script {self.name} changed since the run")


def changed_scripts(recorded: Mapping[str, str], root: Path | None = None) -> list[ScriptChange]:
    """The scripts among ``recorded`` (``name -> code`` as the run kept it, redacted) whose
    file in the project now holds other code."""
    root = root or config.project_root()
    changes = []
    for name, code in sorted(recorded.items()):
        if name.startswith("outside/"):  # kept by its file name only: nothing to look at
            continue
        try:
            now: str | None = regular_files.read_text(file_names.path_of(name, root),
                                                      errors="replace")
        except OSError:
            now = None
        if now is None:
            changes.append(ScriptChange(name, gone=True))
        elif redact.redact_code(now) != code:
            changes.append(ScriptChange(name))
    return changes


def installed_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def changed_packages(
    recorded: Mapping[str, str], installed: Callable[[str], str | None] = installed_version
) -> list[PackageChange]:
    """Packages of ``recorded`` (``name -> version``, the run's ``env/requirements.txt``)
    installed here at another version, or not at all."""
    changes = []
    for name, version in sorted(recorded.items()):
        now = installed(name)
        if now != version:
            changes.append(PackageChange(name, version, now))
    return changes

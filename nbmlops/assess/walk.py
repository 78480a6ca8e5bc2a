"""Which files of a project ``nbmlops assess`` reads: its notebooks, code, tests, job folders
and model files, found by one walk that reaches the code first.

A project may hold far more data than code (50,000 files in ``data/``, a tree of images, a
cache). The walk goes breadth first through the project's folders; a folder of data (many
entries, next to no code among them) and a folder ``.gitignore`` ignores are not entered
then, but kept for the end, where they are walked within a budget: a notebook among data is
still found when there is time, and code is never lost to data. Nothing here reads a file.
"""

from __future__ import annotations

import fnmatch
import os
import subprocess
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from nbmlops import regular_files

#: Folders never searched for notebooks or code: environments, caches, build outputs.
SKIP_DIRS = {
    "node_modules", "__pycache__", "venv", "env", "site-packages", "build", "dist",
    "mlruns", "htmlcov",
}
MODEL_FILES = (".pkl", ".pickle", ".joblib")
CODE_FILES = (".ipynb", ".py")
#: Entries of data and ignored folders listed, at the end, before the walk gives up on them.
MAX_ENTRIES = 50_000
#: Entries the walk of the project's own folders lists at most (a guard, never met by code).
MAX_LISTED = 2_000_000
#: A folder with at least this many entries, fewer than 1 in 100 of them code, holds data.
DATA_ENTRIES = 500
#: The folders named in what was not walked.
SHOWN = 5


@dataclass
class ProjectFiles:
    notebooks: list[Path] = field(default_factory=list)
    python: list[Path] = field(default_factory=list)
    tests: list[Path] = field(default_factory=list)
    jobs: list[Path] = field(default_factory=list)
    models: list[Path] = field(default_factory=list)
    #: What could not be walked, said for the report (paths relative to the root).
    unwalked: list[str] = field(default_factory=list)


def project_files(root: Path) -> ProjectFiles:
    """The files of the project at ``root``, each list in the order of a walk from the top
    (a folder's files before its subfolders', by name)."""
    found = ProjectFiles()
    ignored = ignore_rule(root)
    own: deque[Path] = deque([root])
    later: list[tuple[int, Path]] = []  # (0: data, 1: ignored), folder
    listed = 0
    while own:
        here = own.popleft()
        dirs, names = _listing(root, here, found)
        listed += len(dirs) + len(names)
        if listed > MAX_LISTED:
            found.unwalked.append(f"more than {MAX_LISTED:,} entries; stopped at "
                                  f"{_rel(root, here)}")
            break
        data = _is_data(dirs, names)
        for d in dirs:
            rel = _rel(root, here / d)
            if ignored(rel, d):
                later.append((1, here / d))
            elif data:
                later.append((0, here / d))
            else:
                own.append(here / d)
    later.sort(key=lambda item: (item[0], item[1].parts))
    _walk_later(root, [folder for _, folder in later], found)
    for paths in (found.notebooks, found.python, found.tests, found.models):
        paths.sort(key=lambda p: (p.parent.parts, p.name))
    found.jobs.sort(key=lambda p: p.parts)
    return found


def _walk_later(root: Path, folders: list[Path], found: ProjectFiles) -> None:
    """Data and ignored folders, data first, until :data:`MAX_ENTRIES` entries were listed."""
    listed = 0
    for i, top in enumerate(folders):
        queue = deque([top])
        while queue:
            dirs, names = _listing(root, queue[0], found)
            listed += len(dirs) + len(names)
            if listed > MAX_ENTRIES:
                left = [_rel(root, f) for f in [queue[0], *folders[i + 1:]]]
                more = f" and {len(left) - SHOWN} more" if len(left) > SHOWN else ""
                found.unwalked.append(
                    f"more than {MAX_ENTRIES:,} entries in folders of data or that git "
                    f"ignores; not searched: {', '.join(left[:SHOWN])}{more}")
                return
            here = queue.popleft()
            queue.extend(here / d for d in dirs)


def _listing(root: Path, here: Path, found: ProjectFiles) -> tuple[list[str], list[str]]:
    """The subfolders of ``here`` the walk may enter and its file names; its notebooks,
    code, tests and model files added to ``found``. A job folder is one entry: its notebook
    is an exported copy, its runs/ and logs/ are outputs."""
    dirs: list[str] = []
    names: list[str] = []
    try:
        with os.scandir(here) as entries:
            for entry in entries:
                try:
                    is_dir = entry.is_dir(follow_symlinks=False)
                except OSError:
                    continue
                (dirs if is_dir else names).append(entry.name)
    except OSError:
        return [], []
    if "job.yaml" in names:
        found.jobs.append(here)
        return [], names
    parts = here.relative_to(root).parts
    in_tests = "tests" in parts or "test" in parts
    for name in sorted(names):
        path = here / name
        if name.endswith(".ipynb"):
            found.notebooks.append(path)
        elif name.endswith(".py"):
            is_test = in_tests or name.startswith("test_") or name.endswith("_test.py")
            (found.tests if is_test else found.python).append(path)
        elif name.endswith(MODEL_FILES):
            found.models.append(path)
    kept = sorted(d for d in dirs if not d.startswith(".") and d not in SKIP_DIRS
                  and not (here / d / "pyvenv.cfg").exists())
    return kept, names


def _is_data(dirs: list[str], names: list[str]) -> bool:
    entries = len(dirs) + len(names)
    code = sum(n.endswith(CODE_FILES) or n == "job.yaml" for n in names)
    return entries >= DATA_ENTRIES and code * 100 < entries


def ignore_rule(root: Path) -> Callable[[str, str], bool]:
    """Whether ``.gitignore`` ignores a folder, asked with its path relative to ``root``
    (posix) and its name: as git says in a repository, else by the plain patterns of
    ``root/.gitignore``."""
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--others", "--ignored",
             "--exclude-standard", "--directory", "--no-empty-directory"],
            capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        done = None
    if done is not None and done.returncode == 0:
        listed = done.stdout.decode("utf-8", errors="replace").split("\0")
        folders = {p.rstrip("/") for p in listed if p.endswith("/")}
        return lambda rel, name: rel in folders
    try:
        text = regular_files.read_text(root / ".gitignore", errors="replace", head=True)
    except OSError:
        return lambda rel, name: False
    patterns = [ln.strip() for ln in text.splitlines()
                if ln.strip() and not ln.startswith(("#", "!"))]
    return lambda rel, name: _matches(patterns, rel, name)


def _matches(patterns: Iterable[str], rel: str, name: str) -> bool:
    for p in patterns:
        anchored = "/" in p.rstrip("/")  # a pattern with an inner or leading slash: from root
        if fnmatch.fnmatch(rel if anchored else name, p.strip("/")):
            return True
    return False


def _rel(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()

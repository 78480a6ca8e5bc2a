"""The environment a cell ran in: Python, the packages it imported, and the git state.

Runs in the user's kernel on every tracked cell, so everything here is cached or overlapped
with the cell: the package index is built once per process and the result is reused until
``sys.modules`` changes; git runs in a background thread (:class:`GitProbe`) while the cell
executes. Nothing here raises: a missing or broken git gives ``None`` and ``""``.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from functools import lru_cache

from nbmlops import regular_files
from nbmlops.record import GitState
from nbmlops.redact import strip_credentials

__all__ = [
    "GIT_TIMEOUT",
    "MAX_DIFF_BYTES",
    "GitProbe",
    "git_diff",
    "git_state",
    "imported_packages",
    "prefetch_package_index",
    "python_version",
    "requirements_txt",
]

#: Seconds any one git command may take before it is killed.
GIT_TIMEOUT = 5.0
#: The diff artifact is cut here, with a marker line.
MAX_DIFF_BYTES = 2 * 1024 * 1024
TRUNCATED_MARKER = "\n# nbmlops: diff truncated at {size} bytes\n"


def python_version() -> str:
    """The interpreter's version, e.g. ``3.11.7``."""
    return platform.python_version()


# -- imported packages --------------------------------------------------------------------------

_SKIP = frozenset(sys.stdlib_module_names) | frozenset(sys.builtin_module_names)
_packages_lock = threading.Lock()
#: (len(modules), last key) of the last call, and its result.
_last_key: tuple[int, str | None] | None = None
_last_result: dict[str, str] = {}
#: top-level module name -> distribution names (``None`` until first needed).
_module_index: dict[str, list[str]] | None = None
#: normalised distribution name -> its metadata folder (the first one on ``sys.path`` wins).
_dist_dirs: dict[str, str] = {}
#: top-level module name -> {distribution: version} (empty for modules of no distribution).
_resolved: dict[str, dict[str, str]] = {}


def imported_packages(modules: Mapping[str, object] | None = None) -> dict[str, str]:
    """Installed distributions (name -> version) of the top-level modules imported so far.

    Standard-library and private (``_x``) modules are skipped, and so are modules that belong
    to no installed distribution (the project's own files). ``modules`` defaults to
    ``sys.modules``. The first call indexes the installed distributions (tens of ms); later
    calls cost microseconds until a new module is imported.
    """
    global _last_key, _last_result
    mods = sys.modules if modules is None else modules
    # Cheap change detector: a new import grows the dict and becomes its last key.
    key = (len(mods), next(reversed(mods.keys()), None) if isinstance(mods, dict) else None)
    with _packages_lock:
        if mods is sys.modules and key == _last_key:
            return dict(_last_result)
        names = {
            name
            for name, module in list(mods.items())  # a copy: other threads may import
            if module is not None  # None blocks an import, it is not one
            and "." not in name and not name.startswith("_") and name not in _SKIP
        }
        result: dict[str, str] = {}
        for name in sorted(names):
            result.update(_distributions_of(name))
        result = dict(sorted(result.items(), key=lambda kv: kv[0].lower()))
        if mods is sys.modules:
            _last_key, _last_result = key, result
        return dict(result)


def prefetch_package_index() -> threading.Thread:
    """Build the package index in a background thread (at extension load), so the first
    tracked cell does not pay for it; :func:`imported_packages` waits for it if needed."""

    def build() -> None:
        with _packages_lock:
            _index()

    thread = threading.Thread(target=build, name="nbmlops-packages", daemon=True)
    thread.start()
    return thread


def requirements_txt(packages: Mapping[str, str]) -> str:
    """``name==version`` lines, sorted by name (case-insensitively)."""
    lines = [f"{name}=={version}" for name, version in packages.items()]
    return "".join(line + "\n" for line in sorted(lines, key=str.lower))


def _distributions_of(module: str) -> dict[str, str]:
    found = _resolved.get(module)
    if found is None:
        index = _index()
        dists = index.get(module) or []
        if not dists and _normalize(module) in _dist_dirs:
            dists = [_normalize(module)]  # e.g. an editable install: RECORD lists a .pth
        found = {}
        for dist in dists:
            meta = _name_and_version(_dist_dirs[dist])
            if meta is not None:
                found[meta[0]] = meta[1]
        _resolved[module] = found
    return found


def _index() -> dict[str, list[str]]:
    """top-level module -> distributions, from the metadata folders on ``sys.path``.

    Does what ``importlib.metadata.packages_distributions()`` does (``top_level.txt``, else
    the first path component of each ``RECORD`` line) about ten times faster, because it
    only matches lines instead of building a ``PackagePath`` per installed file.
    """
    global _module_index
    if _module_index is not None:
        return _module_index
    index: dict[str, list[str]] = {}
    for entry in sys.path:
        folder = entry or "."
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for item in names:
            if not item.endswith((".dist-info", ".egg-info")):
                continue
            dist = _normalize(item.rsplit(".", 1)[0].split("-", 1)[0])
            if dist in _dist_dirs:
                continue  # shadowed by an earlier sys.path entry, as importlib does
            path = os.path.join(folder, item)
            _dist_dirs[dist] = path
            for module in _top_level_names(path):
                index.setdefault(module, []).append(dist)
    _module_index = index
    return index


_RECORD_TOP = re.compile(r"^([^/,\r\n]+)(/)?", re.MULTILINE)


def _top_level_names(path: str) -> set[str]:
    text = _read(os.path.join(path, "top_level.txt"))
    if text is not None:
        return set(text.split())
    tops: set[str] = set()
    for first, is_dir in _RECORD_TOP.findall(_read(os.path.join(path, "RECORD")) or ""):
        # A top-level file is a module named up to its first dot (six.py, _cffi.cpython-...so).
        tops.add(first if is_dir else first.split(".", 1)[0])
    return tops


def _name_and_version(path: str) -> tuple[str, str] | None:
    """``Name`` and ``Version`` from the headers of METADATA (or an egg's PKG-INFO)."""
    name = version = None
    files = (path,) if os.path.isfile(path) else (  # an egg-info may be a single file
        os.path.join(path, "METADATA"), os.path.join(path, "PKG-INFO"))
    for meta in files:
        text = _read(meta)
        if text is None:
            continue
        for line in text.splitlines():
            if not line.strip():
                break  # end of the headers
            if line.startswith("Name:"):
                name = line[5:].strip()
            elif line.startswith("Version:"):
                version = line[8:].strip()
        break
    return (name, version) if name and version else None


def _read(path: str) -> str | None:
    try:
        return regular_files.read_text(path, 1 << 26, errors="replace")  # RECORDs run to MBs
    except OSError:
        return None


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


# -- git ----------------------------------------------------------------------------------------


def git_state(
    root: str | os.PathLike[str], code: Iterable[str | os.PathLike[str]] = ()
) -> GitState | None:
    """Commit, branch, dirty flag and remote URL (credentials stripped) of the repository
    holding ``root``; ``None`` when it is not in one, or git is missing or fails.

    ``dirty`` means the commit does not hold the code as it is: there is no commit yet,
    tracked files differ from it (staged or not, as in ``git describe --dirty``), or a file
    of ``code`` (the run's notebook) is not tracked. Other untracked files do not count,
    they are listed in :func:`git_diff`.
    """
    root = os.fspath(root)
    if not _in_repository(root):
        return None
    out = _git(root, "status", "--porcelain=v2", "--branch", "-z", "--untracked-files=no",
               "--no-renames", "--ignore-submodules=dirty")
    if out is None:
        return _what_remains(root) if is_corrupt(root) else None
    state = GitState()
    for entry in out[0].split(b"\0"):
        if entry.startswith(b"# branch.oid "):
            oid = entry[13:].decode()
            state.commit = None if oid == "(initial)" else oid
        elif entry.startswith(b"# branch.head "):
            head = entry[14:].decode("utf-8", "replace")
            state.branch = None if head == "(detached)" else head
        elif entry[:2] in (b"1 ", b"2 ", b"u "):
            state.dirty = True
    state.dirty = state.dirty or state.commit is None or _untracked(root, code)
    state.remote = _remote(root)
    return state


def git_folder(root: str | os.PathLike[str]) -> str | None:
    """The ``.git`` (a folder, or the file of a worktree) at or above ``root``, found without
    asking git; None when there is none."""
    folder = os.path.abspath(root)
    while True:
        dot = os.path.join(folder, ".git")
        if os.path.lexists(dot):
            return dot
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def is_corrupt(root: str | os.PathLike[str]) -> bool:
    """Whether a ``.git`` lies at or above ``root`` and git, there, finds no repository (a
    damaged ``HEAD``, a missing ``objects`` folder): git itself then says "not a git
    repository", as for a plain folder."""
    if _git_executable() is None or os.environ.get("GIT_DIR") or git_folder(root) is None:
        return False
    return _git(os.fspath(root), "rev-parse", "--git-dir") is None


def _what_remains(root: str) -> GitState:
    """What a run can record of a corrupt repository: no commit (so the code is not known
    to be committed: dirty), and the remote its config file still names."""
    config = _config_file(root)
    out = _git(root, "config", "--file", config, "--get-regexp", r"^remote\..*\.url$") \
        if config and os.path.isfile(config) else None
    urls = dict(line.partition(" ")[::2] for line in
                (out[0].decode("utf-8", "replace").splitlines() if out else []))
    url = (urls.get("remote.origin.url") or next(iter(urls.values()), "")).strip()
    return GitState(commit=None, branch=None, dirty=True,
                    remote=strip_credentials(url) if url else None)


def _untracked(root: str, code: Iterable[str | os.PathLike[str]]) -> bool:
    """Whether a file of ``code`` that exists is not tracked (untracked or ignored); a file
    outside the repository, or git failing, says nothing."""
    paths = [os.path.abspath(os.path.join(root, p)) for p in code]
    paths = [p for p in paths if os.path.isfile(p)]
    if not paths:
        return False
    for path in paths:
        # ``ls-files`` lists a tracked path and fails on one outside the repository.
        out = _git(root, "ls-files", "-z", "--full-name", "--", path)
        if out is not None and not out[0]:
            return True
    return False


def git_diff(root: str | os.PathLike[str], max_bytes: int = MAX_DIFF_BYTES) -> str:
    """Uncommitted changes of the repository holding ``root``: ``git diff HEAD`` (staged and
    unstaged), then the untracked files as ``# untracked: path`` lines. Cut at ``max_bytes``
    with a marker; ``""`` when clean, not a repository, or git fails."""
    root = os.fspath(root)
    if not _in_repository(root):
        return ""
    flags = ("--no-color", "--no-ext-diff", "--no-textconv")
    diff = _git(root, "diff", "HEAD", *flags, max_bytes=max_bytes)
    if diff is None:  # no commit yet (or broken): everything staged, then what is not staged
        staged = _git(root, "diff", "--cached", *flags, max_bytes=max_bytes)
        unstaged = _git(root, "diff", *flags, max_bytes=max_bytes)
        diff = None if staged is None or unstaged is None else (
            staged[0] + unstaged[0], staged[1] or unstaged[1]
        )
    if diff is None:
        return ""
    text, truncated = diff
    if not truncated:
        untracked = _git(root, "ls-files", "--others", "--exclude-standard", "-z",
                         max_bytes=max_bytes)
        if untracked is not None:
            lines = b"".join(
                b"# untracked: " + p + b"\n" for p in untracked[0].split(b"\0") if p
            )
            text += lines
            truncated = untracked[1]
    if len(text) > max_bytes:
        text, truncated = text[:max_bytes], True
    result = text.decode("utf-8", "replace")
    return result + TRUNCATED_MARKER.format(size=max_bytes) if truncated else result


class GitProbe:
    """Git state and diff gathered on a background worker while the cell runs.

    ``GitProbe.start(root)`` at cell start, ``probe.result()`` at cell end. One long-lived
    worker serves every probe of the process (starting a thread per cell would cost about as
    much as git itself on a busy kernel), and a folder outside any repository gets no work at
    all. Every git command is killed after :data:`GIT_TIMEOUT` seconds.
    """

    def __init__(
        self, root: str | os.PathLike[str], *, diff: bool = True,
        code: Iterable[str | os.PathLike[str]] = (),
    ) -> None:
        self.root = os.fspath(root)
        self.diff = diff
        self.code = [os.fspath(p) for p in code]
        self._future: Future[tuple[GitState | None, str]] | None = None

    @classmethod
    def start(
        cls, root: str | os.PathLike[str], *, diff: bool = True,
        code: Iterable[str | os.PathLike[str]] = (),
    ) -> GitProbe:
        """Start probing the repository holding ``root``; ``diff`` also collects the diff
        when the work tree is dirty; ``code`` are the run's own files (see :func:`git_state`)."""
        probe = cls(root, diff=diff, code=code)
        if _in_repository(probe.root):
            probe._future = _worker().submit(probe._work)
        return probe

    def _work(self) -> tuple[GitState | None, str]:
        try:
            state = git_state(self.root, self.code)
            diff = git_diff(self.root) if self.diff and state is not None and state.dirty else ""
        except Exception:  # the probe must never break a cell
            return None, ""
        return state, diff

    def then(self, callback: Callable[[GitState | None, str], None]) -> None:
        """Call ``callback(state, diff)`` on the worker once git has answered."""
        if self._future is None:
            callback(None, "")
        else:
            self._future.add_done_callback(lambda future: callback(*future.result()))

    def done(self) -> bool:
        """Whether :meth:`result` would answer without waiting."""
        return self._future is None or self._future.done()

    def result(self, timeout: float | None = 2 * GIT_TIMEOUT) -> tuple[GitState | None, str]:
        """``(state, diff)``, waiting up to ``timeout`` seconds; ``(None, "")`` if git did not
        answer in time or there is no repository."""
        if self._future is None:
            return None, ""
        try:
            return self._future.result(timeout)
        except FutureTimeout:
            return None, ""


@lru_cache(maxsize=1)
def _worker() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="nbmlops-git")


def _in_repository(root: str) -> bool:
    """Whether git can possibly find a repository from ``root``: git is on PATH and a
    ``.git`` exists at or above it (stats only, so a plain folder costs no subprocess)."""
    if _git_executable() is None:
        return False
    if os.environ.get("GIT_DIR"):
        return True
    folder = os.path.abspath(root)
    while True:
        if os.path.exists(os.path.join(folder, ".git")):
            return True
        parent = os.path.dirname(folder)
        if parent == folder:
            return False
        folder = parent


@lru_cache(maxsize=1)
def _git_executable() -> str | None:
    return shutil.which("git")


def _git(
    root: str, *args: str, max_bytes: int | None = None
) -> tuple[bytes, bool] | None:
    """Run ``git -C root args``: ``(stdout, truncated)``, or ``None`` on any failure.

    ``GIT_OPTIONAL_LOCKS=0`` keeps ``git status`` from refreshing the index, which would take
    ``index.lock`` from under a ``git commit`` the user runs at the same time.
    """
    exe = _git_executable()
    if exe is None:
        return None
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    try:
        proc = subprocess.Popen(
            [exe, "-C", root, *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env=env,
        )
    except OSError:
        return None
    timer = threading.Timer(GIT_TIMEOUT, proc.kill)
    timer.daemon = True
    timer.start()
    truncated = False
    try:
        assert proc.stdout is not None
        if max_bytes is None:
            out = proc.stdout.read()
        else:
            out = proc.stdout.read(max_bytes + 1)
            if len(out) > max_bytes:
                out, truncated = out[:max_bytes], True
                proc.kill()  # the rest is not wanted; do not wait for git to write it
        code = proc.wait()
    except OSError:
        return None
    finally:
        timer.cancel()
        if proc.stdout is not None:
            proc.stdout.close()
    if truncated:
        return out, True
    return (out, False) if code == 0 else None


_remote_cache: dict[tuple[str, str | None, tuple[int, int, int] | None], str | None] = {}


def _remote(root: str) -> str | None:
    """``origin``'s URL (else the first remote's), credentials stripped; cached per repository
    until its config file changes."""
    config = _config_file(root)
    try:
        # git rewrites its config by renaming a new file over it: the inode changes even
        # when the mtime does not (coarse clock).
        st = os.stat(config) if config else None
        version = (st.st_mtime_ns, st.st_ino, st.st_size) if st else None
    except OSError:
        version = None
    key = (os.path.abspath(root), config, version)
    if key in _remote_cache:
        return _remote_cache[key]
    out = _git(root, "config", "--get-regexp", r"^remote\..*\.url$")
    urls: dict[str, str] = {}
    for line in (out[0].decode("utf-8", "replace").splitlines() if out else []):
        name, _, value = line.partition(" ")
        urls.setdefault(name[len("remote."):-len(".url")], value.strip())
    url = urls.get("origin") or next(iter(urls.values()), None)
    result = strip_credentials(url) if url else None
    _remote_cache[key] = result
    return result


def _config_file(root: str) -> str | None:
    """The repository's ``config`` (following a ``.git`` file of a worktree or submodule)."""
    folder = os.path.abspath(root)
    while True:
        dot = os.path.join(folder, ".git")
        if os.path.isdir(dot):
            return os.path.join(dot, "config")
        if os.path.isfile(dot):
            text = _read(dot) or ""
            if text.startswith("gitdir:"):
                gitdir = os.path.join(folder, text[7:].strip())
                common = _read(os.path.join(gitdir, "commondir"))
                if common:
                    gitdir = os.path.join(gitdir, common.strip())
                return os.path.join(os.path.normpath(gitdir), "config")
            return None
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def git_remote(root: str | os.PathLike[str]) -> str | None:
    """The URL of the repository ``root`` is in (``origin``, else its first remote), None
    outside git or without a remote."""
    return _remote(os.fspath(root))

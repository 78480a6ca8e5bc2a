"""Which notebook this kernel runs, and which cell is executing.

This runs inside the user's kernel on every tracked cell, so it stays cheap: it never imports
mlflow or jupyter_server, reads Jupyter's runtime files directly and asks a Jupyter server's
REST API with ``urllib`` only when nothing cheaper answers. What cannot change while the kernel
lives (who launched it, which server owns it) is looked up once per process.

Where the notebook path comes from, first answer wins:

1. ``NBMLOPS_NOTEBOOK`` (set by ``nbmlops run`` and by anyone who knows better);
2. VS Code's ``__vsc_ipynb_file__`` in the user namespace;
3. a ``papermill`` CLI process among the kernel's ancestors (``nbmlops run`` starts it as
   ``python -m nbmlops.papermill_cli``): its INPUT notebook;
4. ``JPY_SESSION_NAME``, which jupyter_server 2 puts in the environment of kernels it starts
   for a session (absolute when the frontend names the session, as JupyterLab does, else the
   API path relative to the server's root);
5. the ``/api/sessions`` endpoint of the Jupyter server that owns this kernel.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbmlops import config, papermill_cli, regular_files

__all__ = ["cell_id", "cell_id_of_source", "clear_cache", "notebook_path"]

_HTTP_TIMEOUT = 1.0
# A lookup that hit an unreachable or failing server is tried again after this many seconds,
# instead of costing a timeout on every tracked cell.
_RETRY_AFTER = 60.0
_MAX_ANCESTORS = 16
# nbformat 4.5's pattern for cell ids; anything else a frontend sends (VS Code sends the cell
# document's URI) is not a notebook cell id.
_NBFORMAT_CELL_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")
# A contents-manager drive prefix such as ``RTC:`` in front of an API path.
_DRIVE_PREFIX = re.compile(r"[A-Za-z][\w.-]+:(?!/)")

# papermill CLI options that take values (papermill/cli.py), and how many.
_PAPERMILL_VALUE_OPTIONS = {
    "-p": 2, "--parameters": 2, "-r": 2, "--parameters_raw": 2,
    "-f": 1, "--parameters_file": 1, "-y": 1, "--parameters_yaml": 1,
    "-b": 1, "--parameters_base64": 1, "--engine": 1, "--autosave-cell-every": 1,
    "-k": 1, "--kernel": 1, "-l": 1, "--language": 1, "--cwd": 1,
    "--stdout-file": 1, "--stderr-file": 1, "--log-level": 1,
    "--start-timeout": 1, "--start_timeout": 1, "--execution-timeout": 1,
}


@dataclass
class _Cached:
    pid: int
    path: str | None
    existed: bool
    expires: float


_cached: _Cached | None = None
# (path, mtime_ns, size) of the last notebook indexed by cell source, and the index.
_source_index: tuple[tuple[str, int, int], dict[str, list[str]]] | None = None


# -- public API -------------------------------------------------------------------------------


def notebook_path(shell: Any) -> str | None:
    """Absolute path of the notebook this kernel runs, or None (plain IPython).

    Never raises. ``NBMLOPS_NOTEBOOK`` and VS Code's variable are read on every call; the rest
    is cached per process (and looked up again if the cached file disappears, e.g. renamed).
    """
    global _cached
    explicit = config.notebook_override()
    if explicit:
        return os.path.abspath(os.path.expanduser(explicit))
    vscode = _user_ns(shell).get("__vsc_ipynb_file__")
    if isinstance(vscode, str) and vscode:
        return os.path.abspath(vscode)

    now = time.monotonic()
    hit = _cached
    if (
        hit is not None
        and hit.pid == os.getpid()  # a forked child may run something else
        and now < hit.expires
        and not (hit.existed and hit.path and not os.path.exists(hit.path))
    ):
        return hit.path
    try:
        path, definitive = _discover()
    except Exception:  # locating the notebook must never break a cell
        path, definitive = None, False
    _cached = _Cached(
        pid=os.getpid(),
        path=path,
        existed=bool(path) and os.path.exists(path or ""),
        expires=math.inf if definitive else now + _RETRY_AFTER,
    )
    return path


def cell_id(shell: Any, given: str | None = None) -> str | None:
    """The nbformat id of the cell being executed, or None. Never raises.

    JupyterLab sends it as ``metadata.cellId`` of the execute request and ipykernel hands it to
    IPython (``given``: the ``cell_id`` of IPython's ``ExecutionInfo``). nbclient (papermill,
    nbconvert) sends none and VS Code sends a cell URI, so then the running cell's source is
    looked up in the notebook file; a unique match gives its id.
    """
    if given and _NBFORMAT_CELL_ID.fullmatch(given):
        return given
    try:
        sent, source = _execute_request(shell)
        if sent and _NBFORMAT_CELL_ID.fullmatch(sent):
            return sent
        if source is None or not source.strip():
            return None
        notebook = notebook_path(shell)
        return _cell_id_by_source(notebook, source) if notebook else None
    except Exception:  # a missing cell id only changes a run's name
        return None


def cell_id_of_source(shell: Any, source: str | None, given: str | None = None) -> str | None:
    """The nbformat id of a cell that ran with ``source``: ``given`` when the frontend sent a
    valid one, else the notebook file's cell with that source, if exactly one. Never raises.

    For a cell that already ran (the history of untracked cells): the running request may be
    another cell's by then, and a cell run by code (``run_cell``) has a source of its own."""
    if given and _NBFORMAT_CELL_ID.fullmatch(given):
        return given
    try:
        if source is None or not source.strip():
            return None
        notebook = notebook_path(shell)
        return _cell_id_by_source(notebook, source) if notebook else None
    except Exception:  # a missing cell id only weakens stale-state warnings
        return None


def clear_cache() -> None:
    """Forget what was found about this process (the next call looks again)."""
    global _cached, _source_index
    _cached = None
    _source_index = None


# -- discovery ------------------------------------------------------------------------------


@dataclass
class _Lineage:
    """What the kernel's ancestors tell: a papermill CLI, or another kernel, above us."""

    pids: list[int] = field(default_factory=list)  # ancestors below the stop, nearest first
    papermill: tuple[Any, list[str]] | None = None  # (psutil.Process, its CLI arguments)
    under_kernel: bool = False  # an ancestor is itself a Jupyter kernel


@dataclass
class _Server:
    pid: int
    url: str
    token: str
    root_dir: str


def _discover() -> tuple[str | None, bool]:
    """(path, definitive): not definitive when a server could not be asked."""
    if "ipykernel" not in sys.modules:
        # Plain IPython: no frontend, and a JPY_SESSION_NAME here was inherited (`!ipython`).
        return None, True
    lineage = _lineage()
    if lineage.papermill is not None:
        # papermill launched us: its input is the answer, and a JPY_SESSION_NAME we see was
        # inherited from whoever ran papermill.
        return _papermill_input(*lineage.papermill), True

    connection_file = _connection_file()
    if connection_file is None and not os.environ.get("JPY_SESSION_NAME"):
        return None, True  # an embedded kernel without a connection file: no server knows us
    servers = _servers(connection_file)
    owners = [s for s in servers if s.pid in lineage.pids]
    if lineage.under_kernel and not owners:
        # Started from inside another kernel (nbclient, papermill's Python API): any
        # JPY_SESSION_NAME is the outer notebook's.
        return None, True

    path = _from_session_name(owners or servers)
    if path:
        return path, True
    kernel_id = _kernel_id(connection_file)
    if not kernel_id:
        return None, True
    return _from_session_api(kernel_id, owners or servers)


def _lineage() -> _Lineage:
    import psutil

    lineage = _Lineage()
    try:
        ancestors = psutil.Process().parents()[:_MAX_ANCESTORS]
    except psutil.Error:
        return lineage
    for proc in ancestors:
        try:
            argv = proc.cmdline()
        except psutil.Error:
            argv = []
        args = _papermill_args(argv)
        if args is not None:
            lineage.papermill = (proc, args)
            break
        if _is_kernel(argv):
            lineage.under_kernel = True
            break
        lineage.pids.append(proc.pid)
    return lineage


def _stem(arg: str) -> str:
    name = os.path.basename(arg).lower()
    for suffix in (".exe", "-script.py", ".py"):
        name = name.removesuffix(suffix)
    return name


def _papermill_args(argv: list[str]) -> list[str] | None:
    """The arguments after ``papermill`` when ``argv`` runs the papermill CLI, else None."""
    if not argv:
        return None
    if _stem(argv[0]) == "papermill":
        return argv[1:]
    if not _stem(argv[0]).startswith("python"):
        return None
    i = 1
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("-m"):  # "-m papermill" or "-mpapermill"
            module, rest = (argv[i + 1:i + 2], i + 2) if arg == "-m" else ([arg[2:]], i + 1)
            return argv[rest:] if module and module[0] in papermill_cli.MODULES else None
        if arg.startswith("-c"):
            return None
        if arg in ("-W", "-X", "--check-hash-based-pycs"):
            i += 2
            continue
        if arg.startswith("-"):
            i += 1
            continue
        # The script python runs: the papermill console script runs with a shebang this way.
        return argv[i + 1:] if _stem(arg) == "papermill" else None
    return None


def _is_kernel(argv: list[str]) -> bool:
    for i, arg in enumerate(argv):
        if arg in ("ipykernel_launcher", "ipykernel") and i > 0 and argv[i - 1] == "-m":
            return True
        if os.path.basename(arg) == "ipykernel_launcher.py":
            return True
    return False


# -- papermill --------------------------------------------------------------------------------


def _parse_papermill(args: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """Positional arguments and option values of a papermill command line (click syntax)."""
    positional: list[str] = []
    options: dict[str, list[str]] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            positional.extend(args[i:])
            break
        if arg == "-" or not arg.startswith("-"):
            positional.append(arg)
            continue
        if arg.startswith("--"):
            name, eq, inline = arg.partition("=")
            attached = [inline] if eq else []
        else:  # click accepts a short option's value glued on: -kpython3
            name, attached = arg[:2], ([arg[2:]] if len(arg) > 2 else [])
        nargs = _PAPERMILL_VALUE_OPTIONS.get(name, 0)
        if nargs:
            values = attached + args[i:i + nargs - len(attached)]
            i += nargs - len(attached)
            options.setdefault(name.lstrip("-"), []).extend(values)
    # Short and long spellings of the same option, under the long name.
    for short, long in (("p", "parameters"), ("r", "parameters_raw")):
        if short in options:
            options.setdefault(long, []).extend(options.pop(short))
    return positional, options


def _papermill_input(proc: Any, args: list[str]) -> str | None:
    positional, options = _parse_papermill(args)
    if not positional:
        return None
    if len(positional) == 1 and _stdin_is_pipe(proc.pid):
        return None  # `... | papermill out.ipynb`: the input comes from stdin
    notebook = _format_papermill_path(positional[0], options)
    if notebook == "-" or "://" in notebook:
        return None
    if os.path.isabs(notebook):
        return os.path.normpath(notebook)
    cwd = options.get("cwd", [None])[-1]
    for base in _papermill_start_dirs(proc, cwd, notebook):
        candidate = os.path.normpath(os.path.join(base, notebook))
        if os.path.isfile(candidate):
            return candidate
    return None


def _format_papermill_path(path: str, options: dict[str, list[str]]) -> str:
    # papermill formats paths with the parameters: `papermill "nb_{region}.ipynb" ...`
    if "{" not in path:
        return path
    params: dict[str, Any] = {}
    values = options.get("parameters", [])
    for name, value in zip(values[::2], values[1::2], strict=False):
        params[name] = _papermill_value(value)
    raw = options.get("parameters_raw", [])
    params.update(zip(raw[::2], raw[1::2], strict=False))
    try:
        return path.format(**params)
    except (KeyError, IndexError, ValueError):
        return path


def _papermill_value(value: str) -> Any:
    # As papermill's CLI types -p values, so format specs like {n:03d} work.
    constants = {"True": True, "False": False, "None": None}
    if value in constants:
        return constants[value]
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def _papermill_start_dirs(proc: Any, cwd: str | None, notebook: str) -> list[str]:
    """Where papermill may have started: it reads its input relative to that folder, but it
    has moved into ``--cwd`` for the run, which is all its current folder shows.

    A relative ``--cwd`` tells the start folder from the current one (``--cwd ../x``: one of
    the current folder's siblings, the one holding the notebook); else what started papermill
    tells it: ``PWD`` when a shell did, the current folders of its parent and the processes
    above. (A program that started papermill in another folder with an absolute ``--cwd``
    leaves no trace of it: ``NBMLOPS_NOTEBOOK`` or an absolute input path tell then.)"""
    import psutil

    dirs: list[str] = []
    try:
        now = proc.cwd()
    except psutil.Error:
        return dirs
    if cwd is None:
        return [now]
    relative = os.path.normpath(cwd)
    if not os.path.isabs(relative):
        dirs += _starts_of_relative_cwd(now, relative, notebook)
    try:
        pwd = proc.environ().get("PWD")  # what a shell set when it started papermill
        if pwd and os.path.isabs(pwd):
            dirs.append(pwd)
    except psutil.Error:
        pass
    try:
        for parent in proc.parents()[:_MAX_ANCESTORS]:
            dirs.append(parent.cwd())
    except psutil.Error:
        pass
    return list(dict.fromkeys(dirs))


#: How many entries of a folder are looked at for the start of ``--cwd ../x``.
_MAX_SIBLINGS = 1000


def _starts_of_relative_cwd(now: str, cwd: str, notebook: str) -> list[str]:
    """The folders ``start`` with ``start/cwd == now`` (``cwd`` normalised, relative)."""
    parts = Path(cwd).parts
    ups = parts.count("..")  # normalised: all of them come first
    base = now
    for _ in range(len(parts) - ups):  # "a/b": the start is two folders up
        base = os.path.dirname(base)
    if ups == 0:
        return [base]
    if ups > 1:
        return []  # ../../x: the start is two unknown names down; not searched
    # ../x: the start is a sibling of x; the one holding the notebook, when only one does.
    try:
        with os.scandir(base) as entries:
            found = [e.path for _, e in zip(range(_MAX_SIBLINGS), entries, strict=False)
                     if e.is_dir() and os.path.isfile(os.path.join(e.path, notebook))]
    except OSError:
        return []
    return found if len(found) == 1 else []


def _stdin_is_pipe(pid: int) -> bool:
    try:
        return stat.S_ISFIFO(os.stat(f"/proc/{pid}/fd/0").st_mode)
    except OSError:
        return False  # not Linux, or not ours to look at


# -- Jupyter server -----------------------------------------------------------------------------


def _connection_file() -> str | None:
    if "ipykernel" not in sys.modules:
        return None  # plain IPython: no kernel, no connection file
    try:
        from ipykernel.connect import get_connection_file

        return str(get_connection_file())
    except Exception:  # an embedded or unusual kernel
        return None


def _kernel_id(connection_file: str | None) -> str | None:
    if not connection_file:
        return None
    match = re.fullmatch(r"kernel-(.+)\.json", os.path.basename(connection_file))
    return match.group(1) if match else None


def _servers(connection_file: str | None) -> list[_Server]:
    """Running Jupyter servers from their runtime files (``jpserver-*.json``, and the classic
    notebook's ``nbserver-*.json``)."""
    import psutil

    folders: list[str] = []
    if connection_file:
        # A server writes its kernels' connection files into its own runtime folder.
        folders.append(os.path.dirname(os.path.abspath(connection_file)))
    try:
        from jupyter_core.paths import jupyter_runtime_dir

        folders.append(jupyter_runtime_dir())
    except Exception:
        pass
    servers: dict[int, _Server] = {}
    for folder in dict.fromkeys(folders):
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        for name in names:
            if not (name.startswith(("jpserver-", "nbserver-")) and name.endswith(".json")):
                continue
            try:
                with open(os.path.join(folder, name), encoding="utf-8") as f:
                    info = json.load(f)
                pid = int(info["pid"])
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if pid in servers or not psutil.pid_exists(pid):
                continue  # runtime files outlive servers that were killed
            servers[pid] = _Server(
                pid=pid,
                url=str(info.get("url") or ""),
                token=str(info.get("token") or ""),
                root_dir=str(info.get("root_dir") or info.get("notebook_dir") or ""),
            )
    return list(servers.values())


def _join_api_path(root: str, path: str) -> str:
    """``root`` joined with a server API path; a drive prefix (``RTC:``) is dropped when only
    the path without it exists."""
    joined = os.path.join(root, path.lstrip("/"))
    drive = _DRIVE_PREFIX.match(path)
    if drive and not os.path.exists(joined):
        bare = os.path.join(root, path[drive.end():].lstrip("/"))
        if os.path.exists(bare):
            joined = bare
    return os.path.normpath(joined)


def _from_session_name(servers: list[_Server]) -> str | None:
    name = os.environ.get("JPY_SESSION_NAME")
    if not name:
        return None
    if os.path.isabs(name):
        candidates = [name]
    else:  # an API path, relative to the root of the server that started us
        candidates = [_join_api_path(s.root_dir, name) for s in servers if s.root_dir]
    for candidate in candidates:
        # A console's session name is no file; a renamed notebook's no longer is one.
        if os.path.isfile(candidate):
            return os.path.normpath(candidate)
    return None


def _from_session_api(kernel_id: str, servers: list[_Server]) -> tuple[str | None, bool]:
    definitive = True
    for server in servers:
        sessions = _get_sessions(server)
        if sessions is None:
            definitive = False
            continue
        mine = [s for s in sessions if (s.get("kernel") or {}).get("id") == kernel_id]
        # A console can share the notebook's kernel; the notebook names the experiment.
        mine.sort(key=lambda s: s.get("type") != "notebook")
        for session in mine:
            path = session.get("path") or (session.get("notebook") or {}).get("path")
            if isinstance(path, str) and path and server.root_dir:
                return _join_api_path(server.root_dir, path), True
    return None, definitive


def _get_sessions(server: _Server) -> list[dict[str, Any]] | None:
    """The server's sessions, or None when it cannot be asked."""
    import ssl
    import urllib.request
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(server.url)
        host = parts.hostname or ""
        if host in ("", "localhost", "0.0.0.0", "::", "::1"):
            host = "127.0.0.1"  # the server runs here; skip name resolution
        elif ":" in host:
            host = f"[{host}]"
        netloc = f"{host}:{parts.port}" if parts.port else host
        url = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/") + "/api/sessions", "", ""))
        headers = {"Authorization": f"token {server.token}"} if server.token else {}
        handlers: list[Any] = [urllib.request.ProxyHandler({})]  # never via an http_proxy
        if parts.scheme == "https":
            # A local server's certificate is often self-signed; it is the server that wrote
            # the runtime file we read the token from.
            handlers.append(urllib.request.HTTPSHandler(context=ssl._create_unverified_context()))
        opener = urllib.request.build_opener(*handlers)
        request = urllib.request.Request(url, headers=headers)
        with opener.open(request, timeout=_HTTP_TIMEOUT) as response:
            sessions = json.loads(response.read().decode("utf-8"))
    except Exception:  # refused, timed out, forbidden, not JSON
        return None
    return [s for s in sessions if isinstance(s, dict)] if isinstance(sessions, list) else None


# -- cell id ------------------------------------------------------------------------------------


def _user_ns(shell: Any) -> dict[str, Any]:
    ns = getattr(shell, "user_ns", None)
    return ns if isinstance(ns, dict) else {}


def _execute_request(shell: Any) -> tuple[str | None, str | None]:
    """(cell id the frontend sent, source of the running cell)."""
    sent: str | None = None
    source: str | None = None
    # IPython keeps the running cell's ExecutionInfo here while its code runs; ipykernel
    # fills info.cell_id from the request's metadata.cellId.
    result = getattr(getattr(shell, "displayhook", None), "exec_result", None)
    info = getattr(result, "info", None)
    if info is not None:
        sent = _str_or_none(getattr(info, "cell_id", None))
        source = _str_or_none(getattr(info, "raw_cell", None))
    if sent is None or source is None:
        # Outside the cell's code (pre_run_cell hooks, threads): the request itself.
        get_parent = getattr(getattr(shell, "kernel", None), "get_parent", None)
        parent = get_parent("shell") if callable(get_parent) else None
        if isinstance(parent, dict) and parent.get("msg_type", "") in ("", "execute_request"):
            metadata = parent.get("metadata") or {}
            content = parent.get("content") or {}
            sent = sent or _str_or_none(metadata.get("cellId")) or _str_or_none(
                content.get("cell_id")
            )
            if source is None:
                source = _str_or_none(content.get("code"))
    return sent, source


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _cell_id_by_source(notebook: str, source: str) -> str | None:
    global _source_index
    try:
        st = os.stat(notebook)
    except OSError:
        return None
    key = (notebook, st.st_mtime_ns, st.st_size)
    if _source_index is None or _source_index[0] != key:
        _source_index = (key, _index_cells(notebook))
    ids = _source_index[1].get(source.strip(), [])
    return ids[0] if len(ids) == 1 else None  # a repeated source names no single cell


def _index_cells(notebook: str) -> dict[str, list[str]]:
    try:
        text = regular_files.read_text(notebook, regular_files.MAX_NOTEBOOK_BYTES)
        cells = json.loads(text).get("cells", [])
    except (OSError, ValueError, AttributeError):
        return {}
    index: dict[str, list[str]] = {}
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        ident, text = cell.get("id"), cell.get("source", "")
        if isinstance(text, list):
            text = "".join(text)
        if isinstance(ident, str) and isinstance(text, str) and text.strip():
            index.setdefault(text.strip(), []).append(ident)
    return index

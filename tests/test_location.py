"""``nbmlops.track.location`` with real parts: an IPython shell, papermill (CLI and Python
API) and a ``jupyter server`` whose kernels run code through jupyter_client.

tests/notebooks/where_am_i.ipynb prints what ``location`` finds from inside its kernel.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import papermill
import psutil
import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from jupyter_client.blocking import BlockingKernelClient

from nbmlops import config, papermill_cli
from nbmlops.track import location

NOTEBOOKS = Path(__file__).parent / "notebooks"
WHERE_AM_I = NOTEBOOKS / "where_am_i.ipynb"
PAPERMILL = str(Path(sys.executable).parent / "papermill")
# The code cell of where_am_i.ipynb that prints the report.
(REPORT_SOURCE,) = [
    c.source for c in nbformat.read(WHERE_AM_I, as_version=4).cells if c.id == "where-am-i"
]


@pytest.fixture(autouse=True)
def clean_location(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Whatever launched pytest must not leak into what the kernels and the shell find.
    monkeypatch.delenv(config.ENV_NOTEBOOK, raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    location.clear_cache()
    yield
    location.clear_cache()


def child_env(**extra: str) -> dict[str, str]:
    inherited = {config.ENV_NOTEBOOK, "JPY_SESSION_NAME"}
    env = {k: v for k, v in os.environ.items() if k not in inherited}
    env.update(extra)
    return env


def reported(output_notebook: Path) -> dict[str, Any]:
    """What the where-am-i cell printed in an executed notebook."""
    nb = nbformat.read(output_notebook, as_version=4)
    (cell,) = [c for c in nb.cells if c.get("id") == "where-am-i"]
    text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    return dict(json.loads(text.strip().splitlines()[-1]))


# -- pure parts -------------------------------------------------------------------------------


def test_source_and_experiment_name(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    inside = root / "nbs" / "train.ipynb"
    outside = tmp_path / "elsewhere" / "eda.ipynb"
    assert config.source_name(str(inside), root) == "nbs/train.ipynb"
    assert config.source_name(str(outside), root) == outside.as_posix()
    assert config.source_name(None, root) == "<ipython>"


def test_papermill_command_lines_are_recognised() -> None:
    script = [sys.executable, PAPERMILL, "in.ipynb", "out.ipynb"]
    assert location._papermill_args(script) == ["in.ipynb", "out.ipynb"]
    module = ["python3.11", "-u", "-m", "papermill", "-p", "a", "1", "in.ipynb", "o.ipynb"]
    assert location._papermill_args(module) == ["-p", "a", "1", "in.ipynb", "o.ipynb"]
    # as `nbmlops run` starts it
    ours = papermill_cli.command("in.ipynb", "o.ipynb")
    assert location._papermill_args(ours) == ["in.ipynb", "o.ipynb"]
    assert location._papermill_args(["python", "-mnbmlops.papermill_cli", "a", "b"]) == ["a", "b"]
    assert location._papermill_args(["python", "-m", "nbmlops.papermill"]) is None
    assert location._papermill_args(["/usr/bin/papermill", "x.ipynb", "y.ipynb"]) == [
        "x.ipynb", "y.ipynb"
    ]
    assert location._papermill_args([sys.executable, "-m", "pytest", "papermill"]) is None
    assert location._papermill_args([sys.executable, "-c", "import papermill"]) is None
    assert location._papermill_args(["bash", "-c", "papermill a b"]) is None
    assert location._is_kernel([sys.executable, "-m", "ipykernel_launcher", "-f", "k.json"])
    assert not location._is_kernel([sys.executable, PAPERMILL, "a.ipynb", "b.ipynb"])


def test_papermill_options_that_take_values_are_skipped() -> None:
    args = [
        "-p", "in.ipynb", "x.ipynb",  # a parameter whose name and value look like notebooks
        "-y", "a: 1", "-f", "params.yaml", "-k", "python3", "--cwd", "/tmp",
        "-r", "name", "raw value", "--log-output", "--engine=nbclient", "-lpython",
        "--start-timeout", "30", "nbs/real.ipynb", "out.ipynb",
    ]
    positional, options = location._parse_papermill(args)
    assert positional == ["nbs/real.ipynb", "out.ipynb"]
    assert options["cwd"] == ["/tmp"]
    assert options["parameters"] == ["in.ipynb", "x.ipynb"]
    assert options["parameters_raw"] == ["name", "raw value"]
    assert location._format_papermill_path("nb_{region}_{n:02d}.ipynb", {
        "parameters": ["n", "7"], "parameters_raw": ["region", "eu"]
    }) == "nb_eu_07.ipynb"


def test_api_paths_join_the_server_root(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "nb.ipynb").write_text("{}")
    root = str(tmp_path)
    assert location._join_api_path(root, "sub/nb.ipynb") == str(tmp_path / "sub" / "nb.ipynb")
    assert location._join_api_path(root, "RTC:sub/nb.ipynb") == str(tmp_path / "sub" / "nb.ipynb")
    assert location._join_api_path(root, "/sub/x.ipynb") == str(tmp_path / "sub" / "x.ipynb")


# -- a real IPython shell ---------------------------------------------------------------------


@pytest.fixture
def shell() -> Iterator[InteractiveShell]:
    """A shell of this test's own: nothing it sets is seen by another test."""
    InteractiveShell.clear_instance()
    ip = InteractiveShell.instance()
    ip.user_ns.update({"location": location, "get_ipython": lambda: ip})
    try:
        yield ip
    finally:
        ip.history_manager.end_session()
        InteractiveShell.clear_instance()


def test_plain_ipython_knows_no_notebook(shell: InteractiveShell) -> None:
    assert location.notebook_path(shell) is None
    assert location.notebook_path(None) is None
    assert location.cell_id(shell) is None
    shell.run_cell("seen = location.cell_id(get_ipython())")
    assert shell.user_ns["seen"] is None


def test_env_var_and_vscode_variable(
    shell: InteractiveShell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shell.user_ns["__vsc_ipynb_file__"] = str(tmp_path / "vscode.ipynb")
    assert location.notebook_path(shell) == str(tmp_path / "vscode.ipynb")
    # Not cached: the next notebook VS Code points the kernel at shows up at once.
    shell.user_ns["__vsc_ipynb_file__"] = str(tmp_path / "other.ipynb")
    assert location.notebook_path(shell) == str(tmp_path / "other.ipynb")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(config.ENV_NOTEBOOK, "sub/explicit.ipynb")
    assert location.notebook_path(shell) == str(tmp_path / "sub" / "explicit.ipynb")
    monkeypatch.delenv(config.ENV_NOTEBOOK)
    del shell.user_ns["__vsc_ipynb_file__"]
    assert location.notebook_path(shell) is None


def test_cell_id_sent_with_the_request(
    shell: InteractiveShell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ipykernel passes metadata.cellId to run_cell as cell_id, as JupyterLab sends it.
    shell.run_cell("seen = location.cell_id(get_ipython())", cell_id="0a1b-2c3d")
    assert shell.user_ns["seen"] == "0a1b-2c3d"

    # VS Code sends its cell URI, no nbformat id: the cell is found by its source in the file.
    notebook = tmp_path / "where_am_i.ipynb"
    shutil.copy(WHERE_AM_I, notebook)
    shell.user_ns["__vsc_ipynb_file__"] = str(notebook)
    shell.user_ns["x"] = 5
    uri = f"vscode-notebook-cell:{notebook}#W2sZmlsZQ%3D%3D"
    with capture_output() as out:
        shell.run_cell(REPORT_SOURCE, cell_id=uri)
    assert json.loads(out.stdout) == {"notebook": str(notebook), "cell_id": "where-am-i", "x": 5}
    shell.run_cell("seen = location.cell_id(get_ipython())", cell_id=uri)
    assert shell.user_ns["seen"] is None  # no cell of the notebook has this source
    shell.user_ns.pop("x")


# -- papermill ----------------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "nbs").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    shutil.copy(WHERE_AM_I, root / "nbs" / "where_am_i.ipynb")
    return root


@pytest.mark.kernel
@pytest.mark.parametrize("cwd_option", ["absolute", "relative"])
def test_papermill_cli_reports_its_input_notebook(project: Path, cwd_option: str) -> None:
    # papermill reads its input relative to where it started, then moves into --cwd for the
    # run; from the kernel only the --cwd folder is visible.
    (project / "runs" / "today").mkdir(parents=True)
    cwd = str(project.parent / "elsewhere") if cwd_option == "absolute" else "runs/today"
    # A notebook open in JupyterLab elsewhere: its session name must not win over papermill.
    decoy = project.parent / "decoy.ipynb"
    shutil.copy(WHERE_AM_I, decoy)
    env = child_env(JPY_SESSION_NAME=str(decoy))
    if cwd_option == "relative":
        env["PWD"] = "/nonexistent"  # only the relative --cwd can tell the start folder
    # As a shell runs it: cd into the project, a relative input path, -p NAME VALUE, -k NAME.
    command = (
        'cd "$1" && "$2" nbs/where_am_i.ipynb ../out.ipynb -p x 1 -k python3 '
        '--cwd "$3" --no-progress-bar'
    )
    done = subprocess.run(
        ["sh", "-c", command, "sh", str(project), PAPERMILL, cwd],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert reported(project.parent / "out.ipynb") == {
        "notebook": str(project / "nbs" / "where_am_i.ipynb"),
        "cell_id": "where-am-i",  # nbclient sends no cell id: found by the cell's source
        "x": 1,
    }


@pytest.mark.kernel
@pytest.mark.parametrize("cwd", ["../elsewhere", "runs/today", str(Path("..") / "proj" / "nbs")])
def test_papermill_started_by_a_program_in_its_folder(project: Path, cwd: str) -> None:
    # Started as a program starts it: in the project folder (no shell: PWD names another
    # folder, one that holds a notebook of the same name), a relative input and --cwd.
    (project / "runs" / "today").mkdir(parents=True)
    stale = project.parent / "home" / "user"
    (stale / "nbs").mkdir(parents=True)
    shutil.copy(WHERE_AM_I, stale / "nbs" / "where_am_i.ipynb")
    done = subprocess.run(
        [PAPERMILL, "nbs/where_am_i.ipynb", "../out.ipynb", "-p", "x", "1", "-k", "python3",
         "--cwd", cwd, "--no-progress-bar"],
        cwd=project, env=child_env(PWD=str(stale)),
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert reported(project.parent / "out.ipynb")["notebook"] == str(
        project / "nbs" / "where_am_i.ipynb")


@pytest.mark.kernel
def test_papermill_python_api(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = project / "nbs" / "where_am_i.ipynb"
    out = project / "api-out.ipynb"
    # The API leaves no trace of its input in the kernel's lineage: nothing is guessed...
    papermill.execute_notebook(str(source), str(out), parameters={"x": 2},
                               kernel_name="python3", progress_bar=False)
    assert reported(out) == {"notebook": None, "cell_id": None, "x": 2}
    # ...and a caller that names the notebook (as `nbmlops run` does) is heard by the kernel.
    monkeypatch.setenv(config.ENV_NOTEBOOK, str(source))
    papermill.execute_notebook(str(source), str(out), parameters={"x": 3},
                               kernel_name="python3", progress_bar=False)
    assert reported(out) == {"notebook": str(source), "cell_id": "where-am-i", "x": 3}


# -- a real Jupyter server ----------------------------------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    token: str
    root: Path
    runtime: Path

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(
            f"{self.url}api/{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {self.token}",
                     "Content-Type": "application/json"},
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=30) as response:
            text = response.read()
        return json.loads(text) if text else None


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("jupyter")
    root, runtime = base / "root", base / "runtime"
    (root / "sub").mkdir(parents=True)
    runtime.mkdir()
    env = child_env(
        JUPYTER_RUNTIME_DIR=str(runtime),
        JUPYTER_CONFIG_DIR=str(base / "config"),
        JUPYTER_DATA_DIR=str(base / "data"),
        IPYTHONDIR=str(base / "ipython"),
    )
    token = "nbmlops-test-token"
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root",
         "--ServerApp.ip=127.0.0.1", "--ServerApp.port=0", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        info_file = runtime / f"jpserver-{process.pid}.json"
        deadline = time.monotonic() + 60
        srv = None
        while srv is None:
            assert process.poll() is None, "jupyter server exited"
            assert time.monotonic() < deadline, "jupyter server did not start"
            try:  # the file is written before the server answers: ask until it does
                info = json.loads(info_file.read_text())
                srv = Server(process, info["url"], token, root, runtime)
                srv.api("GET", "status")
            except (OSError, ValueError, KeyError):
                srv = None
                time.sleep(0.1)
        yield srv
    finally:
        try:
            kernels = psutil.Process(process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            kernels = []
        process.send_signal(signal.SIGINT)  # twice: stop without asking for confirmation
        time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for kernel in kernels:
            if kernel.is_running():
                kernel.kill()


@pytest.fixture
def session(server: Server) -> Iterator[Any]:
    created: list[dict[str, Any]] = []
    clients: list[BlockingKernelClient] = []

    def start(path: str, name: str | None) -> tuple[dict[str, Any], BlockingKernelClient]:
        shutil.copy(WHERE_AM_I, server.root / path)
        body: dict[str, Any] = {"path": path, "type": "notebook", "kernel": {"name": "python3"}}
        if name is not None:
            body["name"] = name
        model = server.api("POST", "sessions", body)
        created.append(model)
        client = BlockingKernelClient()
        client.load_connection_file(str(server.runtime / f"kernel-{model['kernel']['id']}.json"))
        client.start_channels()
        wait_for_ready(server, model["kernel"]["id"], client)
        clients.append(client)
        return model, client

    yield start
    for client in clients:
        client.stop_channels()
    for model in created:
        server.api("DELETE", f"sessions/{model['id']}")


def wait_for_ready(server: Server, kernel_id: str, client: BlockingKernelClient) -> None:
    """Wait until the kernel answers on shell and iopub.

    ``client.wait_for_ready`` takes one missed heartbeat (1 s) for a dead kernel, which a busy
    machine produces while the kernel starts; the server knows whether it really died.
    """
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        client.kernel_info()
        try:
            reply = client.get_shell_msg(timeout=1)
        except queue.Empty:
            state = server.api("GET", f"kernels/{kernel_id}")["execution_state"]
            assert state != "dead", "the kernel died while starting"
            continue
        if reply["msg_type"] != "kernel_info_reply":
            continue
        try:  # iopub answers too: its subscription is up, so no output is lost
            client.get_iopub_msg(timeout=0.2)
        except queue.Empty:
            continue
        return
    raise AssertionError("the kernel did not answer within 90 s")


def run(client: BlockingKernelClient, code: str, cell_id: str | None = None) -> str:
    """Execute ``code`` as a frontend would (with ``metadata.cellId`` if given); its stdout."""
    msg = client.session.msg(
        "execute_request",
        {"code": code, "silent": False, "store_history": True, "user_expressions": {},
         "allow_stdin": False, "stop_on_error": True},
        metadata={"cellId": cell_id} if cell_id else {},
    )
    client.shell_channel.send(msg)
    msg_id = msg["header"]["msg_id"]
    out: list[str] = []
    while True:
        reply = client.get_iopub_msg(timeout=30)
        if reply["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = reply["msg_type"], reply["content"]
        if kind == "stream":
            out.append(content["text"])
        elif kind == "error":
            raise AssertionError("\n".join(content["traceback"]))
        elif kind == "status" and content["execution_state"] == "idle":
            break
    client.get_shell_msg(timeout=30)
    return "".join(out)


PROBE = """
import json, os
from nbmlops.track import location
location.clear_cache()
found = location.notebook_path(get_ipython())
print(json.dumps({"env": os.environ.get("JPY_SESSION_NAME"), "notebook": found,
                  "again": location.notebook_path(get_ipython()),
                  "cell_id": location.cell_id(get_ipython())}))
"""


def probe(client: BlockingKernelClient, cell_id: str | None = None,
          prelude: str = "") -> dict[str, Any]:
    return dict(json.loads(run(client, prelude + PROBE, cell_id).strip().splitlines()[-1]))


@pytest.mark.kernel
def test_jupyterlab_session(server: Server, session: Any) -> None:
    # JupyterLab names the session after the file: JPY_SESSION_NAME is then absolute.
    model, kc = session("sub/lab.ipynb", "lab.ipynb")
    notebook = str(server.root / "sub" / "lab.ipynb")
    found = probe(kc, cell_id="9c1f-lab-cell")
    assert found["env"] == notebook
    assert found["notebook"] == found["again"] == notebook
    assert found["cell_id"] == "9c1f-lab-cell"

    # Without JPY_SESSION_NAME (older servers) the session API of the server says the same.
    found = probe(kc, prelude="os.environ.pop('JPY_SESSION_NAME')\n")
    assert found["env"] is None
    assert found["notebook"] == found["again"] == notebook
    assert found["cell_id"] is None  # no id sent, and this probe is no cell of lab.ipynb

    # Renamed in JupyterLab (file and session): the stale JPY_SESSION_NAME names no file,
    # the cached answer is dropped, the session API has the new path.
    run(kc, f"os.environ['JPY_SESSION_NAME'] = {notebook!r}\nlocation.notebook_path(None)")
    server.api("PATCH", "contents/sub/lab.ipynb", {"path": "sub/renamed.ipynb"})
    server.api("PATCH", f"sessions/{model['id']}",
               {"path": "sub/renamed.ipynb", "name": "renamed.ipynb"})
    renamed = str(server.root / "sub" / "renamed.ipynb")
    assert run(kc, "print(location.notebook_path(get_ipython()))").strip() == renamed

    # The reporting cell of the (renamed) notebook: JupyterLab's id is taken as sent; a URI
    # instead of an nbformat id (VS Code) makes location find the cell by its source.
    run(kc, "x = 7")
    lab = json.loads(run(kc, REPORT_SOURCE, cell_id="9c1f-lab-cell"))
    assert lab == {"notebook": renamed, "cell_id": "9c1f-lab-cell", "x": 7}
    uri = json.loads(run(kc, REPORT_SOURCE, cell_id=f"vscode-notebook-cell:{renamed}#W0"))
    assert uri == {"notebook": renamed, "cell_id": "where-am-i", "x": 7}


@pytest.mark.kernel
def test_session_without_name_is_relative_to_the_server_root(
    server: Server, session: Any
) -> None:
    _, kc = session("plain.ipynb", None)
    found = probe(kc)
    assert found["env"] == "plain.ipynb"
    assert found["notebook"] == str(server.root / "plain.ipynb")

    # papermill's Python API called from this notebook: the kernel it starts inherits
    # JPY_SESSION_NAME, which names this notebook, not the one papermill runs.
    source, out = server.root / "sub" / "inner.ipynb", server.root / "inner-out.ipynb"
    shutil.copy(WHERE_AM_I, source)
    run(kc, f"import papermill\npapermill.execute_notebook({str(source)!r}, {str(out)!r}, "
            "parameters={'x': 9}, kernel_name='python3', progress_bar=False)")
    assert reported(out) == {"notebook": None, "cell_id": None, "x": 9}

"""A real ``mlflow server`` process on 127.0.0.1 for tests, and the PostgreSQL behind one.

    server = MlflowServer(tmp_path / "server")
    server.start()          # waits for /health
    server.url              # http://127.0.0.1:<port>
    server.stop()           # the store and the port stay: start() again resumes them
    server.close()          # stop for good (the fixture does this at teardown)

An outage without a restart (a restart costs about 7 s of CPU): ``MlflowServer(...,
relay=True)`` serves ``url`` through a :class:`Relay`, and ``server.cut()`` makes that port
refuse connections and resets the open ones, as a stopped server does, until
``server.restore()``.

The server runs in its own session so :meth:`stop` kills it and every worker it forked.

A team's server keeps its runs in a real database:

    with PostgresCluster() as pg:                       # initdb + pg_ctl, a free loopback port
        uri = pg.create_database("mlflow")   # postgresql+psycopg://postgres@127.0.0.1:N/mlflow
        server = MlflowServer(tmp_path / "s", backend_store_uri=uri).start()

and ``MlflowServer(..., auth=BasicAuth(database_uri, admin, password))`` runs MLflow's
basic-auth app in front of it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerStartError(RuntimeError):
    """The server did not answer /health in time (the log's tail is in the message)."""


class Relay:
    """A TCP relay on a loopback port of its own to the ``target`` port. :meth:`cut` closes
    its port and resets every relayed connection: clients see what a stopped server shows
    them (refused, or reset mid-request). :meth:`restore` listens on the same port again."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def restore(self) -> None:
        if self._listener is not None:
            return
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True,
                         name=f"relay-{self.port}").start()

    def cut(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
            listener.close()
        with self._lock:
            relayed, self._open = self._open, set()
        for sock in relayed:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes its relaying thread, which closes it

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target), timeout=5)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        for sock in (client, upstream):  # pass each write on at once, as a direct link does
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            self._open |= {client, upstream}
        with selectors.DefaultSelector() as selector:
            selector.register(client, selectors.EVENT_READ, upstream)
            selector.register(upstream, selectors.EVENT_READ, client)
            try:
                while True:
                    for key, _ in selector.select():
                        data = key.fileobj.recv(1 << 16)  # type: ignore[union-attr]
                        if not data:
                            return
                        key.data.sendall(data)
            except OSError:
                return
            finally:
                with self._lock:
                    self._open -= {client, upstream}
                client.close()
                upstream.close()


@dataclass(frozen=True)
class BasicAuth:
    """MLflow's basic-auth app: its user database and the admin it creates on first start
    (MLflow ships no default admin password; it wants 12 characters or more)."""

    database_uri: str
    admin: str
    password: str


class MlflowServer:
    """One ``mlflow server``: a sqlite backend store (or ``backend_store_uri``), a served
    artifact folder on local disk, optionally behind MLflow's basic-auth app."""

    def __init__(
        self,
        root: Path,
        port: int | None = None,
        workers: int = 1,
        backend_store_uri: str | None = None,
        auth: BasicAuth | None = None,
        relay: bool = False,
    ) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.relay = Relay(self.port) if relay else None
        self.workers = workers
        self.db = self.root / "server.db"
        self.backend_store_uri = backend_store_uri or f"sqlite:///{self.db}"
        self.auth = auth
        self.artifacts = self.root / "artifacts"
        self.log = self.root / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.relay.port if self.relay else self.port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "mlflow", "server",
            "--backend-store-uri", self.backend_store_uri,
            "--artifacts-destination", str(self.artifacts),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--workers", str(self.workers),
            *(["--app-name", "basic-auth"] if self.auth else []),
        ]  # fmt: skip

    def environment(self) -> dict[str, str]:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for name in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD",
                     # MLflow's own server runs no nbmlops code: coverage's tracer would only
                     # slow it down (about a third) when `make cover` measures subprocesses.
                     "COVERAGE_PROCESS_CONFIG"):
            env.pop(name, None)
        # No job runner (GenAI scorers): seven idle worker processes per server otherwise.
        env.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
        if self.auth:
            config = self.root / "basic_auth.ini"
            config.write_text(
                "[mlflow]\n"
                "default_permission = READ\n"
                f"database_uri = {self.auth.database_uri}\n"
                f"admin_username = {self.auth.admin}\n"
                "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
            )
            env["MLFLOW_AUTH_CONFIG_PATH"] = str(config)
            env["MLFLOW_AUTH_ADMIN_PASSWORD"] = self.auth.password  # never in a file
            env["MLFLOW_FLASK_SERVER_SECRET_KEY"] = os.urandom(16).hex()
        return env

    def start(self, timeout: float = 90.0) -> MlflowServer:
        """Start (again, on the same port and store) and wait until ``/health`` answers;
        a running server cut off by :meth:`cut` is restored."""
        if self.running:
            self.restore()
            return self
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.root,
                env=self.environment(),
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerStartError(
                    f"mlflow server exited ({self.proc.returncode}):\n" + self.tail()
                )
            if self.healthy():
                self.restore()
                return self
            time.sleep(0.2)
        self.stop()
        raise ServerStartError(f"mlflow server not healthy after {timeout:.0f} s:\n" + self.tail())

    def healthy(self) -> bool:
        try:  # the server itself, not through the relay
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health",
                                        timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def cut(self) -> None:
        """An outage as clients see it, the server left running (``relay=True`` only)."""
        assert self.relay is not None, "cut() needs MlflowServer(relay=True)"
        self.relay.cut()

    def restore(self) -> None:
        """The end of :meth:`cut`'s outage: ``url`` answers again."""
        if self.relay is not None:
            self.relay.restore()

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the server and its workers; waits until the port refuses connections."""
        if self.relay is not None:
            self.relay.cut()
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        # Workers in the group may outlive the leader by a moment.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._port_open():
            time.sleep(0.1)

    def _port_open(self) -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(0.5)
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    close = stop

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def __enter__(self) -> MlflowServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def postgres_bin() -> Path | None:
    """The folder of Debian's PostgreSQL server programs (the newest version installed)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PostgresCluster:
    """A throwaway PostgreSQL cluster on a free loopback port, in a temporary folder.

    PostgreSQL refuses to run as root: as root (CI) its programs run as the ``postgres``
    system user, which owns the folder; as anyone else they run as that user. Connections
    from 127.0.0.1 are trusted (``initdb -A trust``): the folder is the test's own.
    """

    def __init__(self, port: int | None = None) -> None:
        self.bin = postgres_bin()
        self.port = port or free_port()
        self.root: Path | None = None
        self.started = False

    @property
    def data(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    @property
    def log(self) -> Path:
        assert self.root is not None
        return self.root / "postgres.log"

    def _as_owner(self, *argv: str) -> list[str]:
        assert self.bin is not None
        command = [str(self.bin / argv[0]), *argv[1:]]
        return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command

    def _run(self, *argv: str, timeout: float = 120) -> None:
        done = subprocess.run(self._as_owner(*argv), capture_output=True, text=True,
                              timeout=timeout, cwd=self.root, check=False)
        if done.returncode != 0:
            raise ServerStartError(f"{argv[0]} failed ({done.returncode}): "
                                   f"{(done.stderr or done.stdout).strip()[-2000:]}")

    def start(self) -> PostgresCluster:
        if self.bin is None:
            raise ServerStartError("PostgreSQL is not installed (no initdb): "
                                   "apt-get install -y postgresql")
        if self.root is None:
            # Not under pytest's basetemp: the postgres user must be able to reach it.
            self.root = Path(tempfile.mkdtemp(prefix="nbmlops-postgres-"))
            if os.geteuid() == 0:
                shutil.chown(self.root, "postgres", "postgres")
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
                      "-E", "UTF8", "--no-sync")
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options,
                  "-w", "-t", "60", "start")
        self.started = True
        return self

    def uri(self, database: str) -> str:
        # The driver named: SQLAlchemy 2.0 reads a bare postgresql:// as psycopg2, 2.1 as psycopg.
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create database ``name``; its SQLAlchemy URI."""
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return self.uri(name)

    def stop(self) -> None:
        if self.started:
            self.started = False
            with contextlib.suppress(ServerStartError, subprocess.TimeoutExpired):
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop", timeout=60)

    def close(self) -> None:
        self.stop()
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> PostgresCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

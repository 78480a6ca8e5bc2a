"""`make bench`: the sidebar's ``GET runs`` under load, against the same requests at rest.

A real Jupyter server with the nbmlops extension serves a project whose notebook has 50 runs
in its sqlite store. 200 ``GET runs?notebook=…`` are sent at once (the sidebars of a busy
team, or one sidebar's pages); the anchor is that burst with nothing else running, measured in
the same run; the figure is the same burst while a sync process uploads records into the same
experiment (the writer the readers contend with). The two alternate, ``ROUNDS`` times each.
A second anchor is the server's own floor: 200 ``GET /api/status`` at once (Jupyter's
cheapest authenticated answer), what any endpoint pays for the requests alone on this machine.

Target (not a test): p95 under load < 2 s (on a busy machine, compare with the floor).

``BENCH_REQUESTS=50 python bench/server.py`` for a quicker look.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "200"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
RUNS = 50
SYNC_RECORDS = 600  # enough to keep the writer busy for the whole burst
NOTEBOOK = "notebooks/train.ipynb"
NOTEBOOK_JSON = {"cells": [{"cell_type": "code", "id": "c1", "metadata": {}, "outputs": [],
                            "execution_count": None, "source": "%%track train\nlr = 0.05\n"}],
                 "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def spool_records(spool: object, uri: str, root: Path, n: int, tag: str) -> None:
    from conftest import build_record

    for i in range(n):
        staging = spool.stage(build_record(  # type: ignore[attr-defined]
            uri, experiment=NOTEBOOK, notebook=NOTEBOOK, project_root=str(root),
            run_name="train", params={"lr": str(i), "batch": tag}))
        staging.write_text("code/cell.py", "lr = 0.05\n")
        staging.commit()


def make_project(root: Path) -> tuple[str, Path]:
    from nbmlops.sync import worker
    from nbmlops.sync.spool import Spool

    (root / "pyproject.toml").write_text(
        "[project]\nname = 'bench'\n\n[tool.nbmlops]\nspool = '.nbmlops/spool'\n")
    (root / "notebooks").mkdir()
    (root / NOTEBOOK).write_text(json.dumps(NOTEBOOK_JSON))
    uri = f"sqlite:///{root / 'mlflow.db'}"
    spool = Spool(root / ".nbmlops" / "spool")
    spool.ensure()
    spool_records(spool, uri, root, RUNS, "seed")
    report = worker.drain(spool, timeout=600)
    assert report.ok, report
    return uri, spool.root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(root: Path, port: int, token: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env["NBMLOPS_AUTOSYNC"] = "0"
    with open(root / "server.log", "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", "--no-browser", f"--port={port}",
             "--ip=127.0.0.1", "--allow-root", f"--ServerApp.token={token}",
             f"--ServerApp.root_dir={root}",
             "--ServerApp.jpserver_extensions={'nbmlops.server': True}"],
            stdout=subprocess.DEVNULL, stderr=log, env=env, cwd=root)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}",
                                   timeout=2)
            return process
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit("bench: the Jupyter server did not start")


async def burst(url: str, n: int) -> list[float]:
    """Seconds each of ``n`` GETs sent at once took to answer (all must answer 200)."""
    from tornado.httpclient import AsyncHTTPClient

    client = AsyncHTTPClient(force_instance=True, max_clients=n)

    async def one() -> float:
        started = time.perf_counter()
        response = await client.fetch(url, request_timeout=600, connect_timeout=600)
        assert response.code == 200 and json.loads(response.body)
        return time.perf_counter() - started

    try:
        return list(await asyncio.gather(*(one() for _ in range(n))))
    finally:
        client.close()


def p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20)[-1]


def main() -> None:
    from nbmlops.sync.spool import Spool

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "project"
        root.mkdir()
        uri, spool_dir = make_project(root)
        port, token = free_port(), secrets.token_hex(16)
        server = start_server(root, port, token)
        url = (f"http://127.0.0.1:{port}/nbmlops/api/runs?notebook={NOTEBOOK}"
               f"&page_size=50&token={token}")
        try:
            status = f"http://127.0.0.1:{port}/api/status?token={token}"
            asyncio.run(burst(url, 4))  # warm: mlflow imported, the store opened
            floor: list[float] = []
            rest: list[float] = []
            loaded: list[float] = []
            for r in range(ROUNDS):
                floor += asyncio.run(burst(status, REQUESTS))
                rest += asyncio.run(burst(url, REQUESTS))
                spool_records(Spool(spool_dir), uri, root, SYNC_RECORDS, f"round-{r}")
                sync = subprocess.Popen(
                    [sys.executable, "-m", "nbmlops.sync.worker", "--spool", str(spool_dir),
                     "--idle", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                try:
                    pending = Spool(spool_dir).pending
                    while len(list(pending.glob("*"))) > SYNC_RECORDS - 10:  # it is writing
                        time.sleep(0.05)
                    loaded += asyncio.run(burst(url, REQUESTS))
                    left = len(list(pending.glob("*")))
                finally:
                    sync.kill()
                    sync.wait()
                if left == 0:
                    print(f"  round {r}: the sync ended before the burst did")
                for stale in pending.glob("*"):  # the next round starts from an empty spool
                    subprocess.run(["rm", "-rf", str(stale)], check=True)
        finally:
            server.terminate()
            server.wait(30)
    print(f"  {REQUESTS} concurrent GET runs, {ROUNDS} rounds")
    for name, times in (("GET api/status", floor), ("at rest (anchor)", rest),
                        ("during a sync", loaded)):
        print(f"  {name:18} p50 {statistics.median(times):7.3f} s   p95 {p95(times):7.3f} s"
              f"   max {max(times):7.3f} s")
    print(f"  p95 during a sync / at rest: {p95(loaded) / p95(rest):6.2f}x;"
          f" / the server's floor (api/status): {p95(loaded) / p95(floor):6.2f}x")
    print(f"  p95 during a sync: {p95(loaded):.2f} s"
          f"   (target: p95 during a sync < 2 s: {'met' if p95(loaded) < 2 else 'NOT met'})")


if __name__ == "__main__":
    main()

"""`make bench`: the costs the kernel and the sync process pay on their hot paths, as ratios.

1. ``ensure_running`` while a sync process runs (the kernel calls it after every tracked cell)
   against one ``os.stat`` of the spool: it should only probe the lock.
2. How soon an idle sync process uploads a new record, against its poll interval plus one
   upload done in the foreground.
3. ``imported_packages()`` from its cache against its first call in this process.
4. ``profile`` of a 1,000,000-row frame against ``DataFrame.describe()`` of the same frame.

Targets (not tests): probe <= 5 ms; pickup <= poll + 2x one upload; cached packages <= 1%
of the first call; profile <= 1x describe().
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

REPEATS = 5


def wait_until(condition, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("bench: condition not met")
        time.sleep(0.005)


def bench_sync(root: Path) -> None:
    from conftest import build_record  # the tests' typical record

    from nbmlops.sync import worker
    from nbmlops.sync.spool import Spool, record_id_of

    os.environ["NBMLOPS_SYNC_IDLE"] = "60"
    spool = Spool(root / "spool")
    spool.ensure()
    uri = f"sqlite:///{root / 'mlflow.db'}"

    def make(uri: str) -> Path:
        staging = spool.stage(build_record(uri))
        staging.write_text("code/cell.py", "lr = 0.05\n")
        return staging.commit()

    make(uri)  # the first record creates the store: not part of any figure
    started = time.perf_counter()
    worker.drain(spool)
    print(f"  first foreground upload (creates the store) {time.perf_counter() - started:8.3f} s")
    uploads = []
    for _ in range(REPEATS):
        make(uri)
        t = time.perf_counter()
        worker.drain(spool)
        uploads.append(time.perf_counter() - t)
    upload = statistics.median(uploads)

    worker.ensure_running(spool.root)
    wait_until(lambda: worker.is_running(spool), 30)
    n = 200
    t = time.perf_counter()
    for _ in range(n):
        worker.ensure_running(spool.root)
    probe = (time.perf_counter() - t) / n
    t = time.perf_counter()
    for _ in range(n):
        os.stat(spool.root)
    stat = (time.perf_counter() - t) / n

    pickups = []
    for _ in range(REPEATS):
        entry = make(uri)
        t = time.perf_counter()
        wait_until(lambda e=entry: spool.receipt(record_id_of(e)), 30)
        pickups.append(time.perf_counter() - t)
        time.sleep(0.3)  # idle again
    pickup = statistics.median(pickups)
    pid = spool.state().get("pid")
    if pid:
        os.kill(int(pid), 15)

    print(f"  ensure_running, process running  {probe * 1e3:8.3f} ms   "
          f"{probe / stat:8.0f}x os.stat   (target <= 5 ms)")
    print(f"  idle process picks up a record   {pickup * 1e3:8.0f} ms   "
          f"{pickup / (worker.POLL_SECONDS + upload):8.2f}x poll + one upload "
          f"({upload * 1e3:.0f} ms)"
          "   (target <= 2x)")


def bench_packages() -> None:
    from nbmlops.track import environment as env

    env._module_index, env._last_key = None, None
    env._dist_dirs.clear()
    env._resolved.clear()
    t = time.perf_counter()
    env.imported_packages()
    first = time.perf_counter() - t
    n = 1000
    t = time.perf_counter()
    for _ in range(n):
        env.imported_packages()
    cached = (time.perf_counter() - t) / n
    print(f"  imported_packages, cached        {cached * 1e6:8.1f} us   "
          f"{cached / first:8.3%} of the first call ({first * 1e3:.0f} ms)   (target <= 1%)")


def bench_profile() -> None:
    from nbmlops.data.profiles import profile

    n = 1_000_000
    rng = np.random.default_rng(0)
    df = pd.DataFrame({
        "f": rng.normal(size=n), "i": rng.integers(0, 1000, n),
        "s": pd.array(rng.choice(["a", "b", "c"], n), dtype="str"),
        "t": pd.date_range("2020-01-01", periods=n, freq="s"),
    })
    profile(df)

    def best(fn) -> float:  # type: ignore[no-untyped-def]
        times = []
        for _ in range(REPEATS):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return min(times)

    ours, anchor = best(lambda: profile(df)), best(lambda: df.describe(include="all"))
    print(f"  profile of 1,000,000 rows        {ours * 1e3:8.1f} ms   "
          f"{ours / anchor:8.2f}x describe()   (target <= 1x)")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        print("sync")
        bench_sync(Path(tmp))
    print("capture")
    bench_packages()
    bench_profile()


if __name__ == "__main__":
    main()

"""`make bench`: long cells, 1,000 to 30,000 lines, with nbmlops loaded against IPython alone.

Each size runs, in a real IPython shell, a cell of a notebook's usual statements (assignments,
calls, a list changed in place, ``if`` blocks, decorated functions), every time with fresh names
so no cache helps, in turn:

- without the extension: the anchor (the shell with nbmlops' cell hooks out, so nothing of
  nbmlops runs for the cell; measured between the others, under the same load);
- with ``%load_ext nbmlops``, untracked: what every cell of a notebook pays;
- with ``%load_ext nbmlops``, under ``%%track``: the run recorded and spooled.

The history analyses a cell when the next slice needs it (the next tracked cell), not when it
runs: that analysis is timed apart ("analysed later"), so each figure is the cost of one cell.
Printed: seconds (median of ``REPEATS``) and the ratios to the anchor.

Targets (not tests): untracked <= 1.05x the anchor; every time linear in the cell's length
(the time per 1,000 lines stays flat from 1,000 to 30,000 lines).
``python bench/long_cells.py 1000 3000`` measures those sizes only.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SIZES = (1_000, 3_000, 10_000, 30_000)
REPEATS = 5

BLOCKS = (
    "a{i} = {n}",
    "b{i} = a{i} * 2 + len('café{n}')",
    "items{i} = [a{i}, b{i}]; items{i}.append({n})",
    "if a{i} % 3:\n    c{i} = b{i}\nelse:\n    c{i} = 0",
    "@staticmethod\ndef f{i}(x, k={n}):\n    return x * k + a{i}",
    "total{salt} = total{salt} + len(items{i}) + c{i}",
)


def long_cell(lines: int, salt: str) -> str:
    """A cell of ``lines`` lines (about), its names made unique by ``salt``."""
    out = [f"total{salt} = 0"]
    count, n = 1, 0
    while count < lines:
        block = BLOCKS[n % len(BLOCKS)].format(i=f"{salt}_{n // len(BLOCKS)}", n=n, salt=salt)
        out.append(block)
        count += block.count("\n") + 1
        n += 1
    return "\n".join(out) + "\n"


def measure(sizes: tuple[int, ...]) -> dict[str, Any]:
    """In this interpreter, each size's times: IPython alone and with nbmlops, interleaved.

    The anchor is the same shell with nbmlops' cell hooks taken out (no callback, no input or
    AST transformer of nbmlops runs for a cell: IPython alone), measured in turn with the
    hooks in, so both see the same load on the machine."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "nbmlops")
    magics = ip.magics_manager.registry["TrackMagics"]
    history = magics.tracker.history

    def timed(code: str) -> float:
        gc.collect()  # each cell starts from the same collector state, whatever ran before
        with capture_output():
            start = time.perf_counter()
            result = ip.run_cell(code, store_history=True)
            took = time.perf_counter() - start
        if not result.success:
            raise RuntimeError(f"the bench cell failed: {result.error_in_exec!r}")
        return took

    def alone(code: str) -> float:
        magics.hooks.unregister()
        try:
            return timed(code)
        finally:
            magics.hooks.register()

    def analysed() -> float:
        start = time.perf_counter()
        len(history.runs)  # the analysis of the cells run since it was last read
        return time.perf_counter() - start

    alone(long_cell(100, "warma"))  # imports and first-use costs out of the way
    timed(long_cell(100, "warm"))
    timed("%%track warm\n" + long_cell(100, "warmt"))
    analysed()
    found: dict[str, Any] = {}
    for size in sizes:
        anchor, untracked, later, tracked = [], [], [], []
        for k in range(REPEATS):
            if k % 2:  # in turn first, so neither always follows the other
                untracked.append(timed(long_cell(size, f"u{size}_{k}")))
                anchor.append(alone(long_cell(size, f"a{size}_{k}")))
            else:
                anchor.append(alone(long_cell(size, f"a{size}_{k}")))
                untracked.append(timed(long_cell(size, f"u{size}_{k}")))
            later.append(analysed())
            tracked.append(timed(f"%%track long{k}\n" + long_cell(size, f"t{size}_{k}")))
            analysed()  # the tracked cell's own analysis waits for the next slice too
        found[str(size)] = {key: statistics.median(values) for key, values in (
            ("anchor", anchor), ("untracked", untracked), ("later", later),
            ("tracked", tracked))}
        print(f"  measured {size} lines", file=sys.stderr, flush=True)
    return found


def main(sizes: tuple[int, ...]) -> None:
    with tempfile.TemporaryDirectory(prefix="nbmlops-bench-long-") as tmp:
        root = Path(tmp)
        (root / "pyproject.toml").write_text("[project]\nname = 'bench'\n")
        env = {**os.environ, "NBMLOPS_SPOOL": str(root / "spool"), "NBMLOPS_AUTOSYNC": "0",
               "NBMLOPS_NOTEBOOK": str(root / "bench.ipynb"), "NBMLOPS_DRIFT": "off"}
        env.pop("MLFLOW_TRACKING_URI", None)
        out = subprocess.run([sys.executable, __file__, "--measure", *map(str, sizes)],
                             cwd=root, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    found = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"long cells, median of {REPEATS}: IPython alone (the anchor) against nbmlops loaded")
    print(f"  {'lines':>7} {'IPython':>9} {'untracked':>10} {'ratio':>6} {'%%track':>9} "
          f"{'ratio':>6} {'analysed later':>15}  {'ms per 1,000 lines (%%track)':>29}")
    for size in sizes:
        r = found[str(size)]
        anchor = r["anchor"]
        print(f"  {size:>7,} {anchor:>8.2f}s {r['untracked']:>9.2f}s "
              f"{r['untracked'] / anchor:>5.2f}x {r['tracked']:>8.2f}s "
              f"{r['tracked'] / anchor:>5.2f}x {r['later']:>14.2f}s  "
              f"{r['tracked'] / size * 1e6:>29.0f}")
    print("  targets: untracked <= 1.05x; times per 1,000 lines flat (linear in the length)")


if __name__ == "__main__":
    measuring = sys.argv[1:2] == ["--measure"]
    given = tuple(int(a) for a in sys.argv[2 if measuring else 1:]) or SIZES
    if measuring:
        print(json.dumps(measure(given)))
    else:
        main(given)

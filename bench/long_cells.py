"""`make bench`: long cells, 1,000 to 30,000 lines, with nbmlops loaded against IPython alone.

Each size runs, in a real IPython shell, a cell of a notebook's usual statements (assignments,
calls, a list changed in place, ``if`` blocks, decorated functions), every time with fresh names
so no cache helps:

- without the extension (a plain IPython shell, its own interpreter): the anchor;
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
REPEATS = 3

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


def measure(loaded: bool, sizes: tuple[int, ...]) -> dict[str, Any]:
    """In this interpreter: each size's times, with the extension loaded or not."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    ip = InteractiveShell.instance()
    history = None
    if loaded:
        ip.run_line_magic("load_ext", "nbmlops")
        history = ip.magics_manager.registry["TrackMagics"].tracker.history

    def timed(code: str) -> float:
        with capture_output():
            start = time.perf_counter()
            result = ip.run_cell(code, store_history=True)
            took = time.perf_counter() - start
        if not result.success:
            raise RuntimeError(f"the bench cell failed: {result.error_in_exec!r}")
        return took

    def analysed() -> float:
        start = time.perf_counter()
        if history is not None:
            len(history.runs)  # the analysis of the cells run since it was last read
        return time.perf_counter() - start

    timed(long_cell(100, "warm"))  # imports and first-use costs out of the way
    if loaded:
        timed("%%track warm\n" + long_cell(100, "warmt"))
    analysed()
    found: dict[str, Any] = {}
    for size in sizes:
        untracked, later, tracked = [], [], []
        for k in range(REPEATS):
            untracked.append(timed(long_cell(size, f"u{size}_{k}")))
            later.append(analysed())
            if loaded:
                tracked.append(timed(f"%%track long{k}\n" + long_cell(size, f"t{size}_{k}")))
                analysed()  # the tracked cell's own analysis waits for the next slice too
        found[str(size)] = {"untracked": statistics.median(untracked),
                            "later": statistics.median(later),
                            "tracked": statistics.median(tracked) if tracked else None}
        print(f"  measured {size} lines ({'loaded' if loaded else 'plain'})",
              file=sys.stderr, flush=True)
    return found


def in_fresh_interpreter(loaded: bool, root: Path, sizes: tuple[int, ...]) -> dict[str, Any]:
    env = {**os.environ, "NBMLOPS_SPOOL": str(root / "spool"), "NBMLOPS_AUTOSYNC": "0",
           "NBMLOPS_NOTEBOOK": str(root / "bench.ipynb"), "NBMLOPS_DRIFT": "off"}
    env.pop("MLFLOW_TRACKING_URI", None)
    out = subprocess.run(
        [sys.executable, __file__, "--loaded" if loaded else "--plain", *map(str, sizes)],
        cwd=root, env=env, capture_output=True, text=True, check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main(sizes: tuple[int, ...]) -> None:
    with tempfile.TemporaryDirectory(prefix="nbmlops-bench-long-") as tmp:
        root = Path(tmp)
        (root / "pyproject.toml").write_text("[project]\nname = 'bench'\n")
        plain = in_fresh_interpreter(False, root, sizes)
        loaded = in_fresh_interpreter(True, root, sizes)
    print(f"long cells, median of {REPEATS}: IPython alone (the anchor) against nbmlops loaded")
    print(f"  {'lines':>7} {'IPython':>9} {'untracked':>10} {'ratio':>6} {'%%track':>9} "
          f"{'ratio':>6} {'analysed later':>15}  {'ms per 1,000 lines (%%track)':>29}")
    for size in sizes:
        anchor = plain[str(size)]["untracked"]
        r = loaded[str(size)]
        print(f"  {size:>7,} {anchor:>8.2f}s {r['untracked']:>9.2f}s "
              f"{r['untracked'] / anchor:>5.2f}x {r['tracked']:>8.2f}s "
              f"{r['tracked'] / anchor:>5.2f}x {r['later']:>14.2f}s  "
              f"{r['tracked'] / size * 1e6:>29.0f}")
    print("  targets: untracked <= 1.05x; times per 1,000 lines flat (linear in the length)")


if __name__ == "__main__":
    mode = sys.argv[1] if sys.argv[1:] and sys.argv[1].startswith("--") else None
    given = tuple(int(a) for a in sys.argv[2 if mode else 1:]) or SIZES
    if mode is None:
        main(given)
    else:
        print(json.dumps(measure(mode == "--loaded", given)))

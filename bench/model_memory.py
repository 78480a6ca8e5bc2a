"""`make bench`: how much a kernel grows while ``%%track --model`` spools a large model,
against the model's own size and a plain ``pickle.dump`` of it to a file, measured in one run.

Each case runs in a fresh interpreter that first builds the model (a notebook-defined class
holding ``NBMLOPS_BENCH_MODEL_MB`` megabytes of weights, 500 by default), then notes its
resident size, then does one thing: the peak resident size it reached (``ru_maxrss``) less
the size before is what that thing cost.

1. The anchor: ``pickle.dump(model, file)``, which streams the pickle to the file.
2. ``%%track --model`` on a cell that uses the model (autosync off: the kernel's part only).
3. For information, ``cloudpickle.dumps(model)``: the pickle held in memory at once.

Target (not a test): the tracked cell grows the kernel by at most 0.1x the model's size.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODEL_MB = int(os.environ.get("NBMLOPS_BENCH_MODEL_MB", "500"))

# The model lives in the user's namespace before the measured step, as it would after the
# cell that fitted it.
BUILD = f"""\
import numpy as np
class Big:
    def __init__(self):
        self.weights = np.full({MODEL_MB} * 1024 * 1024 // 8, 1.5)
    def predict(self, X):
        return X
model = Big()
"""

CASES = {
    "pickle": "import pickle\nwith open('plain.pkl', 'wb') as f:\n"
              "    pickle.dump(model, f, protocol=pickle.HIGHEST_PROTOCOL)\n",
    "track": "%%track big --model model=big\nscore = float(model.weights[:10].sum())\n",
    "dumps": "import cloudpickle\nkept = cloudpickle.dumps(model)\n",
}

# Run inside the fresh interpreter: prints {"before": kB, "peak": kB, "seconds": s}.
PROBE = """\
import json, os, resource, sys, time
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

def rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")

ip = InteractiveShell.instance()
ip.run_line_magic("load_ext", "nbmlops")
with capture_output():
    ok = ip.run_cell(sys.argv[1]).success
    ok = ok and ip.run_cell("%%track warm\\nwarm = 1").success  # nbmlops' own imports
assert ok
before = rss_kb()
peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
with capture_output() as out:
    result = ip.run_cell(sys.argv[2])
seconds = time.perf_counter() - t
assert result.success, out.stdout + out.stderr
print(json.dumps({"before": before, "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "peak_before": peak_before, "seconds": seconds}))
"""


def measure(case: str, root: Path) -> dict[str, float]:
    env = {**os.environ, "NBMLOPS_SPOOL": str(root / "spool"),
           "NBMLOPS_NOTEBOOK": str(root / "bench.ipynb"), "NBMLOPS_AUTOSYNC": "0",
           "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}"}
    out = subprocess.run([sys.executable, "-c", PROBE, BUILD, CASES[case]], cwd=root, env=env,
                         capture_output=True, text=True, check=True).stdout
    found: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return found


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "pyproject.toml").write_text("[project]\nname = 'bench'\n")
        results = {}
        for case in CASES:
            t = time.perf_counter()
            results[case] = measure(case, root)
            results[case]["total"] = time.perf_counter() - t
        spooled = sum(p.stat().st_size for p in (root / "spool" / "pending").iterdir())
    grown = {case: (r["peak"] - r["before"]) / 1024 for case, r in results.items()}
    # ru_maxrss is the peak of the whole process: one higher before the step would hide it.
    hidden = [c for c, r in results.items() if r["peak_before"] - r["before"] > 50 * 1024]
    if hidden:
        print(f"  (warning: an earlier peak may hide the growth of {', '.join(hidden)})")
    print(f"kernel growth while the model is written, model of {MODEL_MB} MB "
          "(peak resident size less the size before)")
    print(f"  pickle.dump to a file         {grown['pickle']:8.1f} MB  "
          f"{results['pickle']['seconds']:6.2f} s   (anchor)")
    print(f"  %%track --model               {grown['track']:8.1f} MB  "
          f"{results['track']['seconds']:6.2f} s   ({spooled / 2**20:.0f} MB spooled)")
    print(f"  cloudpickle.dumps (in memory) {grown['dumps']:8.1f} MB  "
          f"{results['dumps']['seconds']:6.2f} s")
    print(f"  %%track growth / model size   {grown['track'] / MODEL_MB:8.3f}x   "
          "(target <= 0.1x)")
    print(f"  %%track growth - pickle.dump  {grown['track'] - grown['pickle']:8.1f} MB")


if __name__ == "__main__":
    main()

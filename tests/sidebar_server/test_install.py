"""After install, Jupyter lists both halves of the extension as enabled."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

JUPYTER = str(Path(sys.executable).parent / "jupyter")


def listing(*args: str) -> str:
    done = subprocess.run([JUPYTER, *args, "list"], capture_output=True, text=True, check=True)
    return re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)  # no colours


def test_labextension_is_listed_enabled() -> None:
    assert re.search(r"nbmlops v\S+ enabled\s+OK", listing("labextension")), listing("labextension")


def test_server_extension_is_listed_enabled() -> None:
    out = listing("server", "extension")
    assert re.search(r"nbmlops\.server enabled", out), out

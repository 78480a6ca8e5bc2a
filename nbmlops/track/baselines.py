"""The profiles of each cell's last successful run, kept on this machine.

Drift detection compares a cell's data with the same data of the cell's previous successful
run. That run is in MLflow, but the kernel never imports mlflow (a second of import time and
200 MB for every session) and must not wait for a server that may be down. So when a tracked
cell succeeds, its profiles are written here too, and the next run of the cell reads them
back: one small JSON file per (tracking URI, experiment, run name), in ``profiles/`` of the
spool folder. The spool already is the machine's per-user (or per-project) nbmlops state,
outside git, and found by ``nbmlops status``.

The consequence, documented for users: the baseline is the previous successful run *on this
machine* (or sharing this spool). A run made elsewhere is not compared until a run of the
cell succeeds here. Writes replace the file in one rename, so a reader sees the old baseline
or the new one, never a mix; a lost or unreadable file only means no comparison this time.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xxhash

__all__ = ["Baseline", "ProfileStore"]

VERSION = 1


@dataclass
class Baseline:
    """What the last successful run of a cell read and wrote, profiled."""

    run_name: str
    record_id: str
    created: float
    #: ``"input:df"`` / ``"output:clean"`` -> profile
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: same keys -> fingerprint
    fingerprints: dict[str, str] = field(default_factory=dict)

    def about(self) -> dict[str, Any]:
        """Who the baseline is, for a report."""
        return {"run_name": self.run_name, "record_id": self.record_id, "created": self.created}


def data_key(context: str, name: str) -> str:
    return f"{context}:{name}"


class ProfileStore:
    """Baselines below ``root`` (usually ``<spool>/profiles``)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path(self, tracking_uri: str, experiment: str, run_name: str) -> Path:
        key = xxhash.xxh3_64_hexdigest(json.dumps([tracking_uri, experiment, run_name]).encode())
        return self.root / f"{key}.json"

    def load(self, tracking_uri: str, experiment: str, run_name: str) -> Baseline | None:
        """The baseline of the cell, or None (never stored, unreadable, another cell's)."""
        try:
            raw = json.loads(self.path(tracking_uri, experiment, run_name).read_text("utf-8"))
            if raw.get("version") != VERSION or raw.get("key") != [
                tracking_uri, experiment, run_name
            ]:
                return None
            return Baseline(
                run_name=str(raw["run_name"]),
                record_id=str(raw["record_id"]),
                created=float(raw["created"]),
                profiles=dict(raw["profiles"]),
                fingerprints=dict(raw["fingerprints"]),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def save(
        self,
        tracking_uri: str,
        experiment: str,
        run_name: str,
        *,
        record_id: str,
        profiles: dict[str, dict[str, Any]],
        fingerprints: dict[str, str],
    ) -> Path:
        """Make this run the cell's baseline (replacing the previous one whole)."""
        target = self.path(tracking_uri, experiment, run_name)
        payload = {
            "version": VERSION,
            "key": [tracking_uri, experiment, run_name],
            "run_name": run_name,
            "record_id": record_id,
            "created": time.time(),
            "profiles": profiles,
            "fingerprints": fingerprints,
        }
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            # No fsync: a baseline lost in a power cut costs one comparison, not data.
            tmp.write_text(json.dumps(payload, separators=(",", ":")), "utf-8")
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        return target

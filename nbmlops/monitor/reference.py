"""The reference a model is watched against: its training data, summarised once.

When a model is registered, the frame it was fitted on is counted into its own layout and its
alert bands are calibrated (:func:`build`); the result is one JSON document,
``monitor/NAME/reference.json`` among the artifacts of the run that registered it, tens of
kilobytes whatever the data's size. Every later scoring run compares its batch with it, so no
scoring job needs the training data itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from nbmlops.atomic_files import write_atomic
from nbmlops.monitor.bands import Band, calibrate
from nbmlops.monitor.sketch import Layout, Sketch, layout_of, sketch

__all__ = ["Reference", "build", "fetch", "load", "save"]

VERSION = 1


@dataclass(frozen=True)
class Reference:
    layout: Layout
    sketch: Sketch
    bands: Mapping[str, Band]

    def to_json(self) -> dict[str, Any]:
        return {"version": VERSION, "layout": self.layout.to_json(),
                "sketch": self.sketch.to_json(),
                "bands": {name: band.to_json() for name, band in self.bands.items()}}

    def encoded(self) -> bytes:
        """The document as it is stored: compact JSON."""
        return json.dumps(self.to_json(), separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Reference:
        if data.get("version") != VERSION:
            raise ValueError(f"unknown reference version {data.get('version')!r}")
        return cls(Layout.from_json(data["layout"]), Sketch.from_json(data["sketch"]),
                   {name: Band.from_json(b) for name, b in data["bands"].items()})


def build(frame: pd.DataFrame, columns: Iterable[str] | None = None) -> Reference:
    """The reference of a training frame (all its columns by default)."""
    layout = layout_of(frame, columns)
    return Reference(layout, sketch(frame, layout), calibrate(frame, layout))


def save(reference: Reference, path: Path) -> None:
    write_atomic(path, reference.encoded())


def load(path: Path) -> Reference:
    return Reference.from_json(json.loads(path.read_text(encoding="utf-8")))


def fetch(tracking_uri: str, run_id: str, name: str) -> Reference | None:
    """The reference model ``name`` was registered with by run ``run_id``; None when the run
    has none (a model registered before monitoring, or fitted on an array) or it cannot be
    read: loading the model for scoring never fails for its monitoring."""
    import tempfile

    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from nbmlops import store

    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = MlflowClient(tracking_uri).download_artifacts(
                run_id, store.monitoring_reference_artifact(name), tmp)
            return load(Path(path))
        except (MlflowException, OSError, ValueError, KeyError, TypeError):
            return None

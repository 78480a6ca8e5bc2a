"""The query module's dataclasses as JSON for the browser.

``dataclasses.asdict`` plus what the sidebar shows but the dataclasses compute (a run's
duration and code sha, a dataset's short fingerprint), and no NaN or infinity, which JSON
does not have (a metric can be NaN: it becomes null).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

# Properties worth sending, by dataclass name (duck-typed: no import of the query module).
# The sidebar reads nbmlops' tags through these, never by their names.
_PROPERTIES = {
    "RunSummary": ("duration_s", "code_sha", "python", "git_commit", "git_dirty", "error",
                   "parent_run_id", "job", "group", "injected_params",
                   "slice_verdict", "slice_reasons", "reproduced", "reproduces", "step",
                   "candidate_rank", "candidate_of"),
    "RunDetails": ("images", "figure_pages"),
    "Dataset": ("short",),
    "MetricRow": ("differs",),
    "DriftAlert": ("line",),
}


def jsonable(value: Any) -> Any:
    """``value`` made of dicts, lists, str, int, finite float, bool and None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str | int | bool):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
        for name in _PROPERTIES.get(type(value).__name__, ()):
            out[name] = jsonable(getattr(value, name))
        return out
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, bytes):  # MLflow's sqlite store gives page tokens as bytes
        return value.decode("utf-8", errors="replace")
    if isinstance(value, PurePath):
        return value.as_posix()
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return jsonable(to_dict())
    return str(value)

"""The query module's dataclasses as JSON for the browser.

``dataclasses.asdict`` plus what the sidebar shows but the dataclasses compute (a run's
duration and code sha, a dataset's short fingerprint: the answers' sent properties,
:data:`nbmlops.server.answers.SENT_PROPERTIES`), and no NaN or infinity, which JSON does not
have (a metric can be NaN: it becomes null).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

from nbmlops.server.answers import sent_properties


def jsonable(value: Any) -> Any:
    """``value`` made of dicts, lists, str, int, finite float, bool and None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str | int | bool):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
        for name in sent_properties(type(value)):
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

"""A dataset entry within MLflow's limits, so that data MLflow cannot describe whole never costs
the run its metrics, params and code.

A very wide frame (tens of thousands of columns) has a schema longer than MLflow accepts for a
dataset entry: the entry keeps the first columns (a schema MLflow's UI reads) and a tag saying
how many there are and where the full schema is, an artifact of the run. Should MLflow still
refuse the entries for a reason of its own, they are logged again without schema and profile.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbmlops.data.profiles import artifact_path as profile_path
from nbmlops.record import DataRecord

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import DatasetInput

log = logging.getLogger(__name__)

MAX_DATASET_SCHEMA = 1_048_575  # mlflow.utils.validation.MAX_DATASET_SCHEMA_SIZE
#: A summary is for reading: at most this many columns, whatever the limit allows.
SUMMARY_COLUMNS = 1000
MAX_INPUT_TAG_VALUE = 500


def schema_artifact(data: DataRecord) -> str:
    """Where the full schema of a data too wide for its dataset entry is kept."""
    return profile_path(data.name, data.context).removesuffix(".json") + ".schema.json"


def too_wide(schema: str | None) -> bool:
    return schema is not None and len(schema) > MAX_DATASET_SCHEMA


def keep_full_schemas(datasets: Sequence[DataRecord], schemas: Sequence[str | None],
                      files: Path, warnings: list[str]) -> list[str]:
    """Write the full schema of each data whose entry's schema is too long as an artifact
    below ``files``; the artifact paths written (``schemas[i]`` is ``datasets[i]``'s)."""
    written: list[str] = []
    for data, schema in zip(datasets, schemas, strict=True):
        if not too_wide(schema):
            continue
        relpath = schema_artifact(data)
        target = files / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(data.schema), encoding="utf-8")
        if relpath not in written:
            written.append(relpath)
        warnings.append(f"data {data.name!r}: its schema of {len(data.schema)} columns is "
                        f"too long for MLflow's dataset entry; the whole schema is {relpath}")
    return written


def summarise(schema: str, data: DataRecord) -> tuple[str | None, str]:
    """``(schema, note)``: the first columns of a too long colspec schema, within MLflow's
    limit, and the tag saying so."""
    where = schema_artifact(data)
    try:
        columns: list[Any] = json.loads(schema)["mlflow_colspec"]
    except (ValueError, KeyError, TypeError):
        note = f"schema too long, all in {where}"
        return None, note[-MAX_INPUT_TAG_VALUE:]
    budget = MAX_DATASET_SCHEMA - 64  # the JSON around the columns
    kept: list[Any] = []
    for column in columns[:SUMMARY_COLUMNS]:
        budget -= len(json.dumps(column)) + 2
        if budget < 0:
            break
        kept.append(column)
    note = f"first {len(kept)} of {len(columns)} columns; all in {where}"
    return json.dumps({"mlflow_colspec": kept}), note[-MAX_INPUT_TAG_VALUE:]


def log_inputs(client: MlflowClient, run_id: str, datasets: list[DatasetInput]) -> str | None:
    """Log the run's dataset entries; when MLflow refuses them as invalid, log them again
    with names, digests, sources and tags only. Returns a warning when it had to."""
    from mlflow.entities import Dataset, DatasetInput
    from mlflow.exceptions import MlflowException

    try:
        client.log_inputs(run_id, datasets=datasets)
        return None
    except MlflowException as e:
        if e.error_code != "INVALID_PARAMETER_VALUE":
            raise
        problem = " ".join(str(e).split())[:200]
    log.warning("dataset entries refused (%s): logged without schema and profile", problem)
    bare = [DatasetInput(Dataset(name=d.dataset.name, digest=d.dataset.digest,
                                 source_type=d.dataset.source_type, source=d.dataset.source),
                         tags=d.tags)
            for d in datasets]
    client.log_inputs(run_id, datasets=bare)
    return f"dataset entries logged without schema and profile: MLflow said {problem}"


"""``nbmlops.load_model("churn@champion")``: a registered model, as the object it was fitted as.

Read from the project's store (``config.store_uri``) with no tracking URI to set, by alias
(``NAME@ALIAS``) or version (``NAME/VERSION``; ``models:/`` in front is accepted too). The
object is MLflow's raw model: the scikit-learn estimator, the booster, or for a model MLflow
has no flavour for, the object the notebook pickled. A cell that loads a model this way names
the version it scored with, which is what ties a prediction to the data that trained it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from nbmlops import config, store
from nbmlops.exceptions import ModelError

__all__ = ["LoadedVersion", "load", "parse_reference"]

_REFERENCE = re.compile(
    r"^(?:models:/)?(?P<name>[^@/]+)(?:@(?P<alias>[^@/]+)|/(?P<version>\d+))$")


@dataclass(frozen=True)
class LoadedVersion:
    name: str
    version: str
    alias: str | None
    run_id: str | None  # the run that trained and registered it
    tracking_uri: str = ""  # the store it came from

    def tags(self) -> dict[str, str]:
        """What a run that scored with this version records of it."""
        tags = {store.SCORED_WITH_MODEL_TAG: self.name,
                store.SCORED_WITH_VERSION_TAG: self.version}
        if self.alias:
            tags[store.SCORED_WITH_ALIAS_TAG] = self.alias
        if self.run_id:
            tags[store.SCORED_WITH_RUN_TAG] = self.run_id
        return tags


def parse_reference(reference: str) -> tuple[str, str | None, str | None]:
    """``(name, alias, version)`` of ``NAME@ALIAS`` or ``NAME/VERSION``."""
    match = _REFERENCE.match(str(reference).strip())
    if match is None:
        raise ModelError(f"bad model reference {reference!r}: write NAME@ALIAS "
                         "(churn@champion) or NAME/VERSION (churn/3)")
    return match["name"], match["alias"], match["version"]


def load(reference: str, tracking_uri: str | None = None) -> tuple[Any, LoadedVersion]:
    """The model ``reference`` names, and which version it was."""
    import mlflow.pyfunc
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from nbmlops.models.pickled_model import PickledModel
    from nbmlops.models.register import _tracking_uri

    name, alias, version = parse_reference(reference)
    uri = config.store_uri(tracking_uri)
    client = MlflowClient(uri)
    try:
        found = (client.get_model_version_by_alias(name, alias) if alias
                 else client.get_model_version(name, str(version)))
    except MlflowException as e:
        held = (f"no version of {name} holds {alias}" if alias
                else f"{name} has no version {version}")
        raise ModelError(f"{held} in {uri} ({e.error_code})") from None
    with _tracking_uri(uri):
        model = mlflow.pyfunc.load_model(f"models:/{name}/{found.version}")
    try:
        raw = model.get_raw_model()  # a flavour's own object: the estimator, the booster
    except NotImplementedError:
        raw = model.unwrap_python_model()  # a pyfunc class: ours holds the notebook's object
    if isinstance(raw, PickledModel):
        raw = raw.model
    return raw, LoadedVersion(name, str(found.version), alias, found.run_id, uri)

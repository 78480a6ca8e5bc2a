"""``nbmlops.load_model("churn@champion")``: a registered model, as the object it was fitted as.

Read from the project's store (``config.store_uri``) with no tracking URI to set, by alias
(``NAME@ALIAS``) or version (``NAME/VERSION``; ``models:/`` in front is accepted too). The
object is MLflow's raw model: the scikit-learn estimator, the booster, or for a model MLflow
has no flavour for, the object the notebook pickled. A cell that loads a model this way names
the version it scored with, which is what ties a prediction to the data that trained it.

Like MLflow, loading warns when the environment does not satisfy the model's pinned
requirements or its Python differs; it checks them itself (:func:`mismatches`, a lookup per
requirement) because MLflow's check first maps every installed distribution's files to their
modules, seconds in each fresh kernel, which a scoring job starts on every run.
"""

from __future__ import annotations

import re
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbmlops import config, store
from nbmlops.exceptions import ModelError

__all__ = ["LoadedVersion", "load", "mismatches", "parse_reference"]

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
    import mlflow.artifacts

    with _tracking_uri(uri):
        local = mlflow.artifacts.download_artifacts(f"models:/{name}/{found.version}")
    found_mismatches = mismatches(Path(local))
    if found_mismatches:
        warnings.warn(f"{name} v{found.version} was saved with other packages than this "
                      f"environment has: {'; '.join(found_mismatches)}", stacklevel=3)
    model = mlflow.pyfunc.load_model(local, suppress_warnings=True)  # checked just above
    try:
        raw = model.get_raw_model()  # a flavour's own object: the estimator, the booster
    except NotImplementedError:
        raw = model.unwrap_python_model()  # a pyfunc class: ours holds the notebook's object
    if isinstance(raw, PickledModel):
        raw = raw.model
    return raw, LoadedVersion(name, str(found.version), alias, found.run_id, uri)


def mismatches(model_dir: Path) -> list[str]:
    """What this environment lacks of a saved model's pinned requirements
    (``requirements.txt``: ``scikit-learn (current: 1.8.0, required: scikit-learn==1.9.1)``)
    and of its Python's major.minor (``MLmodel``), one entry each; lines that are no plain
    requirement (paths, URLs, options) and requirements for other platforms are passed over."""
    from importlib import metadata

    from packaging.requirements import InvalidRequirement, Requirement

    found: list[str] = []
    try:
        lines = (model_dir / "requirements.txt").read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = []
    for line in lines:
        try:
            wanted = Requirement(line.split("#", 1)[0].strip())
        except InvalidRequirement:
            continue
        if wanted.marker is not None and not wanted.marker.evaluate():
            continue
        try:
            current: str | None = metadata.version(wanted.name)
        except metadata.PackageNotFoundError:
            current = None
        if current is None or (wanted.specifier and not wanted.specifier.contains(
                current, prereleases=True)):
            found.append(f"{wanted.name} (current: {current or 'not installed'}, required: "
                         f"{wanted!s})")
    python = _saved_python(model_dir / "MLmodel")
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    if python and ".".join(python.split(".")[:2]) != here:
        found.append(f"python (current: {here}, saved with: {python})")
    return found


def _saved_python(mlmodel: Path) -> str | None:
    """The Python version a model was saved with, from its MLmodel file (None: unknown)."""
    import yaml

    try:
        data = yaml.safe_load(mlmodel.read_text(encoding="utf-8"))
        version = data["flavors"]["python_function"]["python_version"]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return None
    return str(version) if version else None

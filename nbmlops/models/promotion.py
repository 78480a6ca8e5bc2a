"""Promotion and rollback: moving the ``champion`` alias, through the gates, with a record.

:func:`promote` evaluates every gate (``[tool.nbmlops.gates]`` and the ones given) on the
candidate's metrics and the current holder's, writes the result into the candidate's
evaluation report (an artifact of its run) and a tag, and moves the alias only when all pass;
otherwise it raises :class:`GateFailed`, whose ``report`` is the readable table. Each move is
recorded on the versions (:func:`nbmlops.models.aliases.move_alias`), so :func:`rollback` knows
who held the alias before, and since when.
"""

from __future__ import annotations

import getpass
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbmlops import config, store
from nbmlops.exceptions import GateFailed, ModelError
from nbmlops.models import aliases
from nbmlops.models import gates as gate_rules
from nbmlops.models.registry import ModelInfo, VersionInfo, get_model, version_metrics

if TYPE_CHECKING:
    from mlflow import MlflowClient

__all__ = ["Promotion", "Rollback", "promote", "rollback"]

ROLLED_BACK = "rolled back"


@dataclass
class Promotion:
    """What a promotion did: the gate results, and whether the alias moved."""

    name: str
    version: str
    alias: str
    previous: str | None  # the holder before (None: there was none)
    results: list[gate_rules.GateResult] = field(default_factory=list)
    report: str = ""
    moved: bool = False

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    def summary(self) -> str:
        if not self.moved:
            return f"{self.name} v{self.version} already holds {self.alias}: nothing moved"
        before = f" (was v{self.previous})" if self.previous else " (the first)"
        return f"{self.name} v{self.version} is now {self.alias}{before}"


@dataclass
class Rollback:
    name: str
    alias: str
    from_version: str
    to_version: str
    since: str | None  # when the version rolled back to first took the alias

    def summary(self) -> str:
        held = f", {self.alias} again as it was from {self.since}" if self.since else ""
        return (f"rolled back {self.name}: {self.alias} moved from v{self.from_version} to "
                f"v{self.to_version}{held}")


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def candidate_of(model: ModelInfo, version: str | None) -> VersionInfo:
    """The version to promote: the one asked for, else the ``challenger``, else the newest."""
    if version is not None:
        # mutation-equivalent: lstrip("XXvXX"); a version number has no X to strip.
        found = model.version(str(version).lstrip("v"))
        if found is None:
            have = ", ".join(v.version for v in model.versions) or "none"
            raise ModelError(f"{model.name} has no version {version} (versions: {have})")
        return found
    if store.CHALLENGER in model.aliases:
        held = model.version(model.aliases[store.CHALLENGER])
        if held is not None:
            return held
    if not model.versions:
        raise ModelError(f"{model.name} has no versions to promote")
    return model.versions[0]


def promote(
    client: MlflowClient,
    name: str,
    version: str | None = None,
    *,
    to: str = store.CHAMPION,
    gates: list[str] | tuple[str, ...] = (),
    root: Path | None = None,
    by: str | None = None,
) -> Promotion:
    """Give ``to`` (``champion``) to a version of ``name`` when every gate passes.

    Gates are the project's (``[tool.nbmlops.gates]`` of ``root``) plus ``gates``. Raises
    :class:`GateFailed` (the alias untouched) when one fails, ModelError / GateError for a
    model, version or gate that does not exist or parse.
    """
    texts = [*(config.gates(root, name) if root is not None else []), *gates]
    parsed = gate_rules.parse_all(texts)  # a typo costs nothing: before any change
    aliases.check_alias(to)
    # From the gates to the write, no other promotion of this store moves an alias; a writer
    # on another machine is caught by re-reading the holder, and the gates judge again.
    with aliases.serialised(client):
        for _ in range(ATTEMPTS):
            try:
                return _promote(client, name, version, to, parsed, by)
            except aliases.AliasMoved:
                continue
    raise ModelError(f"{to} of {name} kept moving while the gates were evaluated; try again")


#: Times a promotion is judged again when the alias moved under it (another machine).
ATTEMPTS = 5


def _promote(
    client: MlflowClient, name: str, version: str | None, to: str,
    parsed: list[gate_rules.Gate], by: str | None,
) -> Promotion:
    model = get_model(client, name)
    candidate = candidate_of(model, version)
    holder_version = model.aliases.get(to)
    if holder_version == candidate.version:
        return Promotion(name, candidate.version, to, holder_version)
    # mutation-equivalent: `or True`; model.version(None) finds no version, None either way.
    holder = model.version(holder_version) if holder_version else None
    champion_metrics = version_metrics(client, holder) if holder is not None else None
    results = gate_rules.evaluate(
        parsed, version_metrics(client, candidate), champion_metrics,
        candidate_name=f"{name} v{candidate.version}",
        champion_name=f"{to} {name} v{holder_version}",
    )
    against = f"{to} v{holder.version}" if holder is not None else None
    report = gate_rules.format_report(results, f"{name} v{candidate.version}", against)
    # mutation-equivalent: previous=None; move_alias's answer replaces it before it is seen.
    promotion = Promotion(name, candidate.version, to, holder_version, results, report)
    if _holder(client, name, to) != holder_version:
        # judged against a former holder. mutation-equivalent: the message (caught, retried)
        raise aliases.AliasMoved(f"{to} of {name} moved")
    _record_gates(client, candidate, to, holder_version, results)
    failed = [r.gate.text for r in results if not r.passed]
    if failed:
        raise GateFailed(
            f"{name} v{candidate.version} not promoted to {to}: failed gate(s) "
            f"{'; '.join(failed)}" + (f" ({to} stays v{holder_version})" if holder_version
                                      else ""),
            report,
        )
    by = by or _user()
    promotion.previous = aliases.move_alias(client, name, to, candidate.version,
                                             how="promoted", by=by, expected=holder_version)
    promotion.moved = True
    if to != store.CHALLENGER and model.aliases.get(store.CHALLENGER) == candidate.version:
        aliases.drop_alias(client, name, store.CHALLENGER, ended=f"promoted to {to}")
    return promotion


def _holder(client: MlflowClient, name: str, alias: str) -> str | None:
    found = aliases.holder(client, name, alias)
    return str(found.version) if found is not None else None


def rollback(
    client: MlflowClient,
    name: str,
    to_version: str | None = None,
    *,
    alias: str = store.CHAMPION,
    by: str | None = None,
) -> Rollback:
    """Move ``alias`` back to the version that held it before the current holder (or to
    ``to_version``). Reigns that ended by a rollback are skipped, so rolling back twice goes
    two holders back. No gates: a rollback returns to a version that already served."""
    aliases.check_alias(alias)
    with aliases.serialised(client):
        return _rollback(client, name, to_version, alias, by)


def _rollback(
    client: MlflowClient, name: str, to_version: str | None, alias: str, by: str | None
) -> Rollback:
    model = get_model(client, name)
    current = model.aliases.get(alias)
    if current is None:
        raise ModelError(f"{name} has no {alias} to roll back")
    since: str | None
    if to_version is not None:
        # mutation-equivalent: lstrip("XXvXX"); a version number has no X to strip.
        target = model.version(str(to_version).lstrip("v"))
        if target is None:
            have = ", ".join(v.version for v in model.versions)
            raise ModelError(f"{name} has no version {to_version} (versions: {have})")
        if target.version == current:
            raise ModelError(f"{name} v{current} already holds {alias}")
        reigns = target.history.get(alias)
        since = str(reigns[-1].get("since")) if reigns else None
    else:
        target, since = _previous_holder(model, alias, current)
    aliases.move_alias(client, name, alias, target.version, how="rollback",
                        by=by or _user(), ended=ROLLED_BACK, expected=current)
    return Rollback(name, alias, current, target.version, since)


def _previous_holder(model: ModelInfo, alias: str, current: str) -> tuple[VersionInfo, str]:
    """The version whose reign under ``alias`` ended last, other than the current holder;
    ModelError when there is none. A version whose latest reign ended by a rollback is
    skipped, though it served well before: it was rolled back from."""
    eligible = []
    for v in model.versions:
        ended = [r for r in v.history.get(alias, []) if r.get("until")]  # oldest first
        if v.version != current and ended and ended[-1].get("ended") != ROLLED_BACK:
            eligible.append((v, ended[-1]))
    if eligible:  # the last to end; at the same instant, the newer version (numerically)
        target, reign = max(eligible, key=lambda vr: (str(vr[1]["until"]), int(vr[0].version)))
        return target, str(reign.get("since"))
    held = model.version(current)
    # mutation-equivalent: get's default None; falsy like [], `not reigns` reads both alike.
    reigns = held.history.get(alias, []) if held is not None else []
    first = not reigns or reigns[0].get("previous") is None
    why = f"v{current} is the first {alias}" if first else "the earlier ones were rolled back"
    raise ModelError(f"no previous {alias} of {model.name} to roll back to from "
                     f"v{current}: {why} (give --version VERSION)")


def _record_gates(
    client: MlflowClient, candidate: VersionInfo, alias: str, against: str | None,
    results: list[gate_rules.GateResult],
) -> None:
    """The gate results into the candidate's evaluation report and a one-line tag."""
    passed = sum(r.passed for r in results)
    summary = (f"{passed}/{len(results)} passed for {alias} against "
               f"{'v' + against if against else 'no champion'} at {aliases.now_iso()}")
    failed = [r.gate.text for r in results if not r.passed]
    if failed:
        summary += f"; failed: {'; '.join(failed)}"
    client.set_model_version_tag(candidate.name, candidate.version, store.MODEL_GATES_TAG,
                                 summary[:store.MAX_TAG_VALUE])
    if not candidate.run_id:
        return
    path = store.evaluation_artifact(candidate.name, candidate.version)
    report = _read_report(client, candidate.run_id, path) or {
        "model": candidate.name, "version": candidate.version, "run_id": candidate.run_id,
        "metrics": candidate.metrics, "gates": [],
    }
    report.setdefault("gates", []).append({
        "at": aliases.now_iso(), "alias": alias, "against": against,
        "passed": not failed, "results": [r.to_dict() for r in results],
    })
    client.log_text(candidate.run_id, json.dumps(report, indent=1), path)


def _read_report(client: MlflowClient, run_id: str, path: str) -> dict[str, Any] | None:
    # mutation-equivalent: the folder's prefix; download_artifacts without it (a folder of
    # MLflow's own) and the encoding: the report is JSON, ASCII as json.dumps writes it.
    with tempfile.TemporaryDirectory(prefix="nbmlops-") as folder:
        try:
            local = client.download_artifacts(run_id, path, folder)  # mutation-equivalent
            with open(local, encoding="utf-8") as f:  # mutation-equivalent: ASCII JSON
                value = json.load(f)
        except Exception:  # missing or unreadable: a fresh report replaces it
            return None
    return value if isinstance(value, dict) else None

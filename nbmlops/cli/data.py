"""``nbmlops lineage``: parses and delegates to :mod:`nbmlops.runs.lineage`."""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from typing import Any

from nbmlops.cli.command import Command, tracking_uri_arg


def _configure_lineage(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "fingerprint",
        help="a data fingerprint, or its first 8+ hex characters (the status line shows "
        "them), or the path of a file or folder (fingerprinted as it is now); or the record "
        "id a status line shows while it waits to sync: the run it became",
    )
    tracking_uri_arg(parser)
    parser.add_argument("--experiment", "-e", action="append", default=None,
                        help="the MLflow experiment to search (name or id; default: all), "
                        "repeatable")
    parser.add_argument("--json", action="store_true", help="print the runs as JSON")


def lineage_command(args: argparse.Namespace) -> int:
    from nbmlops.runs import lineage

    # A record id (from a status line saved before its upload) names one run.
    found = lineage.run_of_record(args.fingerprint, args.tracking_uri)
    if found is not None:
        if args.json:
            print(json.dumps(asdict(found)))
        else:
            print(f"record {found.record_id} is run {found.run_id} {found.run_name} "
                  f"({found.status}) in {found.experiment}")
        return 0

    fingerprint = lineage.fingerprint_argument(args.fingerprint)
    runs = lineage.runs_using(fingerprint, args.tracking_uri, experiments=args.experiment)
    models = _models_of(runs, args.tracking_uri)
    if args.json:
        print(json.dumps([{**asdict(r), "contexts": list(r.contexts),
                           "models": models.get(r.run_id, [])} for r in runs]))
        return 0 if runs else 1
    if not runs:
        print(f"no run read or wrote data {fingerprint}")
        return 1
    for r in runs:
        verb = "read+wrote" if r.read and r.wrote else "wrote" if r.wrote else "read"
        when = (time.strftime("%Y-%m-%d %H:%M", time.localtime(r.start_time / 1000))
                if r.start_time else "?")
        print(f"{when}  {verb:10}  {r.digest[:8]}  {r.dataset}  run {r.run_id[:8]} "
              f"{r.run_name} ({r.status})  in {r.experiment}")
    trained = [(r, m) for r in runs for m in models.get(r.run_id, [])]
    if trained:
        print("model versions trained on it:")
    for r, m in trained:
        aliases = f" [{', '.join(m['aliases'])}]" if m["aliases"] else ""
        print(f"  {m['model']}{aliases}  from run {r.run_id[:8]} {r.run_name}")
    return 0


def _models_of(runs: list[Any], tracking_uri: str | None) -> dict[str, list[dict[str, Any]]]:
    """The registered versions each run logged: ``{run_id: [{"model": "name/v", ...}]}``."""
    from nbmlops import config, store
    from nbmlops.models import registry

    if not runs:
        return {}
    client = store.client(config.store_uri(tracking_uri))
    found: dict[str, list[dict[str, Any]]] = {}
    for v in registry.versions_of_runs(client, [r.run_id for r in runs]):
        found.setdefault(str(v.run_id), []).append(
            {"model": f"{v.name}/{v.version}", "name": v.name, "version": v.version,
             "aliases": v.aliases})
    return found


COMMANDS = [
    Command("lineage", "list the runs that read or wrote a data version, and the model "
            "versions trained on it",
            _configure_lineage, lineage_command),
]

"""``nbmlops promote``, ``rollback``, ``models``: each parses and delegates to
:mod:`nbmlops.models`.

A promotion refused by a gate prints the gate report and exits with status 1 (the gates did
their job; a script or a CI step stops there); bad input exits with 2 as everywhere.
"""

from __future__ import annotations

import argparse
import sys

from nbmlops import config, store
from nbmlops.cli.command import Command
from nbmlops.exceptions import GateFailed


def _uri_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tracking-uri", default=None,
        help="the MLflow store (default: MLFLOW_TRACKING_URI, [tool.nbmlops] tracking_uri, "
        "or sqlite:///<project>/mlflow.db)",
    )


def _uri(args: argparse.Namespace) -> str:
    return config.store_uri(args.tracking_uri)


def _configure_promote(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="the registered model")
    parser.add_argument("--version", "-v", default=None,
                        help="the version to promote (default: the challenger, else the newest)")
    parser.add_argument("--to", default=store.CHAMPION,
                        help=f"the alias it is to take (default: {store.CHAMPION})")
    parser.add_argument("--gate", "-g", action="append", default=[], metavar="GATE",
                        help='"auc >= champion", "auc >= 0.80", "latency_ms <= champion * 1.1";'
                        " repeatable, added to [tool.nbmlops.gates]")
    _uri_arg(parser)


def promote_command(args: argparse.Namespace) -> int:
    from nbmlops.models import promotion, registry

    uri = _uri(args)
    client = registry.open_client(uri)
    try:
        with registry.store_errors(uri):
            done = promotion.promote(client, args.name, args.version, to=args.to,
                                     gates=args.gate, root=config.project_root())
    except GateFailed as e:
        print(e.report)
        print(f"nbmlops: promotion refused: {' '.join(str(e).split())}", file=sys.stderr)
        return 1
    if done.report:
        print(done.report)
    print(done.summary())
    return 0


def _configure_rollback(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="the registered model")
    parser.add_argument("--to", default=None, metavar="VERSION",
                        help="the version to return to (default: the previous holder)")
    parser.add_argument("--alias", default=store.CHAMPION,
                        help=f"the alias to move back (default: {store.CHAMPION})")
    _uri_arg(parser)


def rollback_command(args: argparse.Namespace) -> int:
    from nbmlops.models import promotion, registry

    uri = _uri(args)
    client = registry.open_client(uri)
    with registry.store_errors(uri):
        done = promotion.rollback(client, args.name, args.to, alias=args.alias)
    print(done.summary())
    return 0


def _configure_models(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("names", nargs="*", metavar="NAME", help="only these registered models")
    parser.add_argument("--notebook", default=None,
                        help="only the versions this notebook registered (its path relative "
                        "to the project)")
    parser.add_argument("--json", action="store_true", help="print them as JSON")
    _uri_arg(parser)


def models_command(args: argparse.Namespace) -> int:
    from nbmlops.models import registry

    uri = _uri(args)
    client = registry.open_client(uri)
    with registry.store_errors(uri):
        found = registry.list_models(client, args.notebook, args.names or None)
    print(registry.dumps(found) if args.json else registry.format_models(found))
    return 0


COMMANDS = [
    Command("promote", "move a registered model's champion alias, through the gates",
            _configure_promote, promote_command),
    Command("rollback", "move the champion alias back to the previous holder",
            _configure_rollback, rollback_command),
    Command("models", "list registered models, versions, aliases and their history",
            _configure_models, models_command),
]

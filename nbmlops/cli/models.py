"""``promote``, ``rollback``, ``models`` and ``register``: each parses and delegates to
:mod:`nbmlops.models` (``register`` to the tracker: it exists in the notebook only).

A promotion refused by a gate prints the gate report and raises :class:`GateFailed`: the
command line exits with status 1 (the gates did their job; a script or a CI step stops
there), in the notebook the magic raises it again as ``PromotionRefused``, a real exception
papermill records; bad input exits with 2 as everywhere.
"""

from __future__ import annotations

import argparse
import shlex
from typing import Any

from nbmlops import store
from nbmlops.cli.command import (
    Command,
    Notebook,
    deprecated,
    place_of,
    tracking_uri_arg,
    tracking_uri_of,
)
from nbmlops.exceptions import GateFailed, NbmlopsError


def _configure_promote(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="the registered model")
    parser.add_argument("--version", default=None,
                        help="the version to promote (default: the challenger, else the newest)")
    parser.add_argument("--alias", default=store.CHAMPION,
                        help=f"the alias it is to take (default: {store.CHAMPION})")
    deprecated(parser, "--to", "alias")
    parser.add_argument("--gate", "-g", action="append", default=[], metavar="GATE",
                        help='"auc >= champion", "auc >= 0.80", "latency_ms <= champion * 1.1";'
                        " repeatable, added to [tool.nbmlops.gates]")
    tracking_uri_arg(parser)


def promote_command(args: argparse.Namespace) -> int:
    from nbmlops.models import promotion, registry

    uri = tracking_uri_of(args)
    with registry.store_errors(uri):
        client = registry.open_client(uri)
        try:
            done = promotion.promote(client, args.name, args.version, to=args.alias,
                                     gates=args.gate, root=place_of(args).root)
        except GateFailed as e:
            print(e.report)  # the table first; the one-line refusal follows it
            raise
    if done.report:
        print(done.report)
    print(done.summary())
    return 0


def _configure_rollback(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="the registered model")
    parser.add_argument("--version", default=None,
                        help="the version to return to (default: the previous holder)")
    deprecated(parser, "--to", "version")
    parser.add_argument("--alias", default=store.CHAMPION,
                        help=f"the alias to move back (default: {store.CHAMPION})")
    tracking_uri_arg(parser)


def rollback_command(args: argparse.Namespace) -> int:
    from nbmlops.models import promotion, registry

    uri = tracking_uri_of(args)
    with registry.store_errors(uri):
        client = registry.open_client(uri)
        done = promotion.rollback(client, args.name, args.version, alias=args.alias)
    print(done.summary())
    return 0


def _configure_models(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("names", nargs="*", metavar="NAME", help="only these registered models")
    parser.add_argument("--notebook", nargs="?", const="", default=None, metavar="PATH",
                        help="only the versions a notebook registered: PATH relative to the "
                        "project (in %%mlops, without PATH: this notebook)")
    parser.add_argument("--json", action="store_true", help="print them as JSON")
    tracking_uri_arg(parser)


def models_command(args: argparse.Namespace) -> int:
    from nbmlops.models import registry

    notebook = args.notebook
    if notebook == "":
        notebook = place_of(args).source_name
        if notebook is None:
            raise NbmlopsError("--notebook needs the notebook's PATH here")
    uri = tracking_uri_of(args)
    with registry.store_errors(uri):
        client = registry.open_client(uri)
        found = registry.list_models(client, notebook, args.names or None)
    print(registry.dumps(found) if args.json else registry.format_models(found))
    return 0


def _configure_register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("variable", help="the variable holding the fitted model")
    parser.add_argument("--name", default=None,
                        help="the name of the registered model (default: the variable's)")
    parser.add_argument("--metric", "-m", action="append", default=[], metavar="NAME",
                        help="the metric NAME: a variable holding one of its evaluation "
                        "metrics; repeatable")
    parser.add_argument("--data", "-d", action="append", default=[], metavar="VAR",
                        help="the data it was trained on (its input example and signature); "
                        "repeatable")


def register_in_notebook(args: argparse.Namespace, notebook: Notebook) -> Any:
    user_ns = notebook.shell.user_ns if notebook.shell is not None else {}
    if args.variable not in user_ns:
        raise NbmlopsError(f"%mlops register: no variable {args.variable!r}")
    name = args.name or args.variable
    # The one %%track grammar: a run of its own, named after the model, that reads VAR.
    words = [f"register-{name}", "--model", f"{args.variable}={name}"]
    words += [w for m in args.metric for w in ("--metric", m)]
    words += [w for d in args.data for w in ("--data", d)]
    options, ctx = notebook.prepare(shlex.join(words))
    notebook.tracker.run(args.variable, options, ctx)
    return None


COMMANDS = [
    Command("promote", "move a registered model's alias (champion) when every gate passes; "
            "print the gate report", _configure_promote, promote_command),
    Command("rollback", "move the champion alias back to the previous holder",
            _configure_rollback, rollback_command),
    Command("models", "list registered models, versions, aliases and their history",
            _configure_models, models_command),
    Command("register", "register a fitted model as a new version, alias challenger",
            _configure_register, None, register_in_notebook),
]

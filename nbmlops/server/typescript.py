"""The sidebar's TypeScript types of the REST answers, generated from their Python definitions
(:mod:`nbmlops.server.answers`).

``python -m nbmlops.server.typescript`` writes ``labextension/src/generated/answers.ts``
(the labextension's build runs it); ``--check`` only says whether that file is current. The
text depends on the definitions alone, so a test compares it with the committed file.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import types
import typing
from pathlib import Path, PurePath
from typing import Any

from nbmlops.server import answers

#: The generated file, relative to the repository's root.
OUTPUT = Path("labextension/src/generated/answers.ts")

HEADER = """\
/**
 * The JSON answers of the nbmlops server extension, generated from their Python definitions
 * (nbmlops/server/answers.py) by `python -m nbmlops.server.typescript`: do not edit.
 */
"""


def ts_name(cls: type) -> str:
    return answers.TS_NAMES.get(cls.__name__, cls.__name__)


class Writer:
    """Collects the interfaces the answers reach, each once, in the order first reached."""

    def __init__(self) -> None:
        self.interfaces: dict[type, str] = {}
        self.known = answers.known()

    def type_of(self, hint: Any) -> str:
        """The TypeScript type of a Python annotation (already resolved)."""
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if hint is Any or hint is object:
            return "unknown"
        if hint is type(None) or hint is None:
            return "null"
        if hint is bool:
            return "boolean"
        if hint is int:
            return "number"
        if hint is float:  # NaN and infinity are sent as null (jsonable)
            return "number | null"
        if hint is str or (isinstance(hint, type) and issubclass(hint, PurePath)):
            return "string"
        if origin is typing.Literal:
            return " | ".join(_literal(a) for a in args)
        if origin in (typing.Union, types.UnionType):
            parts = [self.type_of(a) for a in args]
            return " | ".join(dict.fromkeys(p for part in parts for p in part.split(" | ")))
        if origin in (list, set, frozenset, tuple) or origin is typing.Sequence:
            item = self.type_of(args[0]) if args else "unknown"
            return f"({item})[]" if " " in item else f"{item}[]"
        if origin is dict:
            return f"Record<string, {self.type_of(args[1]) if args else 'unknown'}>"
        if isinstance(hint, type) and (dataclasses.is_dataclass(hint) or typing.is_typeddict(hint)):
            self.add(hint)
            return ts_name(hint)
        raise TypeError(f"no TypeScript type for {hint!r}")

    def add(self, cls: type) -> None:
        if cls in self.interfaces:
            return
        twin = next((c for c in self.interfaces if ts_name(c) == ts_name(cls)), None)
        if twin is not None:
            raise TypeError(f"{cls.__qualname__} and {twin.__qualname__} would both be "
                            f"{ts_name(cls)}: name one in answers.TS_NAMES")
        self.interfaces[cls] = ""  # reserved first: a type may refer to itself
        hints = typing.get_type_hints(cls, globalns=vars(sys.modules[cls.__module__]),
                                      localns=self.known)
        lines = []
        if typing.is_typeddict(cls):
            optional: frozenset[str] = getattr(cls, "__optional_keys__", frozenset())
            for name, hint in hints.items():
                mark = "?" if name in optional else ""
                lines.append(f"  {name}{mark}: {self.type_of(hint)};")
        else:
            for f in dataclasses.fields(cls):
                lines.append(f"  {f.name}: {self.type_of(hints[f.name])};")
            for name in answers.sent_properties(cls):
                getter = getattr(cls, name).fget
                hint = typing.get_type_hints(getter, globalns=vars(sys.modules[getter.__module__]),
                                             localns=self.known)["return"]
                lines.append(f"  {name}: {self.type_of(hint)};")
        doc = _first_paragraph(cls)
        comment = f"/** {doc} */\n" if doc else ""
        self.interfaces[cls] = (f"{comment}export interface {ts_name(cls)} {{\n"
                                + "\n".join(lines) + "\n}\n")


def _first_paragraph(cls: type) -> str:
    """The class's docstring's first paragraph on one line ("" for none)."""
    doc = cls.__doc__ or ""
    if doc.startswith(f"{cls.__name__}("):  # dataclasses' generated signature: not a doc
        return ""
    return " ".join(doc.strip().split("\n\n")[0].split()).replace("``", "`").replace("*/", "* /")


def _literal(value: Any) -> str:
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def _alias_name(route: str) -> str:
    """``jobs/run`` -> ``JobsRunAnswer``: the type name of a route's answer."""
    words = [w for w in route.replace("-", "/").split("/") if w.isidentifier()]
    return "".join(w[:1].upper() + w[1:] for w in words) + "Answer"


def generate() -> str:
    """The whole TypeScript file."""
    writer = Writer()
    routes = []
    for route, answer in answers.ANSWERS.items():
        name = "RunAnswer" if route.startswith("runs/") else _alias_name(route)
        routes.append(f"/** `{route}` */\nexport type {name} = {writer.type_of(answer)};\n")
    error = writer.type_of(answers.ERROR)
    interfaces = [text for text in writer.interfaces.values()]
    return "\n".join([HEADER, *interfaces, *routes,
                      f"/** Any refused request. */\nexport type ErrorBody = {error};\n"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nbmlops.server.typescript",
                                     description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[2],
                        help="the repository (default: the one holding this module)")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when the file is not current, write nothing")
    args = parser.parse_args(argv)
    path = args.root / OUTPUT
    text = generate()
    current = path.read_text(encoding="utf-8") if path.is_file() else None
    if args.check:
        if current != text:
            print(f"{OUTPUT} is stale: run python -m nbmlops.server.typescript", file=sys.stderr)
            return 1
        return 0
    if current != text:  # an unchanged file keeps its time: tsc's incremental build stays
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

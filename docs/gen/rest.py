"""The sidebar's REST API, from ``nbmlops/server/routes.py`` (every route and its handler's
docstring) and ``answers.py`` (each JSON answer's type, written as the TypeScript the sidebar
compiles against, by ``nbmlops.server.typescript``)."""

from __future__ import annotations

import inspect
import re

from nbmlops.server import answers, routes, typescript

from .markdown import cell


def _doc(handler: type) -> str:
    text = " ".join((inspect.getdoc(handler) or "").split("\n\n")[0].split())
    text = re.sub(r":(func|mod|class|data):", "", text)  # Sphinx roles read as plain code
    return text.replace("``", "`")


def _route(pattern: str) -> str:
    """``runs/(?P<run_id>[...]+)`` -> ``runs/{run_id}``."""
    return re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", pattern)


def page() -> str:
    out = ["# REST API\n",
           "Generated from `nbmlops/server/routes.py` and `nbmlops/server/answers.py`. The",
           "Jupyter server extension answers under `<base_url>nbmlops/api/`; every request",
           "needs the Jupyter server's token or cookie, like any other Jupyter API. A refused",
           "request answers a 4xx status with the `ErrorBody` below.\n",
           "| route | what it answers | answer type |", "|---|---|---|"]
    for pattern, handler in routes.ROUTES:
        answer = answers.ANSWERS.get(pattern)
        shown = typescript.Writer().type_of(answer) if answer is not None else "a file or a page"
        route = f"{routes.PREFIX}/{_route(pattern)}"
        out.append(f"| `{route}` | {cell(_doc(handler))} | {cell(f'`{shown}`')} |")
    out += ["", "## Answer types\n",
            "The same declarations the sidebar is compiled against (`nbmlops/server/typescript.py`",
            "writes them from the answers' dataclasses):\n",
            "```typescript", typescript.generate().rstrip(), "```", ""]
    return "\n".join(out)

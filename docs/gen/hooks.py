"""MkDocs hooks of the manual (``hooks:`` in mkdocs.yml): the reference pages are generated
from the code at every build, and the example notebooks are rendered from
``example_notebooks/`` (an executed copy from ``NBMLOPS_EXECUTED_EXAMPLES``, when it has one,
so the manual shows their outputs without running them again)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

DOCS = Path(__file__).resolve().parents[1]
ROOT = DOCS.parent
EXAMPLES = ROOT / "example_notebooks"
sys.path.insert(0, str(DOCS))

from gen import assess_schema, parsers, rest, settings  # noqa: E402

#: Generated pages, by their path in the manual.
PAGES = {
    "reference/cli.md": parsers.cli_page,
    "reference/magics.md": parsers.magics_page,
    "reference/configuration.md": settings.page,
    "reference/rest-api.md": rest.page,
    "reference/assess-schema.md": assess_schema.page,
}


def executed_copy(notebook: Path) -> Path | None:
    """The newest executed copy of ``notebook``: in ``NBMLOPS_EXECUTED_EXAMPLES`` (default
    build/examples/) or where ``make demo`` left its copies, named as the notebook or with the
    demo's step number before it (``01-01_tracked.ipynb``)."""
    folders = [Path(os.environ.get("NBMLOPS_EXECUTED_EXAMPLES", ROOT / "build" / "examples")),
               ROOT / "demo-output" / "project" / "outputs"]
    found = [copy for folder in folders for pattern in (notebook.name, f"*-{notebook.name}")
             for copy in folder.glob(pattern) if copy.is_file()]
    return max(found, key=lambda copy: copy.stat().st_mtime, default=None)


def example_notebooks() -> dict[str, Path]:
    """The examples in their order, by name: each the executed copy when there is one."""
    return {nb.name: executed_copy(nb) or nb for nb in sorted(EXAMPLES.glob("*.ipynb"))}


def on_config(config: Any) -> Any:
    # The nav's "Examples" entry lists the notebooks that exist when the manual is built.
    pages = [f"examples/{name}" for name in example_notebooks()]
    for i, item in enumerate(config["nav"] or []):
        if isinstance(item, dict) and "Examples" in item:
            config["nav"][i] = {"Examples": ["examples.md", *pages]}
    return config


@event_priority(100)  # before mkdocs-jupyter's, which turns the notebooks into pages
def on_files(files: Files, config: Any) -> Files:
    for path, make in PAGES.items():
        files.append(File.generated(config, path, content=make()))
    for name, notebook in example_notebooks().items():
        files.append(File.generated(config, f"examples/{name}", abs_src_path=str(notebook)))
    return files


def on_nav(nav: Any, config: Any, files: Files) -> Any:
    # mkdocs-jupyter wraps each notebook's File; the wrapper works its source path out from
    # the docs folder, which a notebook added from elsewhere is not in: hand it the real one.
    for file in files:
        inner = getattr(file, "file", None)
        if isinstance(inner, File) and file.abs_src_path is None:
            file.abs_src_path = inner.abs_src_path
    return nav

"""Import costs that nbmlops's own processes skip.

jsonschema, which nbformat validates every notebook with, imports ``rfc3987_syntax`` whenever
it is installed (Jupyter installs it, through ``jsonschema[format-nongpl]``), only to check
the ``iri`` and ``iri-reference`` string formats; that module compiles some thirty Earley
grammars as it is imported: 1.4-1.8 s of CPU in every process that reads a notebook, about
as long as the rest of a job step's papermill process. No notebook or job schema uses those
formats. The ``nbmlops`` command and the papermill process it starts for a job step hide the
module, and jsonschema goes on without that one format checker, as it does wherever the
module is not installed. The user's kernel and Jupyter server are left as they are.
"""

from __future__ import annotations

import sys

#: Optional imports that cost far more than what they give nbmlops's processes.
SLOW_OPTIONAL = ("rfc3987_syntax",)
#: ... and in the papermill process only: papermill imports ``pyarrow.fs`` (under
#: ``except ImportError``) for ``hdfs://`` notebooks alone, about a third of its start-up,
#: while nbmlops hands it local paths. The ``nbmlops`` command keeps it: parquet needs it.
PAPERMILL_SLOW_OPTIONAL = ("pyarrow.fs",)


def skip_slow_optional_imports(also: tuple[str, ...] = ()) -> None:
    """Make ``import`` of each :data:`SLOW_OPTIONAL` module (and of each in ``also``) raise
    ImportError in this process (jsonschema imports it under ``suppress(ImportError)``). A
    module already imported stays."""
    for name in (*SLOW_OPTIONAL, *also):
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]

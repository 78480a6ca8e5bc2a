"""Exporting: a notebook (or several, as a pipeline) becomes a job folder.

Parameterizing, linting and the files a notebook reads and writes are steps of exporting
only; running a job never needs them. The public entry points are named here, so callers
do not depend on which module of the package holds them."""

from __future__ import annotations

from nbmlops.jobs.export.folder import ExportResult, ensure_image, export_job
from nbmlops.jobs.export.pipeline import PipelineExport, export_pipeline

__all__ = ["ExportResult", "PipelineExport", "ensure_image", "export_job", "export_pipeline"]

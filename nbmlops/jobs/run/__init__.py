"""Running: a job folder runs with papermill, a pipeline step by step.

What a run leaves (output notebooks, a step's last success, the names of its MLflow runs)
belongs here; exporting never needs it. The public entry points are named here, so callers
do not depend on which module of the package holds them."""

from __future__ import annotations

from nbmlops.jobs.run.job import (
    Failure,
    RunResult,
    failure_of,
    is_running,
    last_run,
    read_params_file,
    run_job,
)
from nbmlops.jobs.run.pipeline import PipelineResult, run_pipeline

__all__ = ["Failure", "PipelineResult", "RunResult", "failure_of", "is_running", "last_run",
           "read_params_file", "run_job", "run_pipeline"]

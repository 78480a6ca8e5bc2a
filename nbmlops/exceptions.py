"""Every error nbmlops raises on purpose derives from :class:`NbmlopsError`.

Inside a magic it reaches the user as a one-line ``UsageError``; in the CLI as one line on
stderr and exit status 2.
"""

from __future__ import annotations


class NbmlopsError(Exception):
    """Base class of the errors nbmlops raises."""


class ConfigError(NbmlopsError):
    """A configuration value (pyproject, environment, magic option) is invalid."""


class SpoolError(NbmlopsError):
    """The spool folder cannot be written or read."""


class SyncError(NbmlopsError):
    """Uploading spooled records to MLflow failed."""


class RecordRejected(SyncError):
    """A spooled record that cannot become a run however often it is retried (malformed, or
    refused by MLflow as invalid). The sync process moves it to the spool's ``failed/``."""


class JobError(NbmlopsError):
    """A job cannot be exported, read or run as asked (bad job.yaml, parameter, folder)."""


class LintError(JobError):
    """The notebook has problems that would make the job fail; the export stopped."""


class PipelineError(JobError):
    """The steps of a pipeline do not form one: a cycle, two steps writing the same data, a
    parameter two steps declare with different types, an unknown step."""


class ScheduleError(JobError):
    """A schedule is invalid (cron expression, target) or cannot be installed."""


class QueryError(NbmlopsError):
    """Reading runs from MLflow failed (store unreachable, bad order, unknown run)."""


class ExperimentNotFound(QueryError):
    """No active experiment of that name or id in the tracking store."""


class InvalidQuery(QueryError):
    """MLflow refused what was asked (a page token, an order, a run id): the caller's
    mistake, not the store failing."""


class InvalidFilter(InvalidQuery):
    """MLflow rejected a search filter (``metrics.auc > 0.8`` syntax)."""


class StoreNotFound(QueryError):
    """The sqlite file of the tracking URI does not exist: nothing was uploaded there yet."""


class RunNotFound(QueryError):
    """No run with that id in the tracking store."""


class ArtifactNotFound(RunNotFound):
    """The run has no artifact at that path."""


class ArtifactTooLarge(QueryError):
    """An artifact too large to send to the browser."""


class LineageError(QueryError):
    """A fingerprint that is not one, or a store that cannot be searched for it."""


class TrackLineError(ConfigError):
    """A ``%%track`` line that does not parse (bad quoting, unknown option, bad pair)."""


class AssessError(NbmlopsError):
    """``nbmlops assess`` cannot assess what it was given (no such folder, bad option)."""


class FingerprintError(NbmlopsError):
    """The object (or a value inside it) cannot be fingerprinted."""


class OutsideRoot(NbmlopsError):
    """A path that is not inside the Jupyter server's root folder."""


class NotebookNotFound(NbmlopsError):
    """No notebook at that path."""


class ModelError(NbmlopsError):
    """A registered model or version that does not exist, or an alias that cannot move."""


class GateError(ModelError):
    """A gate that does not parse, or names a metric a version does not have."""


class GateFailed(ModelError):
    """A promotion refused: at least one gate failed. ``report`` is the whole gate report,
    for a person; the message names the failing gates in one line."""

    def __init__(self, message: str, report: str = "") -> None:
        super().__init__(message)
        self.report = report


class StaleStateError(NbmlopsError):
    """``%%track --strict``: an input of the cell is stale, so its code did not run."""


class ReproduceError(QueryError):
    """A run cannot be reproduced as asked (no slice recorded, a bad option)."""

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

"""The model registry, from the notebook, the command line and jobs: registered versions,
evaluation gates, promotion and rollback, on MLflow's registry with aliases.

``registry`` reads (models, versions, aliases and their history); ``gates`` parses and
evaluates gate expressions; ``promotion`` moves aliases, through the gates. Versions are
registered by the sync process (``nbmlops.sync.register``) from ``%%track --model`` cells.
"""

from __future__ import annotations

__all__ = ["gates", "promotion", "registry"]

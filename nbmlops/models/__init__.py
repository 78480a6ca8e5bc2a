"""The model registry, from the notebook, the command line and jobs: registered versions,
evaluation gates, promotion and rollback, on MLflow's registry with aliases.

``register`` makes a ``%%track --model`` record's models versions (the sync process calls
it); ``aliases`` moves an alias and keeps its history, under the registry's lock; ``registry``
reads (models, versions, aliases and their history); ``gates`` parses and evaluates gate
expressions; ``promotion`` moves aliases through the gates. ``pickled_model`` is the pyfunc
wrapper of a model no MLflow flavour knows. The stage sits below ``sync``: the sync process
registers versions with these rules, and nothing here reads the spool or a run.
"""

from __future__ import annotations

__all__ = ["aliases", "gates", "pickled_model", "promotion", "register", "registry"]

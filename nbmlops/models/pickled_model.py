"""The pyfunc wrapper of a model MLflow has no flavour for: the kernel's pickle, unpickled
when the model is loaded, its ``predict`` (or the object itself, if callable) called.

It is part of what a registered version is, not of the spool: the kernel only pickles the
object (:mod:`nbmlops.track.models`), and registering a version (:mod:`.register`) wraps it in
this class, so it lives with the registry. A module of its own because MLflow pickles the
wrapper by reference: whoever loads the model imports this class, and this module is the only
one that imports mlflow at the top. Versions registered before it moved here name
``nbmlops.sync.pickled_model``, which still answers for them.
"""

from __future__ import annotations

import warnings
from typing import Any

from mlflow.pyfunc import PythonModel

# MLflow warns, when a subclass is defined, that its predict has no type hints. They are left
# out on purpose (below), and the warning would show in the cell of whoever loads a model.
# Recorded and dropped: MLflow sets its own "once" filter there, which no filter here overrides.
with warnings.catch_warnings(record=True):

    class PickledModel(PythonModel):
        """A pickled object served through ``mlflow.pyfunc``."""

        def load_context(self, context: Any) -> None:
            import cloudpickle

            with open(context.artifacts["model"], "rb") as f:
                self.model = cloudpickle.load(f)

        # No type hints: MLflow reads predict's hints as the model's input schema.
        def predict(self, context, model_input, params=None):
            predict = getattr(self.model, "predict", None)
            return predict(model_input) if predict is not None else self.model(model_input)

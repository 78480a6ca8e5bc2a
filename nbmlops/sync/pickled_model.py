"""The pyfunc wrapper of a model MLflow has no flavour for: the kernel's pickle, unpickled
when the model is loaded, its ``predict`` (or the object itself, if callable) called.

A module of its own because MLflow pickles the wrapper by reference: whoever loads the model
imports this class, and this module is the only one that imports mlflow at the top.
"""

from __future__ import annotations

from typing import Any

from mlflow.pyfunc import PythonModel


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

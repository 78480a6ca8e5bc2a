"""Where :class:`PickledModel` was first: pyfunc versions registered then name this module in
their pickled wrapper (MLflow pickles it by reference), so it still answers for them. The
class lives in :mod:`nbmlops.models.pickled_model`."""

from nbmlops.models.pickled_model import PickledModel

__all__ = ["PickledModel"]

"""``python -m nbmlops.cli``."""

from nbmlops.cli import console

console()

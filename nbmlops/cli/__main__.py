"""``python -m nbmlops.cli``."""

import sys

from nbmlops.cli import main

sys.exit(main())

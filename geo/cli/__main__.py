"""``python -m geo.cli``: the same as the ``gridwatch`` command."""

import sys

from geo.cli import main

sys.exit(main())

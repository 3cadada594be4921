"""``python -m fraudprep.cli``: the ``fraudprep`` command without its installed script."""

import sys

from fraudprep.cli import main

sys.exit(main())

"""``python -m cobol.cli ...``: the same as the ``cobol`` command."""

import sys

from . import main

sys.exit(main())

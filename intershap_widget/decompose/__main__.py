"""``python -m intershap_widget.decompose FILE.json``: see :func:`intershap_widget.decompose.main`."""

import sys

from .cli import main

sys.exit(main())

"""`python -m ataraxis_datalogger`: the `ataraxis-datalogger` command."""

import sys

from .cli import main

sys.exit(main())

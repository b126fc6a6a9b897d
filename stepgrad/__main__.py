"""`python -m stepgrad ...` is the same as the `stepgrad` command."""

import sys

from stepgrad.cli import main

sys.exit(main())

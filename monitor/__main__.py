"""`python -m monitor` is the same as the `wallwatch` command."""

import sys

from monitor.cli import main

sys.exit(main())

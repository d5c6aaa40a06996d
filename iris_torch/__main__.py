"""`python -m iris_torch` is the `iris-torch` command."""

import sys

from .cli import main

sys.exit(main())

"""`python -m scripts.benchmarks`, as scripts/bench runs it."""

import sys

from .cli import main

sys.exit(main())

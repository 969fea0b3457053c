"""``python -m benchmarks``: run the benchmarks, print the table, write the JSON."""

from __future__ import annotations

import sys

from .run import main

sys.exit(main())

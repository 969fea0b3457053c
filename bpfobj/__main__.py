"""``python -m bpfobj``: the ``bpfobj`` command (see ``bpfobj.cli``). Imports ``cli`` only."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())

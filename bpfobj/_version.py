"""The package version, read by setup.py and bpfobj/_build.py without importing bpfobj."""

from __future__ import annotations

__version__ = "0.1.0"

"""BTF: the kernel handle (``BTF``) and, growing here, the type model and its reader.

Owns the ``bpfobj.btf`` namespace. Imports the layers above it only
(``_internal``, ``_object``, ``errors``).
"""

from __future__ import annotations

from .handle import BTF, BTFInfo

__all__ = ["BTF", "BTFInfo"]

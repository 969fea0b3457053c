"""Private layer below every public module: the one door to the kernel and its helpers.

Nothing here is public API. ``syscall`` is the only module that touches the
compiled cffi module; ``fd`` owns descriptors.
"""

"""Build bpfobj: metadata lives in pyproject.toml; this file only wires cffi."""

from setuptools import setup

setup(cffi_modules=["cdefs/build.py:ffibuilder"])

"""bpfobj's benchmarks: the hot paths timed side by side with a C baseline.

Run ``python -m benchmarks`` (``--quick`` for a tiny N). Not part of the
package and not collected by pytest; nothing here asserts on time.
"""

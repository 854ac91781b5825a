"""`make bench`: the wallet's benchmarks, measured side by side with the raw libraries (issue 5).

Entry point: ``python -m bench.run`` (``scripts/bench.sh`` sets up what it needs and calls it).
Each section lives in its own module and returns a :class:`bench.report.Section`; ``bench.report`` writes
``docs/benchmarks.md``. ``BENCH_QUICK=1`` runs a fast pass (fewer documents, 100k rows instead of 1M).
"""

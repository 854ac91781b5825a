"""The wallet's two changes to pyHanko's parser, installed by an explicit call, never by an import.

Importing :mod:`signing` leaves pyHanko as shipped (a library should not change another library behind its
importer's back). The programs that validate outside PDFs call :func:`install_pyhanko_patches` once when they
start: the web app (``create_app``), each validator process (:mod:`signing.sandbox`) and the benchmark.

- :func:`signing.limits.install`: pyHanko's cross-reference reader counts sections and entries against the
  :class:`~signing.limits.Limits` of the enclosing :func:`~signing.limits.reading` block (inert outside one).
  :func:`~signing.limits.reading` also installs it itself, so a caller who forgot this call still reads
  outside files under the limits: the bound is a security property, not a speedup.
- :func:`signing.speedups.install`: an equivalent, faster reader for hex strings (``/Contents``).
"""

from __future__ import annotations

from . import limits, speedups

__all__ = ["install_pyhanko_patches", "pyhanko_patched"]


def install_pyhanko_patches() -> None:
    """Idempotent: route pyHanko's xref reader through the counters and its hex-string reader to the fast one."""
    limits.install()
    speedups.install()


def pyhanko_patched() -> bool:
    """Are both patches in place (what the processes that validate expect after start-up)?"""
    return limits.installed() and speedups.installed()

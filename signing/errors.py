"""Exceptions raised by :mod:`signing`.

Validation of a submitted PDF never raises for a bad file: it returns a
report (see :mod:`signing.validation`).  These exceptions are for
configuration and operator mistakes.
"""

from __future__ import annotations

__all__ = ["SigningLibraryError", "TrustStoreError"]


class SigningLibraryError(Exception):
    """Base class of every exception raised on purpose by :mod:`signing`."""


class TrustStoreError(SigningLibraryError):
    """A trust anchor or intermediate certificate could not be loaded."""

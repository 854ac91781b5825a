"""Which key custody holds the seal key, and with what: one frozen value checked when it is built.

The settings come as a handful of optional strings (``SEAL_PKCS12``, ``SEAL_PKCS11_LIB`` ...). Passing them
on as Optionals let a missing token label reach PKCS#11 as "any token", and a missing file path fail deep
inside ``cryptography``. :class:`SealConfig` is checked at construction instead: the custody kind, exactly
the fields that kind needs, each present and well formed, and a message naming the field that is not.
:func:`signing.keys.open_custody` then opens the custody it describes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import StrEnum
from pathlib import Path

from .errors import SigningLibraryError

__all__ = ["Custody", "SealConfig", "SealConfigError"]

#: PKCS#11 ``CK_TOKEN_INFO.label`` is 32 bytes (UTF-8, blank padded): a longer label matches no token.
MAX_TOKEN_LABEL_BYTES = 32


class Custody(StrEnum):
    FILE = "file"
    """A PKCS#12 file (:class:`signing.keys.Pkcs12Custody`)."""
    PKCS11 = "pkcs11"
    """A PKCS#11 token, an HSM (:class:`signing.keys.Pkcs11Custody`)."""


class SealConfigError(SigningLibraryError, ValueError):
    """The seal configuration is incomplete or malformed; ``field`` names the offending field."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name} {message}")
        self.field = field_name


_FIELDS_OF: dict[Custody, frozenset[str]] = {
    Custody.FILE: frozenset({"pkcs12", "pkcs12_password"}),
    Custody.PKCS11: frozenset({"pkcs11_lib", "pkcs11_token", "pkcs11_pin", "pkcs11_key_label", "pkcs11_cert_label"}),
}
_SECRETS = frozenset({"pkcs12_password", "pkcs11_pin"})
_REQUIRED_OF: dict[Custody, tuple[str, ...]] = {
    Custody.FILE: ("pkcs12",),
    Custody.PKCS11: ("pkcs11_lib", "pkcs11_token", "pkcs11_pin", "pkcs11_key_label"),
}


@dataclass(frozen=True)
class SealConfig:
    """Where the seal key lives. Field names are the ``SEAL_*`` settings' (``pkcs11_token``: ``SEAL_PKCS11_TOKEN``).

    Build it with :meth:`file`, :meth:`pkcs11` or :meth:`from_options`; secrets stay out of ``repr``.
    """

    custody: Custody
    pkcs12: Path | None = None
    """The PKCS#12 file (``file`` custody)."""
    pkcs12_password: str | None = field(default=None, repr=False)
    """Its password; None for a file without one."""
    pkcs11_lib: str | None = None
    """The PKCS#11 module (a path, or a library name the loader finds)."""
    pkcs11_token: str | None = None
    """The token's label."""
    pkcs11_pin: str | None = field(default=None, repr=False)
    """The user PIN."""
    pkcs11_key_label: str | None = None
    """The private key's label on the token."""
    pkcs11_cert_label: str | None = None
    """The certificate's label, when it differs from the key's."""

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "custody", Custody(self.custody))
        except ValueError:
            raise SealConfigError("custody", f"must be 'file' or 'pkcs11', not {self.custody!r}") from None
        if self.pkcs12 is not None and not isinstance(self.pkcs12, Path):
            object.__setattr__(self, "pkcs12", Path(_text("pkcs12", self.pkcs12)))
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "custody" or value is None:
                continue
            if f.name not in _FIELDS_OF[self.custody]:
                raise SealConfigError(f.name, f"is set, but the seal key's custody is {self.custody.value!r}")
            _text(f.name, str(value) if isinstance(value, Path) else value, secret=f.name in _SECRETS)
        if self.pkcs12 is not None and not self.pkcs12.name:
            raise SealConfigError("pkcs12", "must name a PKCS#12 file")
        for name in _REQUIRED_OF[self.custody]:
            if getattr(self, name) is None:
                raise SealConfigError(name, f"is required for {self.custody.value!r} custody of the seal key")
        if self.pkcs11_token is not None and len(self.pkcs11_token.encode()) > MAX_TOKEN_LABEL_BYTES:
            raise SealConfigError("pkcs11_token", f"is longer than a PKCS#11 token label may be "
                                                  f"({MAX_TOKEN_LABEL_BYTES} bytes)")

    @classmethod
    def file(cls, path: str | Path, password: str | None) -> SealConfig:
        """A PKCS#12 file and its password."""
        return cls(Custody.FILE, pkcs12=Path(path), pkcs12_password=password)

    @classmethod
    def pkcs11(cls, lib: str | Path, token: str, pin: str, key_label: str,
               cert_label: str | None = None) -> SealConfig:
        """A key on a PKCS#11 token."""
        return cls(Custody.PKCS11, pkcs11_lib=str(lib), pkcs11_token=token, pkcs11_pin=pin,
                   pkcs11_key_label=key_label, pkcs11_cert_label=cert_label)

    @classmethod
    def from_options(cls, *, pkcs12: str | Path | None = None, pkcs12_password: str | None = None,
                     pkcs11_lib: str | None = None, pkcs11_token: str | None = None, pkcs11_pin: str | None = None,
                     pkcs11_key_label: str | None = None, pkcs11_cert_label: str | None = None) -> SealConfig:
        """The settings' rule: a PKCS#11 module named means PKCS#11 custody (the file settings are then unused),
        otherwise the PKCS#12 file. Empty strings count as unset, as in the environment."""
        if pkcs11_lib:
            return cls(Custody.PKCS11, pkcs11_lib=pkcs11_lib, pkcs11_token=pkcs11_token or None,
                       pkcs11_pin=pkcs11_pin or None, pkcs11_key_label=pkcs11_key_label or None,
                       pkcs11_cert_label=pkcs11_cert_label or None)
        return cls(Custody.FILE, pkcs12=Path(pkcs12) if pkcs12 else None, pkcs12_password=pkcs12_password)

    def required(self, name: str) -> str:
        """A field this custody requires, as text (checked at construction, so never None here)."""
        value = getattr(self, name)
        if name not in _REQUIRED_OF[self.custody] or value is None:
            raise SealConfigError(name, f"is not a required field of {self.custody.value!r} custody")
        return str(value)


def _text(name: str, value: object, *, secret: bool = False) -> str:
    """A well-formed setting: text without NUL (C APIs would cut it there); names and paths also not blank and
    on one line. A secret's value never appears in a message; an empty password is a PKCS#12 file's right."""
    if not isinstance(value, str):
        raise SealConfigError(name, f"must be text, not {type(value).__name__}")
    if "\x00" in value:
        raise SealConfigError(name, "contains a NUL character")
    if name == "pkcs12_password":
        return value
    if not value.strip():
        raise SealConfigError(name, "is empty")
    if not secret and ("\n" in value or "\r" in value):
        raise SealConfigError(name, "contains a line break")
    return value

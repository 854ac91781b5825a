from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wallet.db import Base, str_id, timestamp


class Agency(Base):
    __tablename__ = "agencies"

    id: Mapped[str_id]
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    names: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # {"ar": ..., "fr": ..., "en": ...}
    allowed_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    # may push PDFs without a signed document.json (set by the operator: `agency add --legacy-metadata`)
    legacy_metadata: Mapped[bool] = mapped_column(default=False, server_default=false())
    # what it may do besides pushing documents: "guardianships" (record legal guardianship: the civil registry)
    capabilities: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    created_at: Mapped[timestamp]

    certificates: Mapped[list[AgencyCertificate]] = relationship(back_populates="agency", lazy="select")  # loaded only when signatures are matched

    def display_name(self, lang: str) -> str:
        return self.names.get(lang) or self.name


class AgencyCertificate(Base):
    """How an agency's signatures are recognised: its CA(s) and/or registered signer certificates."""

    __tablename__ = "agency_certificates"

    id: Mapped[str_id]
    agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "ca" | "signer"
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    subject: Mapped[str] = mapped_column(String(500))
    pem: Mapped[str] = mapped_column(Text)
    added_at: Mapped[timestamp]
    removed_at: Mapped[dt.datetime | None]

    agency: Mapped[Agency] = relationship(back_populates="certificates")


class ApiKey(Base):
    """Agency API keys: shown once, stored as SHA-256 (they are 256-bit random, so no slow hash is needed)."""

    __tablename__ = "api_keys"

    id: Mapped[str_id]
    agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id"), index=True)
    prefix: Mapped[str] = mapped_column(String(16))  # shown in listings to tell keys apart
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[timestamp]
    revoked_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]

    agency: Mapped[Agency] = relationship(lazy="joined")

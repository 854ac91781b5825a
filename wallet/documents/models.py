from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wallet.agencies.models import Agency
from wallet.db import Base, str_id, timestamp

# The row's own state (``documents.status``, a String column): what the issuer did. Its values are contracts.
DocumentState = Literal["active", "revoked", "replaced"]


class DocumentStatus(StrEnum):
    """A document's effective status (``documents.service.effective_status``: the row's state and its dates), the
    ``status`` of every document resource and page. The values are API contracts (PRODUCT.md)."""

    VALID = "valid"
    EXPIRING = "expiring"  # valid, expiring within documents.service.EXPIRING_DAYS
    EXPIRED = "expired"
    REVOKED = "revoked"
    REPLACED = "replaced"


class Document(Base):
    """An agency-signed PDF held for a citizen (by national ID; the account may not exist yet)."""

    __tablename__ = "documents"
    __table_args__ = (
        UniqueConstraint("agency_id", "reference", name="uq_documents_agency_reference"),
        Index("ix_documents_holder_created", "holder_id", "created_at"),
    )

    id: Mapped[str_id]
    agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id"))
    holder_id: Mapped[str] = mapped_column(String(32))  # national ID number
    type: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str] = mapped_column(String(128))
    title: Mapped[str | None] = mapped_column(String(300))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    issued_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime | None]
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int]
    page_count: Mapped[int | None]
    blob_key: Mapped[str] = mapped_column(String(200))
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[DocumentState] = mapped_column(String(16), default="active")
    revoked_at: Mapped[dt.datetime | None]
    revocation_reason: Mapped[str | None] = mapped_column(String(500))
    replaces_id: Mapped[str | None] = mapped_column(ForeignKey("documents.id"))
    replaced_by_id: Mapped[str | None] = mapped_column(String(32))
    signer_subject: Mapped[str | None] = mapped_column(String(500))
    signed_at: Mapped[dt.datetime | None]
    certified_no_changes: Mapped[bool] = mapped_column(default=False)
    validation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[timestamp]
    # set by `fsck --repair` when the blob is missing or does not decrypt (missing_blob | undecryptable)
    damage: Mapped[str | None] = mapped_column(String(24))
    damaged_at: Mapped[dt.datetime | None]

    agency: Mapped[Agency] = relationship(lazy="joined")

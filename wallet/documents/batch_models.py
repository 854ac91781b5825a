"""Batch issuance (issue 16): one agency upload of up to 1,000 documents, each item decided by a worker job."""
from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from wallet.db import Base, str_id, timestamp

# an item's outcome: the values are API contracts (PRODUCT.md, GET /api/v1/batches/{id})
ItemStatus = Literal["pending", "accepted", "replayed", "rejected"]


class Batch(Base):
    """The counters move in the transaction that decides an item (``pending`` reaching 0 completes the batch)."""

    __tablename__ = "batches"

    id: Mapped[str_id]
    agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id"), index=True)
    total: Mapped[int]
    pending: Mapped[int]
    accepted: Mapped[int] = mapped_column(default=0)  # accepted or replayed
    rejected: Mapped[int] = mapped_column(default=0)
    request_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[timestamp]
    completed_at: Mapped[dt.datetime | None]

    @property
    def status(self) -> str:
        if self.pending == 0:
            return "done"
        return "queued" if self.pending == self.total else "running"


class BatchItem(Base):
    """One document of a batch: its metadata (as sent), its file (encrypted under ``batches/``, deleted once the
    item is decided) and its outcome: exactly what a single push of it would have answered."""

    __tablename__ = "batch_items"
    __table_args__ = (
        UniqueConstraint("batch_id", "position", name="uq_batch_items_batch_position"),
        Index("ix_batch_items_status_batch", "status", "batch_id"),
    )

    id: Mapped[str_id]
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"))
    position: Mapped[int]
    reference: Mapped[str] = mapped_column(String(128))
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the manifest's metadata, as sent
    size: Mapped[int]
    blob_key: Mapped[str | None] = mapped_column(String(200))  # None once the file is deleted
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[ItemStatus] = mapped_column(String(16), default="pending")
    document_id: Mapped[str | None] = mapped_column(String(32))
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_detail: Mapped[str | None] = mapped_column(String(1000))
    decided_at: Mapped[dt.datetime | None]

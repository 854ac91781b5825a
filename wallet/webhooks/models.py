from __future__ import annotations

import datetime as dt
from typing import Literal

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from wallet.db import Base, str_id, timestamp

DeliveryStatus = Literal["pending", "delivered", "failed"]


class WebhookEndpoint(Base):
    """An agency's webhook: where its events go and the secret that signs them (under the master key)."""

    __tablename__ = "webhook_endpoints"

    agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id"), primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret_enc: Mapped[bytes] = mapped_column(LargeBinary)  # envelope.encrypt_small, AAD secret_aad(agency_id)
    created_at: Mapped[timestamp]
    secret_created_at: Mapped[timestamp]


class WebhookDelivery(Base):
    """The outbox: one event for one agency, its exact body, and where its delivery stands."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_agency_created", "agency_id", "created_at", "id"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[str_id]
    agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id"))
    event_id: Mapped[str] = mapped_column(String(32), unique=True)
    type: Mapped[str] = mapped_column(String(40))
    body: Mapped[bytes] = mapped_column(LargeBinary)  # the exact bytes POSTed (and signed) at every attempt
    status: Mapped[DeliveryStatus] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime | None]  # pending: when it is due (or its current attempt's lease ends)
    last_status: Mapped[int | None]  # the last answer's HTTP status
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[timestamp]
    updated_at: Mapped[timestamp]
    delivered_at: Mapped[dt.datetime | None]

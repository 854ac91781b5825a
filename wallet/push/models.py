"""A browser's push subscription (the PushSubscription JSON it gave), for one citizen."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from wallet.db import Base, str_id, timestamp


class PushSubscription(Base):
    __tablename__ = "push_subscriptions"

    id: Mapped[str_id]
    citizen_id: Mapped[str] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"), index=True)
    # one browser, one row: a second citizen subscribing the same browser takes it over
    endpoint_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 hex of the endpoint
    endpoint: Mapped[str] = mapped_column(String(1024))
    p256dh: Mapped[bytes] = mapped_column(LargeBinary)  # the browser's P-256 public key, uncompressed (65 bytes)
    auth: Mapped[bytes] = mapped_column(LargeBinary)  # the 16-byte authentication secret
    lang: Mapped[str] = mapped_column(String(8), default="fr")  # the page language it was made in
    created_at: Mapped[timestamp]
    last_sent_at: Mapped[dt.datetime | None]
    # the sign-in session it was made in: ending that session (sign out on this device, from the sessions page,
    # everywhere, or an account reset) stops this browser's notifications (``wallet.push.delivery``)
    session_id: Mapped[str | None] = mapped_column(String(64), index=True)

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Literal

from sqlalchemy import ForeignKey, Index, LargeBinary, String, false, func, select
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from wallet.db import Base, str_id, timestamp
from wallet.documents.models import Document

# share_items.copy_kind: the original sealed with the QR code, or (DocMDP P=1 originals, which no seal may
# touch) a sealed verification sheet served beside the unchanged original. Values are API contracts.
CopyKind = Literal["sealed", "sheet"]
# share_views.channel: the link's page, its JSON twin, a copy download
Channel = Literal["page", "json", "copy"]


class Share(Base):
    __tablename__ = "shares"
    __table_args__ = (Index("ix_shares_citizen_created", "citizen_id", "created_at"),)

    id: Mapped[str_id]
    citizen_id: Mapped[str] = mapped_column(ForeignKey("citizens.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the 128-bit token
    label: Mapped[str | None] = mapped_column(String(120))
    allow_download: Mapped[bool] = mapped_column(default=False)
    max_views: Mapped[int | None]
    # views counted on the row: every view of a share with a view limit (the UPDATE that takes one re-checks the
    # limit under the row's lock), and those of an unlimited share made before migration 0015. An unlimited
    # share's later views are counted in its log (``ShareView.counts_view``) and never lock this row: a share
    # scanned by a queue of clerks is not a queue itself. ``views`` is the sum the holder sees.
    views_used: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[timestamp]
    expires_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]
    # made by a representative (a guardian or a proxy) for the holder: who holds the documents, and the record
    # it was made under (ending that record revokes the share in the same transaction). None: the maker's own.
    holder_national_id: Mapped[str | None] = mapped_column(String(32), index=True)
    holder_name: Mapped[str | None] = mapped_column(String(200))
    presented_as: Mapped[str | None] = mapped_column(String(8))  # guardian | proxy
    presented_by_name: Mapped[str | None] = mapped_column(String(200))
    guardianship_id: Mapped[str | None] = mapped_column(ForeignKey("guardianships.id"), index=True)
    mandate_id: Mapped[str | None] = mapped_column(ForeignKey("mandates.id"), index=True)
    # counter shares (at most 30 minutes): HMAC-SHA-256 of their 12-digit code (the code itself is never stored)
    code_hash: Mapped[str | None] = mapped_column(String(64), index=True)

    items: Mapped[list[ShareItem]] = relationship(back_populates="share", lazy="selectin",
                                                    order_by="ShareItem.position")

    if TYPE_CHECKING:
        views_logged: int  # a column_property, mapped below ShareView

    @property
    def views(self) -> int:
        """Every view counted, as the holder sees it (see ``views_used``)."""
        return self.views_used + (self.views_logged or 0)


class ShareItem(Base):
    __tablename__ = "share_items"
    __table_args__ = (Index("ix_share_items_status", "status_list", "status_idx", unique=True),)

    id: Mapped[str_id]
    share_id: Mapped[str] = mapped_column(ForeignKey("shares.id"), index=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    copy_blob_key: Mapped[str | None] = mapped_column(String(200))
    copy_wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    copy_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    copy_kind: Mapped[CopyKind | None] = mapped_column(String(16))
    copy_damage: Mapped[str | None] = mapped_column(String(24))  # set by `fsck --repair` (like documents.damage)
    copy_damaged_at: Mapped[dt.datetime | None]
    # the offline payload's entry in a Token Status List (bit 1 when the share or the document no longer holds)
    status_list: Mapped[int | None]
    status_idx: Mapped[int | None]

    share: Mapped[Share] = relationship(back_populates="items")
    document: Mapped[Document] = relationship(lazy="joined")


class ShareView(Base):
    __tablename__ = "share_views"
    __table_args__ = (Index("ix_share_views_share_at", "share_id", "at"),)

    id: Mapped[str_id]
    share_id: Mapped[str] = mapped_column(ForeignKey("shares.id"))
    citizen_id: Mapped[str] = mapped_column(ForeignKey("citizens.id"), index=True)
    at: Mapped[timestamp]
    channel: Mapped[Channel] = mapped_column(String(8))
    result: Mapped[str] = mapped_column(String(24))
    ip_prefix: Mapped[str | None] = mapped_column(String(64))  # truncated: /24 or /48
    browser: Mapped[str | None] = mapped_column(String(40))  # family only
    # a view consumed by this look that ``shares.views_used`` does not hold (an unlimited share's: see Share)
    counts_view: Mapped[bool] = mapped_column(default=False, server_default=false())


# the holder's count of a share's views (loaded with the share; one indexed count)
Share.views_logged = column_property(  # type: ignore[assignment]
    select(func.count(ShareView.id)).where(ShareView.share_id == Share.id, ShareView.counts_view)
    .correlate_except(ShareView).scalar_subquery(), deferred=True)

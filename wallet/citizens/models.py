from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from wallet.db import Base, str_id, timestamp


class Citizen(Base):
    __tablename__ = "citizens"

    id: Mapped[str_id]
    national_id: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(200))
    totp_secret_enc: Mapped[bytes | None] = mapped_column(LargeBinary)  # encrypted under the master key
    totp_last_step: Mapped[int] = mapped_column(default=0)  # each code usable once
    locale: Mapped[str | None] = mapped_column(String(8))
    enrolled_at: Mapped[dt.datetime | None]
    created_at: Mapped[timestamp]
    # legacy, no longer read or written: sign-in failures are counted per normalised ID string (and client
    # address) in the rate-limit storage, so unknown IDs get the same delays (wallet/throttle.py)
    failed_logins: Mapped[int] = mapped_column(default=0)
    throttled_until: Mapped[dt.datetime | None]


class Invite(Base):
    """One-time code for a national ID (stored hashed, single use, 72 hours): an enrolment invitation
    (``citizen invite``) or a reset of an enrolled account's password and authenticator (``citizen reset``)."""

    __tablename__ = "invites"

    id: Mapped[str_id]
    national_id: Mapped[str] = mapped_column(String(32), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[timestamp]
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]
    purpose: Mapped[str] = mapped_column(String(8), default="enrol", server_default="enrol")  # enrol | reset


class CitizenSession(Base):
    """Server-side session: logout and "sign out everywhere" end it for real."""

    __tablename__ = "citizen_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the cookie's session secret
    citizen_id: Mapped[str] = mapped_column(ForeignKey("citizens.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[timestamp]
    last_seen_at: Mapped[timestamp]
    ended_at: Mapped[dt.datetime | None]
    user_agent: Mapped[str | None] = mapped_column(String(200))
    ip_prefix: Mapped[str | None] = mapped_column(String(64))  # the network signed in from (/24, /48): never the address
    # the last authentications (step-up: wallet.citizens.stepup): the sign-in's, and the latest step-up's
    authenticated_at: Mapped[dt.datetime | None]
    stepped_up_at: Mapped[dt.datetime | None]


class Passkey(Base):
    """A citizen's WebAuthn credential (discoverable, user-verified; attestation none)."""

    __tablename__ = "passkeys"

    id: Mapped[str_id]
    citizen_id: Mapped[str] = mapped_column(ForeignKey("citizens.id"), index=True)
    credential_id: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    credential_data: Mapped[bytes] = mapped_column(LargeBinary)  # fido2 AttestedCredentialData (AAGUID, id, key)
    name: Mapped[str] = mapped_column(String(60))
    sign_count: Mapped[int] = mapped_column(default=0)
    backup_eligible: Mapped[bool] = mapped_column(default=False)
    backed_up: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[timestamp]
    last_used_at: Mapped[dt.datetime | None]
    # set when an assertion's sign count went backwards (a copied authenticator): refused from then on, shown to
    # the holder as "disabled — possibly copied" until they remove it
    disabled_at: Mapped[dt.datetime | None]


class WebAuthnChallenge(Base):
    """A WebAuthn challenge (stored as its SHA-256): single use, short-lived, bound to one purpose and to the
    session (register, step-up) or the browser's pre-session cookie (login) that asked for it."""

    __tablename__ = "webauthn_challenges"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the challenge, hex
    purpose: Mapped[str] = mapped_column(String(16))  # register | login | step_up
    binding: Mapped[str] = mapped_column(String(64))  # session id, or SHA-256 of the pre-session cookie
    expires_at: Mapped[dt.datetime]


class Guardianship(Base):
    """Legal guardianship recorded by the civil registry (an agency with the ``guardianships`` capability) or
    by an operator: ``guardian_id`` holds ``minor_id``'s documents until ``valid_until`` (inclusive) or revocation.

    Conflicting records (two court orders for one minor) are all kept; the latest court order wins."""

    __tablename__ = "guardianships"
    __table_args__ = (UniqueConstraint("agency_id", "reference", name="uq_guardianships_agency_reference"),)

    id: Mapped[str_id]
    agency_id: Mapped[str | None] = mapped_column(ForeignKey("agencies.id"))  # None: recorded by an operator
    reference: Mapped[str] = mapped_column(String(120))
    guardian_id: Mapped[str] = mapped_column(String(32), index=True)
    guardian_name: Mapped[str] = mapped_column(String(200), default="")
    minor_id: Mapped[str] = mapped_column(String(32), index=True)
    minor_name: Mapped[str] = mapped_column(String(200), default="")
    basis: Mapped[str] = mapped_column(String(16))  # parent | tutor | court_order
    valid_until: Mapped[dt.date]
    created_at: Mapped[timestamp]
    revoked_at: Mapped[dt.datetime | None]
    revocation_reason: Mapped[str | None] = mapped_column(String(500))


class Mandate(Base):
    """A proxy granted by a citizen (``grantor_id``) to another (``proxy_id``, a national ID): the granted document
    types (None: all), until ``expires_at`` or until either side ends it."""

    __tablename__ = "mandates"

    id: Mapped[str_id]
    grantor_id: Mapped[str] = mapped_column(String(32), index=True)
    proxy_id: Mapped[str] = mapped_column(String(32), index=True)
    types: Mapped[list[str] | None] = mapped_column(JSON)
    can_share: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[timestamp]
    expires_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None]
    ended_by: Mapped[str | None] = mapped_column(String(32))

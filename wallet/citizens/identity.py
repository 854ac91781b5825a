"""The identity step of enrolment, behind a small interface.

Today an operator hands the citizen a one-time invite code (``flask --app wallet citizen invite ID``);
later the national digital-identity provider (OpenID Connect) proves the same thing: "the person at the
keyboard is the holder of this national ID number". Enrolment only needs an :class:`IdentityClaim` back,
and a way to mark the proof as spent once the account is set up.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from wallet.citizens.models import Invite
from wallet.db import utcnow

INVITE_LIFETIME = dt.timedelta(hours=72)
# the national ID number as agencies push it (wallet.documents.schemas.HOLDER_ID): ASCII letters and digits only
# (no look-alike letters or other scripts' digits), 4 to 32 of them, spaces typed between groups ignored
NATIONAL_ID = re.compile(r"[A-Z0-9]{4,32}")
NATIONAL_ID_RULE = "4 to 32 letters A-Z and digits 0-9, e.g. AB123456"


def parse_national_id(raw: str) -> str | None:
    """The national ID in its stored form (upper case, no spaces), or None when ``raw`` is not one. Never
    truncates: a longer value is a mistake, not an ID."""
    nid = "".join(raw.split()).upper()
    return nid if NATIONAL_ID.fullmatch(nid) else None
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud over a counter


class IdentityError(Exception):
    """The proof of identity is unknown, expired, already used, or for another ID (one answer for all)."""


@dataclass(frozen=True)
class IdentityClaim:
    national_id: str
    proof_id: str  # what to mark as spent (the invite's id; the OIDC subject + nonce later)
    method: str  # "invite" | "oidc"


class IdentityProvider(Protocol):
    method: str

    def verify(self, sess: Session, national_id: str, proof: str) -> IdentityClaim:
        """Check the proof for that national ID; raise IdentityError otherwise. Spends nothing."""

    def consume(self, sess: Session, claim: IdentityClaim) -> None:
        """Spend the proof exactly once (raise IdentityError if it was spent meanwhile)."""


def normalise_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def code_hash(code: str) -> str:
    # 60 random bits, single use, 72 h: a fast hash is enough (nothing to brute-force offline in time)
    return hashlib.sha256(("wallet-invite:" + normalise_code(code)).encode()).hexdigest()


def new_invite(sess: Session, national_id: str, now: dt.datetime | None = None,
               purpose: str = "enrol") -> tuple[Invite, str]:
    """Create an invite (``purpose`` enrol, or reset for an enrolled account); returns it with the clear code
    (shown once, stored only hashed)."""
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(12))
    code = f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"
    now = now or utcnow()
    invite = Invite(national_id=national_id.upper(), code_hash=code_hash(code), created_at=now,
                    expires_at=now + INVITE_LIFETIME, purpose=purpose)
    sess.add(invite)
    sess.flush()
    return invite, code


class InviteCodeProvider:
    """Enrolment invitations (``method`` invite) or reset codes (``method`` reset): the same one-time codes, each
    good only for its own purpose."""

    def __init__(self, method: str = "invite") -> None:
        self.method = method
        self.purpose = PURPOSES[method]

    def verify(self, sess: Session, national_id: str, proof: str) -> IdentityClaim:
        if not proof or len(proof) > 64:
            raise IdentityError("invalid code")
        invite = sess.execute(select(Invite).where(Invite.code_hash == code_hash(proof))).scalar_one_or_none()
        if (invite is None or not secrets.compare_digest(invite.national_id, national_id.upper())
                or invite.purpose != self.purpose or invite.used_at is not None or invite.expires_at <= utcnow()):
            raise IdentityError("invalid code")
        return IdentityClaim(national_id=invite.national_id, proof_id=invite.id, method=self.method)

    def consume(self, sess: Session, claim: IdentityClaim) -> None:
        now = utcnow()
        done = sess.execute(update(Invite).where(Invite.id == claim.proof_id, Invite.used_at.is_(None),
                                                 Invite.expires_at > now).values(used_at=now))
        if done.rowcount != 1:  # type: ignore[attr-defined]
            raise IdentityError("invalid code")


PURPOSES = {"invite": "enrol", "reset": "reset"}  # claim method -> the invites it accepts


def provider(method: str = "invite") -> IdentityProvider:
    """The configured identity step (only one-time codes for now): ``invite`` to enrol, ``reset`` to set a new
    password and authenticator on an enrolled account."""
    if method not in PURPOSES:
        raise IdentityError("unknown identity method")
    return InviteCodeProvider(method)

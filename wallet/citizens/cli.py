"""Operator CLI for citizens: ``flask --app wallet citizen invite ID [--name N]``, ``... citizen reset ID``,
``... citizen unlock ID``; guardianships: ``... guardian add|list|revoke``."""
from __future__ import annotations

import datetime as dt

import click
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.orm import Session

from wallet import db
from wallet.citizens.credentials import unlock_login
from wallet.citizens.enrolment import NotEnrolled, create_invite, create_reset
from wallet.citizens.identity import NATIONAL_ID_RULE, parse_national_id
from wallet.citizens.models import Citizen, Guardianship
from wallet.citizens.representation import (
    BASES,
    guardianships_of,
    person_name,
    record_guardianship,
    revoke_guardianship,
    superseded,
)
from wallet.db import utcnow
from wallet.errors import WalletError

citizen_cli = AppGroup("citizen", help="Citizen accounts: enrolment invitations, resets, sign-in unlock.")


@citizen_cli.command("invite")
@click.argument("national_id")
@click.option("--name", default=None, help="The person's name as on the ID card (recorded on the account)")
def invite(national_id: str, name: str | None) -> None:
    """Print a one-time enrolment code for NATIONAL_ID (valid 72 hours, single use, stored hashed).

    The code is the last line of the output (scripts read it); warnings go to stderr."""
    nid = parse_national_id(national_id)
    if nid is None:
        raise click.ClickException(f"{national_id!r} is not a national ID number ({NATIONAL_ID_RULE}); "
                                   "no code was made")
    enrolled = db.session().execute(select(Citizen.enrolled_at).where(
        Citizen.national_id == nid, Citizen.enrolled_at.is_not(None))).scalar_one_or_none()
    if enrolled is not None:
        click.echo(f"WARNING: {nid} is already enrolled (since {enrolled.strftime('%Y-%m-%d')}): this code lets "
                   "whoever holds it set a new password and authenticator for that account and ends its "
                   "sessions. Hand it only to the holder, in person.", err=True)
    try:
        with db.transaction() as sess:
            code, expires_at = create_invite(sess, nid, name=name)
    except WalletError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(f"enrolment code for {nid} (shown once, valid until "
               f"{expires_at.strftime('%Y-%m-%d %H:%M')} UTC):")
    click.echo(code)


@citizen_cli.command("reset")
@click.argument("national_id")
def reset(national_id: str) -> None:
    """Print a one-time reset code for the enrolled account NATIONAL_ID (valid 72 hours, single use, stored hashed).

    For a citizen who forgot the password or lost the phone, after checking the national ID card at the counter.
    On the page /reset the code sets a new password and a new authenticator; every session of the account ends and
    the old password and codes stop working. The code is the last line of the output (scripts read it).

    An ID with no enrolled account gets no code: an error on stderr and exit status 1 (use `citizen invite` for a
    first enrolment). Issuing and using the code are both audited."""
    try:
        with db.transaction() as sess:
            code, expires_at = create_reset(sess, national_id)
    except NotEnrolled as exc:
        raise click.ClickException(exc.detail) from exc
    except WalletError as exc:
        raise click.ClickException(f"{national_id!r} is not a national ID number ({NATIONAL_ID_RULE}); "
                                   "no code was made") from exc
    nid = parse_national_id(national_id)
    click.echo(f"reset code for {nid} (shown once, valid until {expires_at.strftime('%Y-%m-%d %H:%M')} UTC; "
               "hand it only to the holder, in person; it is used at /reset):")
    click.echo(code)


@citizen_cli.command("unlock")
@click.argument("national_id")
def unlock(national_id: str) -> None:
    """Clear NATIONAL_ID's sign-in failure counts (its ceiling across all addresses and every address's delay).

    The way back when a distributed attack has spent the ID's ceiling: no e-mail or SMS needed. Audited.
    """
    try:
        with db.transaction() as sess:
            nid = unlock_login(sess, national_id)
    except WalletError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(f"sign-in failure counts cleared for {nid}")


guardian_cli = AppGroup("guardian", help="Legal guardianships (the civil registry's records, or an operator's).")


@guardian_cli.command("add")
@click.argument("guardian_id")
@click.argument("minor_id")
@click.option("--until", "until", required=True, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Last day of the guardianship (YYYY-MM-DD): the 18th birthday or the court's date")
@click.option("--basis", required=True, type=click.Choice(BASES))
@click.option("--guardian-name", default="", help="The guardian's name (else: their account's, their documents')")
@click.option("--minor-name", default="", help="The minor's name (else: their account's, their documents')")
@click.option("--reference", default=None, help="The registry's reference (default: a new operator reference)")
def guardian_add(guardian_id: str, minor_id: str, until: dt.datetime, basis: str, guardian_name: str,
                 minor_name: str, reference: str | None) -> None:
    """Record that GUARDIAN_ID is the legal guardian of MINOR_ID: the guardian's wallet holds the minor's documents."""
    try:
        with db.transaction() as sess:
            row, _ = record_guardianship(sess, None, guardian_id=guardian_id, minor_id=minor_id,
                                         valid_until=until.date(), basis=basis, reference=reference,
                                         guardian_name=guardian_name, minor_name=minor_name)
            click.echo(_line(sess, row))
    except WalletError as exc:
        raise click.ClickException(exc.detail) from exc


@guardian_cli.command("list")
@click.argument("national_id")
def guardian_list(national_id: str) -> None:
    """The records naming NATIONAL_ID as guardian or minor, one a line, each beginning with its id."""
    sess = db.session()  # reads only
    for row in guardianships_of(sess, national_id):
        click.echo(_line(sess, row))


@guardian_cli.command("revoke")
@click.argument("guardianship_id")
@click.option("--reason", default="revoked by the operator")
def guardian_revoke(guardianship_id: str, reason: str) -> None:
    """End a guardianship at once: the guardian's access and every share they made under it end."""
    try:
        with db.transaction() as sess:
            row = revoke_guardianship(sess, None, guardianship_id.strip(), reason)
            click.echo(_line(sess, row))
    except WalletError as exc:
        raise click.ClickException(exc.detail) from exc


def _line(sess: Session, row: Guardianship) -> str:
    today = utcnow().date()
    state = ("revoked" if row.revoked_at else "ended" if row.valid_until < today
             else "superseded" if superseded(sess, row, today) else "active")
    guardian = person_name(sess, row.guardian_id, row.guardian_name) or "-"
    minor = person_name(sess, row.minor_id, row.minor_name) or "-"
    return (f"{row.id}\t{state}\tguardian={row.guardian_id} ({guardian})\tminor={row.minor_id} ({minor})"
            f"\tbasis={row.basis}\tuntil={row.valid_until.isoformat()}\treference={row.reference}")


commands = [citizen_cli, guardian_cli]

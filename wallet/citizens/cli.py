"""Operator CLI for citizens: ``flask --app wallet citizen invite ID``, ``... citizen reset ID``,
``... citizen unlock ID``."""
from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from wallet import db
from wallet.citizens.credentials import unlock_login
from wallet.citizens.enrolment import NotEnrolled, create_invite, create_reset
from wallet.citizens.identity import NATIONAL_ID_RULE, parse_national_id
from wallet.citizens.models import Citizen
from wallet.errors import WalletError

citizen_cli = AppGroup("citizen", help="Citizen accounts: enrolment invitations, resets, sign-in unlock.")


@citizen_cli.command("invite")
@click.argument("national_id")
def invite(national_id: str) -> None:
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
            code, expires_at = create_invite(sess, nid)
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


commands = [citizen_cli]

"""Operator CLI for citizens: ``flask --app wallet citizen invite ID``, ``... citizen unlock ID``."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from wallet import db
from wallet.errors import WalletError

citizen_cli = AppGroup("citizen", help="Citizen accounts: enrolment invitations, sign-in unlock.")


@citizen_cli.command("invite")
@click.argument("national_id")
def invite(national_id: str) -> None:
    """Print a one-time enrolment code for NATIONAL_ID (valid 72 hours, single use, stored hashed)."""
    from wallet.citizens.service import create_invite

    try:
        code, expires_at = create_invite(db.session(), national_id)
        db.commit()
    except WalletError as exc:
        db.rollback()
        raise click.ClickException(exc.detail) from exc
    click.echo(f"enrolment code for {national_id.upper()} (shown once, valid until "
               f"{expires_at.strftime('%Y-%m-%d %H:%M')} UTC):")
    click.echo(code)


@citizen_cli.command("unlock")
@click.argument("national_id")
def unlock(national_id: str) -> None:
    """Clear NATIONAL_ID's sign-in failure counts (its ceiling across all addresses and every address's delay).

    The way back when a distributed attack has spent the ID's ceiling: no e-mail or SMS needed. Audited.
    """
    from wallet.citizens.service import unlock_login

    try:
        nid = unlock_login(db.session(), national_id)
        db.commit()
    except WalletError as exc:
        db.rollback()
        raise click.ClickException(exc.detail) from exc
    click.echo(f"sign-in failure counts cleared for {nid}")


commands = [citizen_cli]

"""Operator CLI: ``flask --app wallet ...``."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from apiflask import APIFlask
from flask.cli import AppGroup
from sqlalchemy import select

from wallet import db
from wallet.extensions import runtime

db_cli = AppGroup("db", help="Database schema (Alembic).")
agency_cli = AppGroup("agency", help="Register agencies, their certificates and API keys.")
audit_cli = AppGroup("audit", help="The hash-chained audit log.")


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration."""
    from wallet.migrate import upgrade

    upgrade(runtime().settings.database_url)
    click.echo("database at head")


@agency_cli.command("add")
@click.argument("code")
@click.option("--name", required=True, help="Display name (French)")
@click.option("--name-ar", default=None)
@click.option("--name-en", default=None)
@click.option("--types", required=True, help="Comma-separated document type codes it may issue")
@click.option("--ca", "ca_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="PEM of a CA whose certificates sign for this agency")
@click.option("--signer", "signer_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="PEM of a registered signer certificate")
def agency_add(code: str, name: str, name_ar: str | None, name_en: str | None, types: str,
               ca_files: tuple[str, ...], signer_files: tuple[str, ...]) -> None:
    """Register an agency and print its first API key (shown once)."""
    from wallet.agencies import service

    sess = db.session()
    names = {"fr": name, **({"ar": name_ar} if name_ar else {}), **({"en": name_en} if name_en else {})}
    try:
        agency = service.add_agency(sess, code, name, [t.strip() for t in types.split(",") if t.strip()], names)
        for f in ca_files:
            service.add_certificate(sess, agency, Path(f).read_bytes(), "ca")
        for f in signer_files:
            service.add_certificate(sess, agency, Path(f).read_bytes(), "signer")
        key = service.issue_key(sess, agency)
        db.commit()
    except (service.AgencyError, ValueError) as exc:
        db.rollback()
        raise click.ClickException(str(exc)) from exc
    click.echo(f"agency {agency.code} registered")
    click.echo(f"API key (shown once): {key}")


@agency_cli.command("add-cert")
@click.argument("code")
@click.argument("pem", type=click.Path(exists=True, dir_okay=False))
@click.option("--kind", type=click.Choice(["ca", "signer"]), default="ca")
def agency_add_cert(code: str, pem: str, kind: str) -> None:
    """Recognise another CA or signer certificate for an agency."""
    from wallet.agencies import service

    sess = db.session()
    agency = service.get_by_code(sess, code)
    if agency is None:
        raise click.ClickException(f"no agency {code}")
    try:
        rows = service.add_certificate(sess, agency, Path(pem).read_bytes(), kind)
        db.commit()
    except (service.AgencyError, ValueError) as exc:
        db.rollback()
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{len(rows)} certificate(s) added")


@agency_cli.command("list")
def agency_list() -> None:
    """List agencies, their types, certificates and keys (prefixes only)."""
    from wallet.agencies.models import Agency, ApiKey

    sess = db.session()
    for a in sess.execute(select(Agency).order_by(Agency.code)).scalars():
        keys = sess.execute(select(ApiKey).where(ApiKey.agency_id == a.id)).scalars().all()
        live = [k.prefix for k in keys if k.revoked_at is None]
        click.echo(f"{a.code}\t{a.name}\ttypes={','.join(a.allowed_types)}\tcerts={len(a.certificates)}"
                   f"\tkeys={','.join(live) or '-'}")


@agency_cli.command("rotate-key")
@click.argument("code")
def agency_rotate_key(code: str) -> None:
    """Revoke the agency's keys and print a new one (shown once)."""
    from wallet.agencies import service

    sess = db.session()
    agency = service.get_by_code(sess, code)
    if agency is None:
        raise click.ClickException(f"no agency {code}")
    key = service.rotate_key(sess, agency)
    db.commit()
    click.echo(f"API key (shown once): {key}")


@agency_cli.command("revoke-key")
@click.argument("prefix")
def agency_revoke_key(prefix: str) -> None:
    """Revoke one API key by its prefix (as shown by `agency list`)."""
    from wallet.agencies import service

    n = service.revoke_key(db.session(), prefix)
    db.commit()
    if not n:
        raise click.ClickException(f"no active key with prefix {prefix}")
    click.echo(f"revoked {n} key(s)")


@audit_cli.command("verify")
def audit_verify() -> None:
    """Check the hash chain; exit 1 and name the first broken event if any row was altered, removed or reordered."""
    from wallet.audit import verify_chain

    result = verify_chain(db.session())
    if result.ok:
        click.echo(f"audit chain intact ({result.events} events)")
        return
    click.echo(f"audit chain BROKEN at event {result.first_broken}: {result.reason}", err=True)
    sys.exit(1)


def register(app: APIFlask) -> None:
    from wallet.citizens.cli import commands as citizen_commands
    from wallet.demo.cli import commands as demo_commands
    from wallet.maintenance import commands as maintenance_commands

    for cmd in (db_cli, agency_cli, audit_cli, *citizen_commands, *demo_commands, *maintenance_commands):
        app.cli.add_command(cmd)

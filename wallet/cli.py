"""Operator CLI: ``flask --app wallet ...``.

Each command that writes is one unit of work, ``with db.transaction()`` (commit at the end of the block,
roll back on any error); what the command did is printed after the block, once it is committed."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from apiflask import APIFlask
from flask.cli import AppGroup
from sqlalchemy import select

from signing.errors import TrustStoreError
from wallet import db
from wallet.agencies import service
from wallet.agencies.models import Agency, ApiKey
from wallet.audit_checkpoints import create_checkpoint, verify_all
from wallet.citizens.cli import commands as citizen_commands
from wallet.demo.cli import commands as demo_commands
from wallet.extensions import runtime
from wallet.maintenance import commands as maintenance_commands
from wallet.webhooks.cli import remove_webhook, set_webhook, webhooks_cli

db_cli = AppGroup("db", help="Database schema (Alembic).")
agency_cli = AppGroup("agency", help="Register agencies, their certificates and API keys.")
audit_cli = AppGroup("audit", help="The hash-chained audit log.")
agency_cli.add_command(set_webhook)
agency_cli.add_command(remove_webhook)
batches_cli = AppGroup("batches", help="Batch issuance (POST /api/v1/batches).")


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration."""
    # Alembic (0.2 s) only for this command: create_app registers this module in every web worker
    from wallet.migrate import upgrade  # noqa: PLC0415 - Alembic is for `db upgrade` only

    upgrade(runtime().settings.database_url)
    click.echo("database at head")


@agency_cli.command("add")
@click.argument("code")
@click.option("--name", required=True, help="Display name (French)")
@click.option("--name-ar", default=None)
@click.option("--name-en", default=None)
@click.option("--types", default="", help="Comma-separated document type codes it may issue")
@click.option("--ca", "ca_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="PEM of a CA whose certificates sign for this agency")
@click.option("--signer", "signer_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="PEM of a registered signer certificate")
@click.option("--force", is_flag=True, help="Register certificates that do not chain to the trust roots (warned)")
@click.option("--legacy-metadata", is_flag=True, default=False,
              help="Accept PDFs without a signed document.json from this agency (docs/signed-metadata.md)")
@click.option("--capabilities", default="",
              help="Comma-separated: guardianships (records legal guardianship: the civil registry)")
def agency_add(code: str, name: str, name_ar: str | None, name_en: str | None, types: str,
               ca_files: tuple[str, ...], signer_files: tuple[str, ...], force: bool, legacy_metadata: bool,
               capabilities: str) -> None:
    """Register an agency and print its first API key (shown once)."""
    check_chains([*ca_files, *signer_files], force=force)
    names = {"fr": name, **({"ar": name_ar} if name_ar else {}), **({"en": name_en} if name_en else {})}
    try:
        with db.transaction() as sess:
            agency = service.add_agency(sess, code, name, [t.strip() for t in types.split(",") if t.strip()],
                                        names, legacy_metadata=legacy_metadata,
                                        capabilities=[c.strip() for c in capabilities.split(",") if c.strip()])
            for f in ca_files:
                service.add_certificate(sess, agency, Path(f).read_bytes(), "ca")
            for f in signer_files:
                service.add_certificate(sess, agency, Path(f).read_bytes(), "signer")
            key = service.issue_key(sess, agency)
    except (service.AgencyError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"agency {agency.code} registered")
    click.echo(f"API key (shown once): {key}")


@agency_cli.command("add-cert")
@click.argument("code")
@click.argument("pem", type=click.Path(exists=True, dir_okay=False))
@click.option("--kind", type=click.Choice(["ca", "signer"]), default="ca")
@click.option("--force", is_flag=True, help="Register a certificate that does not chain to the trust roots (warned)")
def agency_add_cert(code: str, pem: str, kind: str, force: bool) -> None:
    """Recognise another CA or signer certificate for an agency."""
    try:
        with db.transaction() as sess:
            agency = service.get_by_code(sess, code)
            if agency is None:
                raise click.ClickException(f"no agency {code}")
            registered = tuple(c for row in agency.certificates
                               for c in service.parse_certificates(row.pem.encode()))
            check_chains([pem], force=force, known=registered)
            rows = service.add_certificate(sess, agency, Path(pem).read_bytes(), kind)
    except (service.AgencyError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{len(rows)} certificate(s) added")


def check_chains(files: list[str], *, force: bool, known: tuple[Any, ...] = ()) -> None:
    """Every certificate in ``files`` must chain to the configured trust roots (through the others given and
    the agency's ``known`` certificates): refuse with exit 1, or with ``--force`` warn loudly and go on."""
    certs: list[tuple[str, Any]] = []
    for f in files:
        try:
            parsed = service.parse_certificates(Path(f).read_bytes())
        except (ValueError, TypeError, KeyError, OSError, TrustStoreError) as exc:
            raise click.ClickException(f"{f}: not a PEM or DER certificate ({exc.__class__.__name__})") from exc
        if not parsed:
            raise click.ClickException(f"{f}: no certificate in the file")
        certs += [(f, c) for c in parsed]
    try:
        trust = runtime().trust()
    except (TrustStoreError, OSError) as exc:
        raise click.ClickException(f"cannot read the trust roots (TRUST_ROOTS): {exc}") from exc
    others = [c for _, c in certs] + list(known)
    for f, cert in certs:
        problem = trust.chain_problem(cert, others=[o for o in others if o is not cert])
        if problem is None:
            continue
        what = f"{f}: {cert.subject.human_friendly!r} does not chain to the trust roots ({problem})"
        if not force:
            raise click.ClickException(f"{what}. Nothing was registered. Check the file and TRUST_ROOTS, or pass "
                                       "--force to register it anyway (its documents will be refused as "
                                       "untrusted_signer until the roots include its issuer).")
        click.echo(f"WARNING: {what}; registering it anyway because of --force. Documents it signs are refused "
                   "as untrusted_signer until the trust roots include its issuer.", err=True)


@agency_cli.command("set-legacy-metadata")
@click.argument("code")
@click.option("--on/--off", "legacy", required=True,
              help="--on: accept PDFs without a signed document.json; --off: require it again")
def agency_set_legacy_metadata(code: str, legacy: bool) -> None:
    """Mark (or unmark) an agency whose PDFs may lack the signed document.json."""
    with db.transaction() as sess:
        agency = service.get_by_code(sess, code)
        if agency is None:
            raise click.ClickException(f"no agency {code}")
        service.set_legacy_metadata(sess, agency, legacy)
    click.echo(f"agency {agency.code}: legacy_metadata={'on' if legacy else 'off'}")


@agency_cli.command("list")
def agency_list() -> None:
    """List agencies, their types, certificates and keys (prefixes only)."""
    sess = db.session()  # reads only; the app context's end rolls back
    for a in sess.execute(select(Agency).order_by(Agency.code)).scalars():
        keys = sess.execute(select(ApiKey).where(ApiKey.agency_id == a.id)).scalars().all()
        live = [k.prefix for k in keys if k.revoked_at is None]
        click.echo(f"{a.code}\t{a.name}\ttypes={','.join(a.allowed_types)}\tcerts={len(a.certificates)}"
                   f"\tkeys={','.join(live) or '-'}\tlegacy_metadata={'on' if a.legacy_metadata else 'off'}"
                   f"\tcapabilities={','.join(a.capabilities or []) or '-'}")


@agency_cli.command("rotate-key")
@click.argument("code")
def agency_rotate_key(code: str) -> None:
    """Revoke the agency's keys and print a new one (shown once)."""
    with db.transaction() as sess:
        agency = service.get_by_code(sess, code)
        if agency is None:
            raise click.ClickException(f"no agency {code}")
        key = service.rotate_key(sess, agency)
    click.echo(f"API key (shown once): {key}")


@agency_cli.command("revoke-key")
@click.argument("prefix")
def agency_revoke_key(prefix: str) -> None:
    """Revoke one API key by its prefix (as shown by `agency list`)."""
    with db.transaction() as sess:
        n = service.revoke_key(sess, prefix)
    if not n:
        raise click.ClickException(f"no active key with prefix {prefix}")
    click.echo(f"revoked {n} key(s)")


@audit_cli.command("verify")
def audit_verify() -> None:
    """Check the keyed chain, the head and the signed checkpoints (table and export); exit 1 naming the first
    broken event or checkpoint."""
    rt = runtime()
    with db.transaction() as sess:  # reads only: nothing to commit, one transaction all the same
        result = verify_all(sess, rt.checkpoint_keys, rt.checkpoint_export)
    if result.ok:
        click.echo(result.summary)
        return
    click.echo(f"audit chain BROKEN at {result.broken}: {result.reason}", err=True)
    sys.exit(1)


@audit_cli.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign the chain's head (Ed25519), store the checkpoint and export it to write-once storage."""
    rt = runtime()
    try:
        with db.transaction() as sess:
            cp = create_checkpoint(sess, rt.checkpoint_keys, rt.checkpoint_export)
    except Exception as exc:
        raise click.ClickException(f"checkpoint not written ({type(exc).__name__}): {exc}") from exc
    where = rt.checkpoint_export.url if rt.checkpoint_export else "no export configured"
    click.echo(f"checkpoint at seq {cp.seq} signed by {cp.key_id} ({where})")


@batches_cli.command("resume")
@click.option("--older-than", default=60, show_default=True, type=click.IntRange(0, None),
              help="Only batches created at least this many seconds ago")
def batches_resume(older_than: int) -> None:
    """Hand the pending items of batches to the workers again (the embedded thread backend loses its queue when
    the process stops; a Celery worker's lost job comes back by itself) and delete leftover batch files. An item
    decided meanwhile is not pushed twice. With the thread backend the items run in this command."""
    import datetime as dt  # noqa: PLC0415 - this command only

    from flask import current_app  # noqa: PLC0415 - this command only

    from wallet import jobs  # noqa: PLC0415 - this command only
    from wallet.documents import batches  # noqa: PLC0415 - this command only

    with db.transaction() as sess:
        enqueued, deleted = batches.resume(sess, dt.timedelta(seconds=older_than))
    jobs.drain(current_app._get_current_object())  # type: ignore[attr-defined] # thread backend: run them here
    click.echo(f"{enqueued} pending items handed to the workers ({jobs.backend()}), {deleted} leftover files deleted")


jobs_cli = AppGroup("jobs", help="Background jobs (wallet/jobs.py).")


@jobs_cli.command("sweep")
@click.option("--older-than", default=60, show_default=True, type=click.IntRange(0, None),
              help="Batch items waiting at least this many seconds")
def jobs_sweep(older_than: int) -> None:
    """Hand over again what a stopped process lost (the thread backend keeps no queue; a Celery job whose worker
    died mid-delivery waits for this): pending batch items and due webhook deliveries. Run it at start-up and
    from cron (every minute in production); a job already done is never done twice."""
    import datetime as dt  # noqa: PLC0415 - this command only

    from flask import current_app  # noqa: PLC0415 - this command only

    from wallet import jobs  # noqa: PLC0415 - this command only
    from wallet.documents import batches  # noqa: PLC0415 - this command only
    from wallet.webhooks import service as webhooks  # noqa: PLC0415 - this command only

    with db.transaction() as sess:
        items, deleted = batches.resume(sess, dt.timedelta(seconds=older_than))
    with db.transaction() as sess:
        deliveries = webhooks.resend_due(sess)
    if jobs.backend() != "celery":
        jobs.drain(current_app._get_current_object())  # type: ignore[attr-defined] # thread backend: run them here
    click.echo(f"{items} batch items and {deliveries} webhook deliveries handed to the workers ({jobs.backend()}); "
               f"{deleted} leftover batch files deleted")


def register(app: APIFlask) -> None:
    for cmd in (db_cli, agency_cli, audit_cli, webhooks_cli, batches_cli, jobs_cli, *citizen_commands, *demo_commands,
                *maintenance_commands):
        app.cli.add_command(cmd)

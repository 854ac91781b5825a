"""Operator CLI of the webhooks: ``agency set-webhook`` / ``agency remove-webhook`` (added to the ``agency``
group by wallet.cli) and ``webhooks resend-due`` / ``webhooks list``."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import func, select

from wallet import db, jobs
from wallet.agencies import service as agencies
from wallet.agencies.models import Agency
from wallet.extensions import runtime
from wallet.webhooks import destinations, service
from wallet.webhooks.models import WebhookDelivery, WebhookEndpoint

webhooks_cli = AppGroup("webhooks", help="Agencies' webhook deliveries (the outbox).")


@click.command("set-webhook")
@with_appcontext
@click.argument("code")
@click.argument("url")
@click.option("--rotate", is_flag=True, help="Make a new signing secret; the old one stops at once (retries of "
                                             "earlier events are signed with the new one too)")
def set_webhook(code: str, url: str, rotate: bool) -> None:
    """Send the agency's events to URL (a host listed in WEBHOOK_ALLOWED_HOSTS, https). The signing secret is
    printed once, as the last line, when it is made: the first time and with --rotate."""
    rt = runtime()
    try:
        with db.transaction() as sess:
            agency = agencies.get_by_code(sess, code)
            if agency is None:
                raise click.ClickException(f"no agency {code}")
            done = service.set_webhook(sess, rt.envelope, agency, url, rt.settings.webhook_allowed_hosts,
                                       rotate=rotate)
    except destinations.Refused as exc:
        raise click.ClickException(f"webhook not set ({exc.code}): {exc}") from exc
    click.echo(f"agency {code}: webhook {'set' if done.created else 'changed'} to {done.url}")
    if done.secret is None:
        click.echo("signing secret unchanged (--rotate makes a new one)")
        return
    click.echo("signing secret (shown once; the HMAC-SHA256 key is this line's UTF-8 bytes; "
               + ("the old secret no longer verifies):" if rotate and not done.created else "keep it safe):"))
    click.echo(done.secret)


@click.command("remove-webhook")
@with_appcontext
@click.argument("code")
def remove_webhook(code: str) -> None:
    """Stop sending the agency's events (pending deliveries fail at their next attempt)."""
    with db.transaction() as sess:
        agency = agencies.get_by_code(sess, code)
        if agency is None:
            raise click.ClickException(f"no agency {code}")
        removed = service.remove_webhook(sess, agency)
    if not removed:
        raise click.ClickException(f"agency {code} has no webhook")
    click.echo(f"agency {code}: webhook removed")


@webhooks_cli.command("resend-due")
@click.option("--limit", default=1000, show_default=True, help="At most this many deliveries")
def resend_due(limit: int) -> None:
    """Hand pending deliveries that are due to the workers again (after a restart of the embedded thread
    backend, whose queue is lost); deliveries past their 24 hours are marked failed."""
    with db.transaction() as sess:
        n = service.resend_due(sess, limit=limit)
    if jobs.backend() != "celery":
        jobs.drain(current_app._get_current_object())  # type: ignore[attr-defined]
    click.echo(f"{n} due deliveries handed over")


@webhooks_cli.command("list")
def list_webhooks() -> None:
    """Each agency's webhook URL and its deliveries per status."""
    sess = db.session()
    for endpoint, code in sess.execute(select(WebhookEndpoint, Agency.code).join(
            Agency, Agency.id == WebhookEndpoint.agency_id).order_by(Agency.code)):
        counts = dict(sess.execute(select(WebhookDelivery.status, func.count()).where(
            WebhookDelivery.agency_id == endpoint.agency_id).group_by(WebhookDelivery.status)).all())
        click.echo(f"{code}\t{endpoint.url}\tpending={counts.get('pending', 0)}\t"
                   f"delivered={counts.get('delivered', 0)}\tfailed={counts.get('failed', 0)}")

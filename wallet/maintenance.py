"""Operator CLI for the store's health and the master key: ``flask --app wallet fsck``, ``keys rotate-master``."""
from __future__ import annotations

import base64
import datetime as dt
import secrets
import sys

import click
from botocore.exceptions import BotoCoreError, ClientError
from flask.cli import AppGroup, with_appcontext
from sqlalchemy.exc import OperationalError

from config.settings import install_new_instance_key, instance_keyring
from wallet.extensions import runtime
from wallet.fsck import Problem, run
from wallet.keys import remaining, rotate
from wallet.storage import StorageUnavailable


@click.command("fsck")
@click.option("--repair", is_flag=True, help="Remove orphan blobs and temp files; mark damaged documents.")
@click.option("--grace", type=click.IntRange(min=0), default=600, show_default=True,
              help="Seconds: blobs and temp files younger than this are a write in progress, not judged.")
@click.option("--quick", is_flag=True, help="Check that blobs exist, without reading and decrypting them.")
@with_appcontext
def fsck_command(repair: bool, grace: int, quick: bool) -> None:
    """Reconcile database rows and blobs. One line per problem; exit 0 when clean, 1 if any, 2 if the store or
    the database cannot be reached.

    Lines: orphan_blob KEY | missing_blob document|share_item ID KEY | undecryptable document|share_item ID |
    undecryptable preview KEY | temp_file NAME. With --repair each fixed problem's line ends with " repaired"."""

    def show(problem: Problem) -> None:
        click.echo(problem.line + (" repaired" if problem.repaired else ""))

    # S3 errors: no credentials, access denied...
    unavailable: tuple[type[BaseException], ...] = (StorageUnavailable, OperationalError, BotoCoreError, ClientError)
    try:
        problems = run(runtime(), repair=repair, grace=dt.timedelta(seconds=grace), quick=quick, report=show)
    except unavailable as exc:
        click.echo(f"error unavailable {type(exc).__name__}", err=True)
        sys.exit(2)
    left = [p for p in problems if not p.repaired]
    click.echo(f"fsck: {len(problems)} problem(s), {len(problems) - len(left)} repaired", err=True)
    sys.exit(1 if left else 0)


keys_cli = AppGroup("keys", help="The master key that wraps every data key.")


@keys_cli.command("generate")
def keys_generate() -> None:
    """Print a new random master key (base64), for MASTER_KEY."""
    click.echo(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("="))


@keys_cli.command("rotate-master")
@click.option("--new-key", is_flag=True,
              help="Embedded default only: generate a new current key under instance/ first (the old one stays "
                   "on the ring as a previous key).")
@click.option("--batch", type=click.IntRange(min=1, max=5000), default=200, show_default=True)
def keys_rotate_master(new_key: bool, batch: int) -> None:
    """Re-wrap every data key and column secret under the current master key (MASTER_KEY), without
    re-encrypting blobs. Resumable: run it again after a crash. Exit 1 if some value no key opens."""
    rt = runtime()
    settings = rt.settings
    if new_key:
        if settings.production or not rt.envelope.reloadable:
            raise click.ClickException("--new-key is for the embedded default; in production set MASTER_KEY to "
                                       "a new key (keys generate), move the old one to MASTER_KEYS_PREVIOUS, "
                                       "restart, then run keys rotate-master")
        install_new_instance_key(settings.instance_path)
        rt.envelope.load(*instance_keyring(settings.instance_path))
    result = rotate(rt, batch=batch,
                    after_batch=lambda kind, n: click.echo(f"rewrapped {n} {kind} value(s)", err=True))
    for name in result.failed:
        click.echo(f"unreadable {name}")
    left = remaining(rt)
    click.echo(f"master key {result.key_id}: rewrapped " +
               ", ".join(f"{k} {v}" for k, v in result.rewrapped.items()) +
               "; left under other keys: " + ", ".join(f"{k} {v}" for k, v in left.items()))
    sys.exit(1 if result.failed or any(left.values()) else 0)


commands = [fsck_command, keys_cli]

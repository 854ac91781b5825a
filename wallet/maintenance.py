"""Operator CLI for the store's health and the master key: ``flask --app wallet fsck``, ``keys rotate-master``."""
from __future__ import annotations

import datetime as dt
import sys

import click
from flask.cli import with_appcontext

from wallet.extensions import runtime


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
    from sqlalchemy.exc import OperationalError

    from wallet.fsck import Problem, run
    from wallet.storage import StorageUnavailable

    def show(problem: Problem) -> None:
        click.echo(problem.line + (" repaired" if problem.repaired else ""))

    unavailable: tuple[type[BaseException], ...] = (StorageUnavailable, OperationalError)
    try:
        from botocore.exceptions import BotoCoreError, ClientError  # no credentials, access denied...

        unavailable += (BotoCoreError, ClientError)
    except ImportError:  # pragma: no cover - boto3 is a dependency
        pass
    try:
        problems = run(runtime(), repair=repair, grace=dt.timedelta(seconds=grace), quick=quick, report=show)
    except unavailable as exc:
        click.echo(f"error unavailable {type(exc).__name__}", err=True)
        sys.exit(2)
    left = [p for p in problems if not p.repaired]
    click.echo(f"fsck: {len(problems)} problem(s), {len(problems) - len(left)} repaired", err=True)
    sys.exit(1 if left else 0)


commands = [fsck_command]

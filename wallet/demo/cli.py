"""``flask --app wallet demo push``: the agency simulator on the command line."""
from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import AppGroup
from tqdm import tqdm

from wallet.extensions import runtime

demo_cli = AppGroup("demo", help="Demo material and the agency simulator.")


@demo_cli.command("push")
@click.option("--agency", "code", required=True, help="Demo agency code (MJ, MEN, OMPIC)")
@click.option("--holder", required=True, help="National ID of the holder")
@click.option("--holder-name", default="Citoyen de démonstration")
@click.option("--type", "doc_type", required=True, help="Document type code")
@click.option("--count", default=1, show_default=True, type=click.IntRange(1, 100000))
@click.option("--demo-json", type=click.Path(dir_okay=False), default=None,
              help="Defaults to instance/demo.json (base URL, API key and PKCS#12 of the agency)")
@click.option("--base-url", default=None, help="Override the base URL from demo.json")
@click.option("--seed", type=int, default=None)
def push(code: str, holder: str, holder_name: str, doc_type: str, count: int, demo_json: str | None,
         base_url: str | None, seed: int | None) -> None:
    """Generate COUNT realistic documents, sign them with the agency's demo key and push them over HTTP."""
    # the document generator (PDF toolkit, uharfbuzz, requests: 0.1 s) only for this command: create_app
    # registers this module in every web worker
    from wallet.demo.push import AgencyClient, generate  # noqa: PLC0415 - demo generator for `demo push` only

    path = Path(demo_json) if demo_json else runtime().settings.instance_path / "demo.json"
    if not path.exists():
        raise click.ClickException(f"{path} not found: run `make run` first")
    demo = json.loads(path.read_text())
    if base_url:
        demo["base_url"] = base_url
    client = AgencyClient.from_demo(demo, code)
    ok = failed = 0
    with tqdm(total=count, unit="doc", desc=f"{client.code} → {doc_type}") as bar:
        for resp in generate(client, holder.upper(), holder_name, doc_type, count, seed):
            if resp.status_code in (200, 201):
                ok += 1
            else:
                failed += 1
                tqdm.write(f"{resp.status_code} {resp.text[:200]}")
            bar.update(1)
    click.echo(f"pushed {ok}, failed {failed}")
    if failed:
        raise SystemExit(1)


commands = [demo_cli]

"""``flask --app wallet demo push``: the agency simulator on the command line."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup
from tqdm import tqdm

from wallet.extensions import runtime

demo_cli = AppGroup("demo", help="Demo material and the agency simulator.")


@demo_cli.command("push")
@click.option("--agency", "code", default=None, help="Demo agency code (MJ, MEN, OMPIC); MEN with --batch")
@click.option("--holder", default=None, help="National ID of the holder (with --batch: one per document if left out)")
@click.option("--holder-name", default="Citoyen de démonstration")
@click.option("--type", "doc_type", default=None, help="Document type code; school_report with --batch")
@click.option("--count", default=1, show_default=True, type=click.IntRange(1, 100000))
@click.option("--batch", "batch_size", type=click.IntRange(1, 1000), default=None,
              help="Send N documents as one batch (POST /api/v1/batches) and follow it to the end")
@click.option("--bad", default=0, show_default=True, type=click.IntRange(0, 100),
              help="With --batch: add this many bad documents (unsigned, not a PDF, metadata mismatch)")
@click.option("--demo-json", type=click.Path(dir_okay=False), default=None,
              help="Defaults to instance/demo.json (base URL, API key and PKCS#12 of the agency)")
@click.option("--base-url", default=None, help="Override the base URL from demo.json")
@click.option("--seed", type=int, default=None)
def push(code: str | None, holder: str | None, holder_name: str, doc_type: str | None, count: int,
         batch_size: int | None, bad: int, demo_json: str | None, base_url: str | None, seed: int | None) -> None:
    """Generate COUNT realistic documents, sign them with the agency's demo key and push them over HTTP; with
    --batch N, N school reports in one batch, with a progress bar until every item is decided."""
    # the document generator (PDF toolkit, uharfbuzz, requests: 0.1 s) only for this command: create_app
    # registers this module in every web worker
    from wallet.demo.push import AgencyClient, generate  # noqa: PLC0415 - demo generator for `demo push` only

    path = Path(demo_json) if demo_json else runtime().settings.instance_path / "demo.json"
    if not path.exists():
        raise click.ClickException(f"{path} not found: run `make run` first")
    demo = json.loads(path.read_text())
    if base_url:
        demo["base_url"] = base_url
    if batch_size is not None:
        push_batch(demo, code or "MEN", doc_type or "school_report", holder, holder_name, batch_size, bad, seed)
        return
    if not (code and holder and doc_type):
        raise click.UsageError("--agency, --holder and --type are needed (or --batch N)")
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


def push_batch(demo: dict[str, Any], code: str, doc_type: str, holder: str | None, holder_name: str, count: int,
               bad: int, seed: int | None) -> None:
    from wallet.demo.push import AgencyClient, build_batch  # noqa: PLC0415 - demo generator for `demo push` only

    client = AgencyClient.from_demo(demo, code)
    with tqdm(total=count + bad, unit="doc", desc=f"{client.code}: signing {doc_type}") as bar:
        entries = build_batch(client, count, doc_type, holder.upper() if holder else None, holder_name, seed, bad,
                              progress=lambda: bar.update(1))
    resp = client.push_batch(entries)
    if resp.status_code != 202:
        raise click.ClickException(f"batch refused: {resp.status_code} {resp.text[:500]}")
    batch_id = resp.json()["id"]
    click.echo(f"batch {batch_id} queued ({resp.json()['total']} documents)")
    with tqdm(total=count + bad, unit="doc", desc="issued") as bar:
        while True:
            out = client.batch(batch_id)
            bar.update(out["accepted"] + out["rejected"] - bar.n)
            bar.set_postfix(accepted=out["accepted"], rejected=out["rejected"])
            if out["status"] == "done":
                break
            time.sleep(0.5)
    for item in out["items"]:
        if item["status"] == "rejected":
            click.echo(f"{item['reference']}: {item['error']['code']} — {item['error']['detail']}")
    replayed = sum(1 for i in out["items"] if i["status"] == "replayed")
    click.echo(f"batch {batch_id} done: accepted {out['accepted']} ({replayed} replayed), "
               f"rejected {out['rejected']}")
    if out["rejected"] > bad:
        raise SystemExit(1)


commands = [demo_cli]

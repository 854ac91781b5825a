"""``make run``: prepare the embedded default, serve it with gunicorn, push the demo documents over HTTP,
then write instance/demo.json for integrators."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from config.settings import Settings
from wallet.demo.prepare import DEMO_CITIZEN, prepare
from wallet.demo.push import AgencyClient, generate
from wallet.private_files import private_umask, write_private

SEED = [("MJ", "criminal_record"), ("MJ", "nationality"), ("MEN", "school_report"),
        ("MEN", "school_certificate"), ("OMPIC", "commerce_register")]


def wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the web server exited with {proc.returncode}")
        try:
            if requests.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise SystemExit("the web server did not become ready")


def seed_documents(demo: dict[str, Any]) -> None:
    clients: dict[str, AgencyClient] = {}
    for i, (code, doc_type) in enumerate(SEED):
        client = clients.setdefault(code, AgencyClient.from_demo(demo, code))
        for resp in generate(client, DEMO_CITIZEN["national_id"], DEMO_CITIZEN["name"], doc_type, 1, seed=i,
                             reference_prefix=f"DEMO-{code}-{doc_type.upper()}"):
            if resp.status_code in (200, 201):
                print(f"  pushed {doc_type} ({code}): {resp.status_code}")
            elif resp.status_code == 409:
                print(f"  {doc_type} ({code}) already in the wallet")
            else:
                raise SystemExit(f"seeding {doc_type} failed: {resp.status_code} {resp.text[:300]}")


def main() -> None:
    private_umask()  # before anything is created under instance/ (gunicorn, a child, inherits it)
    settings = Settings.from_env()
    port = os.environ.get("PORT", "5000")
    base = settings.public_base_url
    print(f"preparing the embedded default under {settings.instance_path} ...")
    demo = prepare(settings)
    env = dict(os.environ, PORT=port)
    root = Path(__file__).resolve().parent.parent.parent
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(root / "config" / "gunicorn.conf.py"),
                             "wallet:create_app()"], env=env, cwd=root)

    def stop(signum: int, _frame: Any) -> None:
        proc.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        wait_ready(base, proc)
        demo = {"base_url": base, **demo}
        print("pushing the demo documents through the agency API ...")
        seed_documents(demo)
        target = settings.instance_path / "demo.json"
        write_private(target, json.dumps(demo, indent=2, ensure_ascii=False))
        (settings.instance_path / "demo.pending.json").unlink(missing_ok=True)
        print(f"\nThe wallet is running at {base}\n  demo citizen: {DEMO_CITIZEN['national_id']} "
              f"(password and TOTP secret in {target})\n  agencies and API keys: {target}\n", flush=True)
    except BaseException:
        proc.terminate()
        raise
    sys.exit(proc.wait())


if __name__ == "__main__":
    main()

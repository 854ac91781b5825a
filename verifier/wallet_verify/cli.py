"""``wallet-verify sync BASE_URL --cache DIR`` and ``wallet-verify check QRTEXT --cache DIR``.

check: prints the result on the first line (``result: valid`` ...), then the facts; exit 0 only for a valid
payload whose status was read from the cache; 2 revoked, 3 expired, 4 invalid, 5 unknown_key, 6 status unknown.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

import requests

from wallet_verify.cache import lists_of, load, sync
from wallet_verify.check import Malformed, Outcome, verify_qr

EXIT = {"valid": 0, "revoked": 2, "expired": 3, "invalid": 4, "unknown_key": 5}
NO_STATUS = 6


def _when(ts: float | int | None) -> str:
    if not isinstance(ts, (int, float)):
        return "-"
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def report(out: Outcome) -> list[str]:
    lines = [f"result: {out.result}"]
    if out.result == "valid" and not out.status_checked:
        lines.append(f"warning: {out.reason}")
    elif out.result == "valid" and out.stale:
        lines.append(f"warning: valid as of {_when(out.status_as_of)}, reconnect to refresh (wallet-verify sync)")
    elif out.reason:
        lines.append(f"reason: {out.reason}")
    if out.status_as_of:
        lines.append(f"status as of: {_when(out.status_as_of)}")
    raw = out.claims.get("doc")
    doc: dict[str, Any] = raw if isinstance(raw, dict) else {}
    facts = [("holder", doc.get("hnm")), ("national ID", doc.get("hid")), ("document type", doc.get("typ")),
             ("issuer", doc.get("agc")), ("issued", doc.get("isd")), ("expires", doc.get("exd")),
             ("share expires", _when(out.claims.get(4)) if 4 in out.claims else None),
             ("service", out.claims.get(1))]
    pby = out.claims.get("pby")
    if isinstance(pby, dict):
        facts.append(("presented by", f"{pby.get('name')} ({pby.get('role')})"))
    if isinstance(doc.get("sha"), bytes):
        facts.append(("original SHA-256", doc["sha"].hex()))
    lines += [f"{k}: {v}" for k, v in facts if v not in (None, "")]
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="wallet-verify", description=__doc__.splitlines()[0] if __doc__ else None)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("sync", help="download the key set and the status lists")
    s.add_argument("base_url")
    s.add_argument("--cache", required=True, type=Path)
    c = sub.add_parser("check", help="check a QR text offline with the cache")
    c.add_argument("qr_text")
    c.add_argument("--cache", required=True, type=Path)
    args = p.parse_args(argv)
    if args.command == "sync":
        try:
            state = sync(args.base_url, args.cache)
        except (requests.RequestException, ValueError, Malformed) as e:
            print(f"sync failed: {e}", file=sys.stderr)
            return 1
        print(f"synced {len(state['keys'].get('keys', []))} key(s), {len(state.get('lists', {}))} status list(s)")
        return 0
    state = load(args.cache)
    out = verify_qr(args.qr_text, state.get("keys") or {}, lists_of(state))
    print("\n".join(report(out)))
    if out.result == "valid" and not out.status_checked:
        return NO_STATUS
    return EXIT[out.result]


if __name__ == "__main__":
    sys.exit(main())

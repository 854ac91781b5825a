"""Row 3 — scale: the verification endpoints with 10,000 and with 1,000,000 documents and shares in PostgreSQL.

Rows are bulk-loaded with COPY (psycopg 3 ``cursor.copy``), not through the API, into the real schema with all
its indexes. Each table's rows are cloned from a real row the API created in this run (so every column, JSON
validation report and wrapped key included, is what production stores), with fresh ids, random token hashes,
spread timestamps, 0–3 logged views per share and a mix of expired / revoked / view-limited shares.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import random
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg

from bench import wrk
from bench.env import PG_URL, create_database, drop_database
from bench.floor import FloorServer
from bench.report import Section
from bench.stats import fmt_ms, median
from bench.verification import endpoints

P50_RATIO_TARGET = 1.2
CITIZENS_PER = 5  # documents (and shares) per bulk citizen
SAMPLE_TOKENS = 2000


def _esc(value: Any) -> str:
    """One value in COPY text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "\\\\x" + bytes(value).hex()
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        value = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    s = str(value)
    if any(c in s for c in "\\\t\n\r"):
        s = s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return s


class Table:
    """A template row of a real table; ``line(overrides)`` renders a COPY line with some columns replaced."""

    def __init__(self, conn: Any, name: str, where: str = "", params: tuple[Any, ...] = ()) -> None:
        cur = conn.execute(f"SELECT * FROM {name} {where} LIMIT 1", params)
        row = cur.fetchone()
        if row is None:
            raise LookupError(f"no {name} row to clone (the API created none)")
        self.name = name
        self.columns = [d.name for d in cur.description]
        self.template = [_esc(v) for v in row]
        self.values = dict(zip(self.columns, row))
        self.index = {c: i for i, c in enumerate(self.columns)}

    def line(self, overrides: dict[str, Any]) -> str:
        cells = list(self.template)
        for k, v in overrides.items():
            if k in self.index:
                cells[self.index[k]] = _esc(v)
        return "\t".join(cells) + "\n"

    def copy(self, conn: Any, lines: Iterator[str], chunk: int = 1 << 20) -> int:
        n = 0
        with conn.cursor() as cur:
            with cur.copy(f"COPY {self.name} ({', '.join(self.columns)}) FROM STDIN") as cp:
                buf: list[str] = []
                size = 0
                for ln in lines:
                    buf.append(ln)
                    size += len(ln)
                    n += 1
                    if size >= chunk:
                        cp.write("".join(buf).encode())
                        buf, size = [], 0
                if buf:
                    cp.write("".join(buf).encode())
        return n


class BulkLoader:
    """Grows the database to ``total`` documents and shares (one item each) in COPY batches."""

    def __init__(self, dsn: str, demo_citizen_id: str, seed: int = 5) -> None:
        self.dsn = dsn
        self.conn = psycopg.connect(dsn, autocommit=False)
        self.conn.execute("SET synchronous_commit = off")
        self.rng = random.Random(seed)
        self.citizens = Table(self.conn, "citizens", "WHERE national_id = %s", (demo_citizen_id,))
        self.documents = Table(self.conn, "documents", "WHERE holder_id = %s ORDER BY created_at",
                               (demo_citizen_id,))
        self.shares = Table(self.conn, "shares", "ORDER BY created_at DESC")
        self.items = Table(self.conn, "share_items", "WHERE copy_blob_key IS NOT NULL")
        try:
            self.views: Table | None = Table(self.conn, "share_views")
        except LookupError:
            self.views = None
        self.conn.rollback()
        self.tokens: list[str] = []  # tokens of valid bulk shares, for the load
        self.loaded = 0
        self.timings: list[tuple[int, float]] = []

    def count(self) -> tuple[int, int]:
        with self.conn.cursor() as cur:
            docs = cur.execute("SELECT count(*) FROM documents").fetchone()[0]
            shares = cur.execute("SELECT count(*) FROM shares").fetchone()[0]
        self.conn.rollback()
        return int(docs), int(shares)

    def grow_to(self, total: int) -> float:
        """Add bulk rows until there are ``total`` documents; returns the COPY wall time."""
        _, shares = self.count()
        n = total - shares  # one new document per new share: both reach ``total`` (give or take the API's)
        if n <= 0:
            return 0.0
        t0 = time.perf_counter()
        now = dt.datetime.now(dt.UTC)
        rng = self.rng
        batch = uuid.uuid4().hex[:6]
        n_cit = -(-n // CITIZENS_PER)
        cit_ids = [uuid.uuid4().hex for _ in range(n_cit)]
        nat_ids = [f"BL{batch}{i:08d}" for i in range(n_cit)]
        doc_ids = [uuid.uuid4().hex for _ in range(n)]
        share_ids = [uuid.uuid4().hex for _ in range(n)]
        # which shares are valid and which we will query (uniform over the new rows)
        sample = set(rng.sample(range(n), min(SAMPLE_TOKENS, n)))
        tokens: dict[int, str] = {}

        def when(days_back: float) -> dt.datetime:
            return now - dt.timedelta(seconds=days_back * 86400)

        def citizens() -> Iterator[str]:
            for i in range(n_cit):
                yield self.citizens.line({"id": cit_ids[i], "national_id": nat_ids[i],
                                          "name": f"Citoyen {batch} {i}", "created_at": when(rng.uniform(30, 700)),
                                          "enrolled_at": when(rng.uniform(1, 30))})

        agencies_types = self._agency_types()
        has_expiry = self.documents.values.get("expires_at") is not None

        def documents() -> Iterator[str]:
            for i in range(n):
                agency_id, doc_type = agencies_types[i % len(agencies_types)]
                issued = when(rng.uniform(0, 365))
                valid = i in sample
                revoked = (not valid) and rng.random() < 0.03
                yield self.documents.line({
                    "id": doc_ids[i], "agency_id": agency_id, "type": doc_type, "holder_id": nat_ids[i // CITIZENS_PER],
                    "reference": f"BULK-{batch}-{i:08d}", "issued_at": issued, "created_at": issued,
                    "expires_at": None if not has_expiry else (now + dt.timedelta(days=60) if valid
                                                              else issued + dt.timedelta(days=90)),
                    "sha256": secrets.token_hex(32), "blob_key": f"documents/{doc_ids[i]}/original",
                    "status": "revoked" if revoked else "active", "revoked_at": now if revoked else None,
                    "revocation_reason": "bulk" if revoked else None, "signed_at": issued})

        def shares() -> Iterator[str]:
            for i in range(n):
                token = secrets.token_urlsafe(16)
                if i in sample:
                    tokens[i] = token
                    expires, revoked, max_views, used = now + dt.timedelta(days=30), None, None, rng.randint(0, 3)
                else:
                    created = when(rng.uniform(0, 365))
                    expires = created + dt.timedelta(seconds=rng.choice((600, 3600, 86400, 30 * 86400)))
                    revoked = created + dt.timedelta(seconds=60) if rng.random() < 0.05 else None
                    max_views = rng.choice((None, None, 1, 3, 10))
                    used = rng.randint(0, 3) if max_views is None else min(max_views, rng.randint(0, 3))
                yield self.shares.line({
                    "id": share_ids[i], "citizen_id": cit_ids[i // CITIZENS_PER],
                    "token_hash": hashlib.sha256(token.encode()).hexdigest(), "label": None,
                    "max_views": max_views, "views_used": used, "created_at": when(rng.uniform(0, 365)),
                    "expires_at": expires, "revoked_at": revoked, "code_hash": None})

        def items() -> Iterator[str]:
            for i in range(n):
                item_id = uuid.uuid4().hex
                yield self.items.line({"id": item_id, "share_id": share_ids[i], "document_id": doc_ids[i],
                                       "position": 0, "copy_blob_key": f"shares/{share_ids[i]}/{item_id}",
                                       "copy_sha256": secrets.token_hex(32),
                                       # bulk rows carry no offline payload: no status-list entry (unique per list)
                                       "status_list": None, "status_idx": None})

        def views() -> Iterator[str]:
            assert self.views is not None
            for i in range(n):
                for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
                    yield self.views.line({"id": uuid.uuid4().hex, "share_id": share_ids[i],
                                           "citizen_id": cit_ids[i // CITIZENS_PER], "at": when(rng.uniform(0, 300)),
                                           "channel": rng.choice(("page", "json", "page", "copy")),
                                           "result": "valid", "ip_prefix": f"105.{rng.randint(0, 255)}.{rng.randint(0, 255)}.0/24",
                                           "browser": rng.choice(("Chrome Mobile", "Safari", "Samsung Internet"))})

        self.citizens.copy(self.conn, citizens())
        self.documents.copy(self.conn, documents())
        self.shares.copy(self.conn, shares())
        self.items.copy(self.conn, items())
        if self.views is not None:
            self.views.copy(self.conn, views())
        self.conn.commit()
        self.tokens.extend(tokens.values())
        self.loaded += n
        elapsed = time.perf_counter() - t0
        self.timings.append((n, elapsed))
        return elapsed

    def analyze(self) -> float:
        t0 = time.perf_counter()
        self.conn.autocommit = True
        self.conn.execute("VACUUM ANALYZE")
        # flush the load's dirty pages now: otherwise the checkpointer writes them out during the first
        # measurements at this size and charges that I/O to whichever endpoint runs then
        self.conn.execute("CHECKPOINT")
        self.conn.autocommit = False
        return time.perf_counter() - t0

    def _agency_types(self) -> list[tuple[str, str]]:
        rows = self.conn.execute("SELECT id, allowed_types FROM agencies ORDER BY code").fetchall()
        self.conn.rollback()
        out = []
        for agency_id, types in rows:
            types = json.loads(types) if isinstance(types, str) else types
            out += [(agency_id, t) for t in types]
        return out

    def close(self) -> None:
        self.conn.close()


def run(env: Any, demo_citizen_id: str, sizes: list[int], *, runs: int, duration: float,
        log: Callable[[str], None] = print) -> Section:
    """The smallest and the largest size side by side: two databases, two servers, runs alternating.

    The bench database is grown to ``sizes[0]`` and cloned (``CREATE DATABASE ... TEMPLATE``, the main server
    stopped for the moment it takes); the clone is grown to ``sizes[-1]`` and served by a second wallet server
    under the same gunicorn settings. Each round measures every endpoint at the small size then at the large
    one, so the shared machine's drift (its speed changes within minutes) hits both alike.
    """
    sec = Section("scale", "3. Scale")
    small, large = sizes[0], sizes[-1]
    large_db = f"{env.db_name}_large"
    tokens: dict[int, list[str]] = {}
    with contextlib.ExitStack() as stack:
        for size, dsn in ((small, env.pg_dsn()), (large, env.pg_dsn(large_db))):
            if size == large:
                env.stop_server()  # a template database must have no other session
                create_database(large_db, template=env.db_name)
                stack.callback(drop_database, large_db)
                env.start_server()
            loader = BulkLoader(dsn, demo_citizen_id, seed=5 if size == small else 6)
            try:
                _, shares_before = loader.count()
                load_s = loader.grow_to(size)
                an_s = loader.analyze()
                docs, shares = loader.count()
            finally:
                loader.close()
            log(f"  scale: {docs} documents / {shares} shares (COPY {load_s:.0f} s, VACUUM ANALYZE {an_s:.0f} s)")
            sec.add(f"bulk load to {docs:,} documents / {shares:,} shares",
                    f"COPY {shares - shares_before:,} rows each in {load_s:.1f} s, VACUUM ANALYZE {an_s:.1f} s")
            tokens[size] = loader.tokens[-SAMPLE_TOKENS:] if size == small else \
                random.Random(size).sample(loader.tokens, min(SAMPLE_TOKENS, len(loader.tokens)))
        big = stack.enter_context(FloorServer({**env.env, "DATABASE_URL": f"{PG_URL}/{large_db}"},
                                              env.tmp / "server-large.log", app="wallet:create_app()",
                                              ready="/readyz"))
        servers = {small: env.base_url, large: big.base_url}
        targets = {size: endpoints(tokens[size]) for size in (small, large)}
        results: dict[int, dict[str, list[wrk.WrkResult]]] = {size: {n: [] for n in targets[size]} for size in targets}
        for size in (small, large):  # warm-up (discarded): the second server starts cold
            for name in targets[size]:
                wrk.run(servers[size], targets[size][name], duration=min(duration, 2.0))
        for round_ in range(runs):
            for name in targets[small]:
                for size in (small, large) if round_ % 2 == 0 else (large, small):  # neither always goes first
                    results[size][name].append(wrk.run(servers[size], targets[size][name], duration=duration))
    for size in (small, large):
        for name, res in results[size].items():
            s = wrk.summarize(res)
            sec.add(f"{name} at {size:,}: latency", fmt_ms(s["p50"]), fmt_ms(s["p99"]))
            sec.add(f"{name} at {size:,}: req/s", f"{s['rps']:.0f}/s")
            if s["errors"]:
                sec.notes.append(f"{name} at {size:,}: {int(s['errors'])} error responses: not valid.")
    for name in results[small]:
        ratio = median(b.p50 / a.p50 for a, b in zip(results[small][name], results[large][name]))
        sec.add(f"{name}: p50 at {large:,} / p50 at {small:,}", f"{ratio:.2f}×", target=f"≤ {P50_RATIO_TARGET}×",
                met=ratio <= P50_RATIO_TARGET)
    sec.notes.append(f"Bulk rows: {CITIZENS_PER} documents and {CITIZENS_PER} shares per citizen, one item per share, "
                     "0–3 logged views per share; shares mixed (expired, revoked, view-limited, valid). The load cycles "
                     f"through {SAMPLE_TOKENS} valid bulk tokens drawn uniformly over all rows (wrk Lua script), so the "
                     "lookups touch the whole index, not one cached row.")
    sec.notes.append(f"Side by side: the {small:,}-row database is cloned (`CREATE DATABASE ... TEMPLATE`) and the clone "
                     f"grown to {large:,}; a second wallet server under the same gunicorn settings serves it. wrk -t2 "
                     f"-c16 -d{duration:g}s after a short warm-up of both, {runs} rounds, each measuring an endpoint at "
                     f"both sizes (which goes first alternates): "
                     "the ratio is the median of the per-round p50 ratios, the other figures medians of the runs. "
                     "Indexes and constraints of the real schema stay in place during COPY; `VACUUM ANALYZE` after each "
                     "load (what autovacuum does in production), then a `CHECKPOINT`.")
    return sec


"""Benchmark of the audit trail (not a test).

1. Verification speed: seeds N events (default 1,000,000, over --chains village chains) into a database
   of its own, with correct hashes computed in Python and loaded with COPY, then measures the verifier's
   events per second beside a baseline loop that reads the same rows the same way and computes one
   SHA-256 over each. Runs alternate (baseline, verify, baseline, verify ...); medians and the ratio are
   printed. Aim: verify >= 0.5 x baseline.
2. The cost an event adds to one approve: the approve service plus its commit, timed with and without
   `audit.record` (monkeypatched to a no-op), interleaved, median of many runs, and the ratio.

    PYTHONPATH=$PWD /work/main/.venv/bin/python bench/verify_bench.py            # 1M events, PostgreSQL
    PYTHONPATH=$PWD /work/main/.venv/bin/python bench/verify_bench.py -n 200000 --approves 200

The database is created on the server given by --pg-url and dropped at the end (unless --keep).
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import audit  # noqa: E402
from audit.canonical import GENESIS_HASH, SCHEMA_VERSION, canonical_bytes, entry_hash  # noqa: E402
from audit.log import event_payload  # noqa: E402
from audit.verify import _COLUMNS  # noqa: E402
from finance.db import make_engine  # noqa: E402
from finance.migrate import upgrade  # noqa: E402

COLUMNS = ["chain_id", *_COLUMNS]  # the verifier's own column order, plus the chain


def log(message: str) -> None:
    print(message, flush=True)


def create_database(admin_url: str) -> tuple[str, str]:
    name = f"sanzi_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base = admin_url.rsplit("/", 1)[0]
    return name, f"{base}/{name}"


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


class _Row:
    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def generate(chain_id: str, count: int, start: datetime) -> Any:
    """Events of one chain, with the canonical bytes and hashes `audit.record` would give them."""
    prev = GENESIS_HASH
    for seq in range(1, count + 1):
        values: dict[str, Any] = {
            "chain_id": chain_id,
            "seq": seq,
            "event_id": str(uuid.uuid4()),
            "occurred_at": start + timedelta(milliseconds=seq),
            "actor_id": 1000 + seq % 17,
            "actor_name": "李秀英",
            "actor_role": "village_lead",
            "actor_org": "HL-YC-01",
            "action": "approve" if seq % 3 else "submit",
            "subject_type": "payment_request",
            "subject_id": str(seq // 8 + 1),
            "before": '{"state":"pending","step":1}',
            "after": f'{{"amount":"{Decimal(seq % 100000) / 100 + 1:.2f}","state":"pending","step":2}}',
            "reason": "同意" if seq % 2 else None,
            "attachments": "[]" if seq % 5 else f'["{"ab" * 32}"]',
            "http_request_id": uuid.uuid4().hex,
            "client_addr": "10.1.2.3",
            "schema_version": SCHEMA_VERSION,
            "prev_hash": prev,
        }
        values["canonical"] = canonical_bytes(event_payload(_Row(values)))  # type: ignore[arg-type]
        values["entry_hash"] = prev = entry_hash(chain_id, seq, prev, values["canonical"])
        yield values


def seed(url: str, total: int, chains: int) -> list[str]:
    per = total // chains
    ids = [audit.village_chain(f"BENCH-{i:02d}") for i in range(chains)]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    t0 = time.perf_counter()
    with psycopg.connect(url) as conn:
        for chain_id in ids:
            heads: tuple[int, str] = (0, GENESIS_HASH)
            with (
                conn.cursor() as cur,
                cur.copy(
                    sql.SQL("COPY audit_event ({}) FROM STDIN").format(
                        sql.SQL(", ").join(map(sql.Identifier, COLUMNS))
                    )
                ) as copy,
            ):
                for values in generate(chain_id, per, start):
                    copy.write_row([values[c] for c in COLUMNS])
                    heads = (values["seq"], values["entry_hash"])
            conn.execute(
                "INSERT INTO audit_chain (chain_id, seq, head_hash) VALUES (%s, %s, %s)",
                (chain_id, heads[0], heads[1]),
            )
            conn.commit()
            log(f"  seeded {chain_id}: {per} events ({time.perf_counter() - t0:.0f} s so far)")
        conn.execute("ANALYZE audit_event")
        conn.commit()
    return ids


def baseline(session: Any, chain_ids: list[str], batch: int) -> int:
    """Read the same rows as the verifier, the same way, and compute one SHA-256 over each."""
    table = audit.Event.__table__
    n = 0
    for chain_id in chain_ids:
        stmt = select(*table.c).where(table.c.chain_id == chain_id).order_by(table.c.seq, table.c.id)
        for row in session.connection().execute(stmt.execution_options(yield_per=batch)):
            hashlib.sha256(row.canonical).hexdigest()
            n += 1
    return n


def verify(session: Any, chain_ids: list[str], batch: int) -> int:
    n = 0
    for chain_id in chain_ids:
        report = audit.verify_chain(session, chain_id, trusted_keys={}, batch=batch)
        assert report.ok, report.failures[:5]
        n += report.size
    return n


def measure_verify(url: str, chain_ids: list[str], rounds: int, batch: int) -> tuple[float, float]:
    from sqlalchemy.orm import Session

    engine = make_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    base_rates, verify_rates = [], []
    try:
        for r in range(rounds):
            for name, fn, rates in (("baseline", baseline, base_rates), ("verify", verify, verify_rates)):
                with Session(engine) as session:
                    t0 = time.perf_counter()
                    n = fn(session, chain_ids, batch)
                    elapsed = time.perf_counter() - t0
                rates.append(n / elapsed)
                log(f"  round {r + 1} {name:8s}: {n} events in {elapsed:.2f} s = {n / elapsed:,.0f} events/s")
    finally:
        engine.dispose()
    return statistics.median(base_rates), statistics.median(verify_rates)


def measure_approve(url: str, runs: int) -> tuple[float, float]:
    """Median seconds of approve + commit, with and without the audit event."""
    from finance import create_app, trail
    from finance.demo import seed_base
    from finance.extensions import db
    from finance.payment_requests import services as requests
    from tests import factories as f
    from tests.conftest import app_config

    tmp = Path(tempfile.mkdtemp(prefix="sanzi-bench-"))
    app = create_app(app_config(url.replace("postgresql://", "postgresql+psycopg://", 1), tmp))
    real_record = audit.record
    listeners = list(trail._LISTENERS)
    with_event, without_event = [], []
    with app.app_context():
        seed_base("benchpassword")
        db.session.commit()
        pending = [
            f.in_state(f.State.PENDING) if hasattr(f, "State") else _pending(f) for _ in range(2 * runs)
        ]
        approver = f.user("dy_shuji")
        for i, req in enumerate(pending):
            plain = i % 2 == 1
            if plain:
                audit.record = lambda *a, **k: None  # type: ignore[assignment]
                trail._LISTENERS.clear()  # no event: no notice either
            try:
                t0 = time.perf_counter()
                requests.approve(approver, req, "同意", client_key=uuid.uuid4().hex)
                db.session.commit()
                elapsed = time.perf_counter() - t0
            finally:
                audit.record = real_record
                trail._LISTENERS[:] = listeners
            (without_event if plain else with_event).append(elapsed)
        db.scoped.remove()
    app.extensions["sanzi.db"][0].dispose()
    return statistics.median(with_event), statistics.median(without_event)


def _pending(f: Any) -> Any:
    from finance.workflow import State

    return f.in_state(State.PENDING)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", "--events", type=int, default=1_000_000)
    parser.add_argument("--chains", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--approves", type=int, default=200, help="approves timed in each mode")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    name, url = create_database(args.pg_url)
    log(f"database {name}")
    try:
        upgrade(url.replace("postgresql://", "postgresql+psycopg://", 1))
        log(f"seeding {args.events:,} events over {args.chains} chains")
        chain_ids = seed(url, args.events, args.chains)
        log("verification")
        base, ver = measure_verify(url, chain_ids, args.rounds, args.batch)
        log(f"approve, {args.approves} runs with and without the audit event")
        with_event, without_event = measure_approve(url, args.approves)
    finally:
        if not args.keep:
            drop_database(args.pg_url, name)
    print()
    print(f"events verified:            {args.events:,} on PostgreSQL ({args.chains} chains)")
    print(f"baseline (read + 1 SHA-256): {base:,.0f} events/s (median of {args.rounds})")
    print(f"verify:                      {ver:,.0f} events/s (median of {args.rounds})")
    print(f"ratio verify / baseline:     {ver / base:.2f}  (aim >= 0.5)")
    print(f"approve + commit with event: {with_event * 1000:.2f} ms (median of {args.approves})")
    print(f"approve + commit no event:   {without_event * 1000:.2f} ms (median of {args.approves})")
    print(f"cost ratio with / without:   {with_event / without_event:.2f}")


if __name__ == "__main__":
    main()

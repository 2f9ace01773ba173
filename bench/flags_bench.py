"""Benchmark of the flags scan (issue 12), not a test.

On a PostgreSQL database of its own: the demo district and a generated clean history
(bench/flags_history.py) of about 100,000 requests with their steps, payments, vouchers and invoice facts,
10,000 register rows, and (once the bank package is there) 200,000 statement lines. Then, in one run:

  1. a plain read of the same rows the scan reads (requests with their subject and link, steps, invoice
     facts, attachments, register), median of 3;
  2. the first (full) scan, and `scan(full=True)` again twice (everything looked at, nothing new raised);
  3. the incremental scan after 100 new requests, median of 3 rounds.

Printed: medians, and the ratios full scan / plain read (aim ≤ 10) and incremental (aim < 1 s).

    PYTHONPATH=$PWD .venv/bin/python bench/flags_bench.py                 # ~100,000 requests
    PYTHONPATH=$PWD .venv/bin/python bench/flags_bench.py --townships 2   # smaller, quicker

The database is created on the server given by --pg-url and dropped at the end (unless --keep)."""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import func, insert, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.flags_history import generate  # noqa: E402
from finance import create_app  # noqa: E402
from finance.demo import seed_base  # noqa: E402
from finance.extensions import db  # noqa: E402
from finance.flags.scan import scan  # noqa: E402
from finance.migrate import upgrade  # noqa: E402
from finance.payment_requests.models import PaymentRequest, RequestAction  # noqa: E402

READS = (
    "SELECT r.id, r.number, r.village_id, r.state, r.payee_name, r.payee_account, r.amount, r.submitted_at,"
    " r.created_at, r.purpose, s.code, s.name, r.requester_id, c.payee_id_number, c.contract_id, c.resolution_id"
    " FROM payment_request r LEFT JOIN account_subject s ON s.id = r.subject_id"
    " LEFT JOIN request_control c ON c.request_id = r.id",
    "SELECT request_id, actor_id, actor_role, created_at, step, round, action FROM request_action",
    "SELECT request_id, attachment_id, number, dup_key, seller, seller_key, amount FROM invoice_fact",
    "SELECT request_id, kind FROM attachment",
    "SELECT id, official_id, name, relation, id_number FROM related_person",
    "SELECT person_id, account FROM related_account",
)


def create_database(admin_url: str) -> tuple[str, str]:
    name = f"sanzi_flags_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name, f"{admin_url.rsplit('/', 1)[0]}/{name}"


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def plain_read() -> int:
    rows = 0
    for query in READS:
        rows += len(db.session.execute(text(query)).all())
    return rows


def add_requests(n: int, rng: random.Random) -> None:
    """`n` new requests like existing ones (copies with new numbers, payees and times: new findings are not
    what is measured), with their submit steps."""
    top = db.session.execute(select(func.max(PaymentRequest.id))).scalar_one()
    act = db.session.execute(select(func.max(RequestAction.id))).scalar_one()
    picks = [rng.randrange(1, top) for _ in range(n)]
    sources = db.session.execute(select(PaymentRequest.__table__).where(PaymentRequest.id.in_(picks))).mappings().all()
    now = datetime.now(UTC)
    rows, actions = [], []
    for source in sources:
        top += 1
        act += 1
        row = dict(source)
        row.update(id=top, number=f"NEW{top:09d}", client_key=None, submitted_at=now - timedelta(minutes=5),
                   created_at=now - timedelta(minutes=5), updated_at=now, waiting_since=now,
                   payee_name=f"新收款人{top}",
                   payee_account="6217" + "".join(rng.choice("0123456789") for _ in range(15)))
        rows.append(row)
        actions.append({"id": act, "request_id": top, "round": 1, "step": None, "action": "submit",
                        "from_state": "draft", "to_state": "pending", "actor_id": row["requester_id"],
                        "actor_role": "accountant", "comment": None, "client_key": None,
                        "created_at": now - timedelta(minutes=5)})
    db.session.execute(insert(PaymentRequest.__table__), rows)
    db.session.execute(insert(RequestAction.__table__), actions)
    db.session.commit()


def timed(fn: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    out = fn()
    return time.perf_counter() - started, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--townships", type=int, default=10)
    parser.add_argument("--villages", type=int, default=20, help="villages per township")
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--register", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    name, url = create_database(args.pg_url)
    try:
        sa_url = url.replace("postgresql://", "postgresql+psycopg://", 1)
        upgrade(sa_url)
        folder = Path(tempfile.mkdtemp(prefix="sanzi-flags-bench-"))
        app = create_app({"DATABASE_URL": sa_url, "SECRET_KEY": "bench", "INSTANCE_PATH": str(folder),
                          "UPLOAD_DIR": str(folder / "uploads"), "AUDIT_KEY_FILE": str(folder / "key.pem")})
        with app.app_context():
            seed_base("bench-password-1")
            t, made = timed(lambda: generate(townships=args.townships, villages_per=args.villages,
                                             months=args.months, register_rows=args.register, seed=3))
            db.session.commit()
            db.session.execute(text("ANALYZE"))
            db.session.commit()
            print(f"generated {made.requests} requests in {len(made.villages)} villages, {args.register} register "
                  f"rows, in {t:.0f} s")
            reads = []
            for _ in range(3):
                t, rows = timed(plain_read)
                db.session.rollback()
                reads.append(t)
            print(f"plain read of {rows} rows: median {statistics.median(reads):.2f} s {[round(x, 2) for x in reads]}")
            t, result = timed(scan)
            db.session.commit()
            print(f"first scan (full): {t:.2f} s, looked at {result.looked_at}, raised {len(result.raised)}")
            fulls = [t]
            for _ in range(2):
                t, again = timed(lambda: scan(full=True))
                db.session.commit()
                fulls.append(t)
                assert not again.raised
            full = statistics.median(fulls)
            print(f"full scan: median {full:.2f} s {[round(x, 2) for x in fulls]}; "
                  f"ratio to the plain read {full / statistics.median(reads):.1f} (aim ≤ 10)")
            rng = random.Random(5)
            incs = []
            for _ in range(3):
                add_requests(100, rng)
                t, inc = timed(scan)
                db.session.commit()
                incs.append(t)
            print(f"incremental scan after 100 new requests: median {statistics.median(incs):.3f} s "
                  f"{[round(x, 3) for x in incs]} (aim < 1 s), looked at {inc.looked_at}")
    finally:
        if not args.keep:
            drop_database(args.pg_url, name)
    return 0


if __name__ == "__main__":
    sys.exit(main())

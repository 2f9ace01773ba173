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
    "SELECT id, village_id, account_id, serial, serial_key, value_date, debit, credit, counterparty_name,"
    " counterparty_account, summary, kind FROM statement_line",
    "SELECT request_id, reference_key, amount, payee_account, value_date FROM payment",
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


def add_statements(target: int, rng: random.Random) -> int:
    """Statement lines for the generated villages: each payment's outflow (its reference as the 流水号) and,
    up to `target` lines in all, inflows (rent, subsidies) each with its imported history receipt; written
    straight into the tables (the bench measures the flags, not the bank's import)."""
    from finance.bank.models import BankAccount, LineKind, StatementImport, StatementLine
    from finance.orgs.models import OrgUnit
    from finance.payment_requests.models import HistoryReceipt
    from finance.payments.models import Payment

    villages = db.session.execute(select(OrgUnit.id, OrgUnit.bank_account).where(
        OrgUnit.bank_account.is_not(None), OrgUnit.code.like("G%"))).all()
    admin = db.session.execute(text("SELECT id FROM user_account WHERE username = 'hl_admin'")).scalar_one()
    payments: dict[int, list[Any]] = {}
    for vid, reference, amount, payee, payee_account, day in db.session.execute(
            select(PaymentRequest.village_id, Payment.reference_key, Payment.amount, Payment.payee_name,
                   Payment.payee_account, Payment.value_date).join(Payment, Payment.request_id == PaymentRequest.id)):
        payments.setdefault(vid, []).append((reference, amount, payee, payee_account, day))
    outflows = sum(len(v) for v in payments.values())
    inflow_each = max(0, (target - outflows) // max(1, len(villages)))
    now = datetime.now(UTC)
    lines: list[dict[str, Any]] = []
    receipts: list[dict[str, Any]] = []
    for n, (vid, number) in enumerate(villages):
        own = payments.get(vid, [])
        if not own:
            continue
        first = min(p[4] for p in own)
        last = max(p[4] for p in own)
        account_id = db.session.execute(insert(BankAccount.__table__).values(
            village_id=vid, number=number, name="村股份经济合作社", bank_name="中国农业银行", kind="basic",
            opening_date=first - timedelta(days=1), opening_balance=10_000_000, created_at=now,
            updated_at=now).returning(BankAccount.__table__.c.id)).scalar_one()
        import_id = db.session.execute(insert(StatementImport.__table__).values(
            account_id=account_id, sha256=f"{n:064d}", filename="bench.csv", period_start=first, period_end=last,
            line_count=0, added_count=0, imported_by_id=admin, created_at=now).returning(
            StatementImport.__table__.c.id)).scalar_one()
        rows = [(p[4], p[0], p[1], 0, p[2], "".join(ch for ch in p[3] if ch.isdigit())) for p in own]
        span = max(1, (last - first).days)
        for k in range(inflow_each):
            day = first + timedelta(days=rng.randrange(span))
            amount = rng.randrange(500, 20000)
            payer = "6217" + "".join(rng.choice("0123456789") for _ in range(15))
            rows.append((day, f"IN{vid}X{k}", 0, amount, "承租人", payer))
            receipts.append({"number": f"SKB{vid}X{k}", "village_id": vid,
                             "received_at": datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=3),
                             "payer_name": "承租人", "payer_account": payer, "amount": amount, "type": "租金",
                             "receipt_number": "", "account": number, "line_sha256": f"{vid}-{k}", "batch_id": None,
                             "imported_at": now})
        balance = 10_000_000
        for day, serial, debit, credit, name, counterparty in sorted(rows, key=lambda r: (r[0], r[1])):
            balance = balance - debit + credit
            lines.append({"account_id": account_id, "village_id": vid, "import_id": import_id, "row_number": 0,
                          "serial": serial, "serial_key": serial, "value_date": day, "value_time": None,
                          "debit": debit, "credit": credit, "balance": balance, "counterparty_name": name,
                          "counterparty_account": counterparty, "counterparty_bank": "", "summary": "转账",
                          "kind": LineKind.PAYMENT.value if debit else LineKind.INCOME.value, "created_at": now})
    for i in range(0, len(lines), 5000):
        db.session.execute(insert(StatementLine.__table__), lines[i:i + 5000])
    for i in range(0, len(receipts), 5000):
        db.session.execute(insert(HistoryReceipt.__table__), receipts[i:i + 5000])
    db.session.commit()
    return len(lines)


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
    parser.add_argument("--lines", type=int, default=200_000, help="statement lines in all")
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
            statement_lines = add_statements(args.lines, random.Random(4))
            print(f"generated {statement_lines} statement lines")
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

"""Benchmark of the bank statement import (issue 10; not a test).

A village with 100,000 paid requests (bulk-inserted as fixtures: the bench is about the import, not about
making requests), then, for each round, a fresh 10,000-line statement of its account:

    import   finance.bank.services.import_statement + commit: read the CSV (the shared reader), check every
             line and the balance chain, merge against what is there, bulk-insert the lines, one event,
             then match (set-based: one join for the references, one read of the candidate pool) and
             confirm the exact matches (each through the request's workflow path: one event each)
    baseline a bare bulk INSERT of the same 10,000 parsed lines into statement_line + commit

interleaved, in the same run, on the same database. Prints medians, lines per second and the ratio
(import / baseline, in lines per second; the aim is >= 0.2). The share of lines matched by reference (and
so confirmed, one workflow transition each) is --by-reference; the rest match by amount, account and date
(proposed), or are charges and strays (exceptions).

    PYTHONPATH=$PWD .venv/bin/python bench/bank_bench.py                    # PostgreSQL (tests' server)
    PYTHONPATH=$PWD .venv/bin/python bench/bank_bench.py --rounds 5 --by-reference 0.3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select  # noqa: E402

from finance import create_app  # noqa: E402
from finance.bank import queries  # noqa: E402
from finance.bank import services as bank  # noqa: E402
from finance.bank.models import BankAccount, LineKind, StatementImport, StatementLine  # noqa: E402
from finance.demo import seed_base  # noqa: E402
from finance.extensions import db  # noqa: E402
from finance.migrate import upgrade  # noqa: E402
from finance.payment_requests.models import PaymentRequest  # noqa: E402
from finance.payments.models import Payment  # noqa: E402
from finance.roles import Role  # noqa: E402
from finance.workflow import State  # noqa: E402
from tests import factories as f  # noqa: E402
from tests import pg  # noqa: E402
from tests.conftest import app_config  # noqa: E402

HEADER = "本方账号,交易日期,交易时间,流水号,借方金额,贷方金额,余额,对方户名,对方账号,对方开户行,摘要\n"
DAYS = 60


def seed_requests(n: int, start: date) -> None:
    """`n` paid requests of 东岳村 with their payments, bulk-inserted (amounts and payee accounts varied so
    that amount + account + date rarely repeats)."""
    village, requester, cashier = f.unit("HL-YC-01"), f.user("dy_baozhang"), f.user("yc_chuna")
    payer = village.bank_account.replace(" ", "")
    now = datetime.now(UTC)
    batch = 10_000
    for offset in range(0, n, batch):
        reqs, pays = [], []
        first_id = (db.session.execute(select(PaymentRequest.id).order_by(PaymentRequest.id.desc()).limit(1))
                    .scalar() or 0) + 1
        for i in range(offset, min(n, offset + batch)):
            rid = first_id + i - offset
            amount = Decimal(100 + (i * 7919) % 90_000) + Decimal(i % 100) / 100
            account = f"62284800{i:011d}"
            reqs.append({"id": rid, "number": f"BB{i:08d}", "village_id": village.id, "requester_id": requester.id,
                         "state": State.PAID, "payee_name": f"收款人{i % 500}", "payee_bank": "中国农业银行",
                         "payee_account": account, "amount": amount, "purpose": "基准测试", "fund_source": "",
                         "budget_line": "", "step": 0, "round": 1, "submitted_at": now, "waiting_since": now,
                         "waiting_role": None, "created_at": now, "updated_at": now, "version": 1})
            pays.append({"request_id": rid, "bank_reference": f"BENCH{i:09d}", "reference_key": f"BENCH{i:09d}",
                         "value_date": start + timedelta(days=i % DAYS), "amount": amount,
                         "payee_name": f"收款人{i % 500}", "payee_account": account, "payer_account": payer,
                         "cashier_id": cashier.id, "created_at": now})
        db.session.execute(insert(PaymentRequest), reqs)
        db.session.execute(insert(Payment), pays)
        db.session.commit()


def statement(round_no: int, lines: int, by_reference: float, acct: BankAccount, start: date,
              balance: Decimal) -> tuple[bytes, Decimal]:
    """A statement of `lines` lines using payments round_no*lines .. (+lines): a share by reference, the
    rest by amount/account/date, every 50th a charge and every 97th a stray outflow."""
    out = [HEADER]
    base = round_no * lines
    for k in range(lines):
        i = base + k
        day = start + timedelta(days=i % DAYS)
        amount = Decimal(100 + (i * 7919) % 90_000) + Decimal(i % 100) / 100
        account, name, summary = f"62284800{i:011d}", f"收款人{i % 500}", "转账支出"
        serial = f"BENCH{i:09d}" if k < lines * by_reference else f"BK{round_no:02d}{k:07d}"
        if k % 50 == 49:
            amount, account, name, summary, serial = Decimal("2.50"), "", "", "手续费", f"FEE{round_no:02d}{k:07d}"
        elif k % 97 == 96:
            account, name, serial = f"6200{i:012d}", "某人", f"ST{round_no:02d}{k:07d}"
        balance -= amount
        out.append(f"{acct.number},{day.isoformat()},10:00:00,{serial},{amount},,{balance},{name},{account},,"
                   f"{summary}\n")
    return "".join(out).encode(), balance


def bare_insert(rows: list[dict[str, object]], acct: BankAccount, user_id: int) -> float:
    t0 = time.perf_counter()
    record = StatementImport(account_id=acct.id, sha256=uuid.uuid4().hex * 2, filename="bare.csv",
                             period_start=date.today(), period_end=date.today(), line_count=len(rows),
                             added_count=len(rows), imported_by_id=user_id)
    db.session.add(record)
    db.session.flush()
    for row in rows:
        row["import_id"] = record.id
    db.session.execute(insert(StatementLine), rows)
    db.session.commit()
    return time.perf_counter() - t0


def parsed_rows(data: bytes, acct: BankAccount, tag: str) -> list[dict[str, object]]:
    """The statement's lines as the import inserts them (for the baseline, keyed apart by `tag`)."""
    table = bank.read_statement(data, "s.csv")
    lines = bank._parse_lines(table)
    limits = queries.limits_for(acct.village)
    now = datetime.now(UTC)
    return [{"account_id": acct.id, "village_id": acct.village_id, "import_id": 0, "row_number": x.row,
             "serial": x.serial, "serial_key": tag + x.serial_key, "value_date": x.value_date,
             "value_time": x.value_time, "debit": x.debit, "credit": x.credit, "balance": x.balance,
             "counterparty_name": x.counterparty_name, "counterparty_account": x.counterparty_account,
             "counterparty_bank": x.counterparty_bank, "summary": x.summary,
             "kind": queries.line_kind(limits, x.summary, x.debit, x.credit), "created_at": now} for x in lines]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--by-reference", type=float, default=0.5,
                        help="share of lines whose 流水号 is a payment's reference (confirmed by the statement)")
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of the tests' PostgreSQL")
    args = parser.parse_args()
    if args.rounds * args.lines > args.requests:
        raise SystemExit("--rounds x --lines must not exceed --requests (each line uses its own payment)")
    with tempfile.TemporaryDirectory(prefix="sanzi-bank-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}" if args.sqlite else pg.create_database()
        upgrade(url)
        app = create_app(app_config(url, Path(tmp)))
        try:
            with app.app_context():
                seed_base("benchpassword")
                start = (date.today() - timedelta(days=DAYS + 5)).replace(day=1)
                acct = bank.set_account(f.user("yc_shenhe"), f.unit("HL-YC-01"), bank.AccountInput(
                    number=f.unit("HL-YC-01").bank_account or "", name="东岳村", opening_date=start,
                    opening_balance=Decimal("900000000.00")))
                scratch = bank.set_account(f.user("yc_shenhe"), f.unit("HL-YC-01"), bank.AccountInput(
                    number="6228480099999999999", name="基准对照", opening_date=start,
                    opening_balance=Decimal("0")))
                db.session.commit()
                t0 = time.perf_counter()
                seed_requests(args.requests, start)
                print(f"seeded {args.requests} paid requests in {time.perf_counter() - t0:.1f} s "
                      f"({'SQLite' if args.sqlite else 'PostgreSQL'})")
                reviewer = f.user("yc_shenhe")
                assert Role.AGENCY_REVIEWER in reviewer.roles_at(acct.village)
                balance = acct.opening_balance
                imports, bares, confirmed = [], [], []
                for r in range(args.rounds):
                    data, balance_after = statement(r, args.lines, args.by_reference, acct, start, balance)
                    rows = parsed_rows(data, scratch, f"B{r}")
                    bares.append(bare_insert(rows, scratch, reviewer.id))
                    t0 = time.perf_counter()
                    outcome = bank.import_statement(reviewer, data, f"round{r}.csv")
                    db.session.commit()
                    imports.append(time.perf_counter() - t0)
                    balance = balance_after
                    confirmed.append(outcome.confirmed)
                    print(f"round {r + 1}: import+match {imports[-1]:.2f} s ({outcome.added} lines: "
                          f"{outcome.confirmed} confirmed, {outcome.proposed} proposed, {outcome.ambiguous} "
                          f"to choose, {outcome.exceptions} exceptions); bare INSERT {bares[-1]:.3f} s")
                    db.scoped.remove()
                    reviewer = f.user("yc_shenhe")
                kinds = db.session.execute(select(StatementLine.kind).where(StatementLine.account_id == acct.id)
                                           ).scalars().all()
                assert len(kinds) == args.rounds * args.lines and LineKind.FEE in kinds
        finally:
            app.extensions["sanzi.db"][0].dispose()
            if not args.sqlite:
                pg.drop_database(url)
    imp, bare = statistics.median(imports), statistics.median(bares)
    print(f"median import+match: {imp:.2f} s = {args.lines / imp:,.0f} lines/s")
    print(f"median bare INSERT:  {bare:.3f} s = {args.lines / bare:,.0f} lines/s")
    print(f"ratio (import lines/s / bare lines/s): {bare / imp:.3f}  (aim >= 0.2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

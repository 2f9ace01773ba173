"""The demo seed on a fresh SQLite database: every state across the four villages, made through the
services (so the audit trail verifies), with attachments and receipts, in a few seconds."""

from __future__ import annotations

import json
import time
from collections import Counter
from decimal import Decimal

import pytest
from sqlalchemy import select

from audit.models import Event
from finance import create_app
from finance.attachment_kinds import AttachmentKind
from finance.extensions import db
from finance.migrate import upgrade
from finance.payment_requests.models import PaymentRequest
from finance.payments.models import Payment
from finance.workflow import Action, State
from tests.conftest import app_config


@pytest.fixture
def fresh_app(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    upgrade(url)
    app = create_app(app_config(url, tmp_path))
    yield app
    from finance.db import Database

    app.extensions[Database.key][0].dispose()


@pytest.mark.slow  # the whole demo, photos drawn
def test_demo_seed_creates_every_state_through_the_services(fresh_app):
    with fresh_app.app_context():
        started = time.perf_counter()
        result = fresh_app.test_cli_runner().invoke(args=["seed-demo", "--password", "demo-password-1"])
        elapsed = time.perf_counter() - started
        assert result.exit_code == 0, result.output
        assert "dy_baozhang" in result.output
        every = db.session.execute(select(PaymentRequest)).scalars().all()
        reqs = [r for r in every if not r.imported]
        # the earlier system's 2025 history and 东岳村's roll came in through the importers
        history = [r for r in every if r.imported]
        assert len(history) == 36 and all(r.number.startswith("LS2025-") for r in history)
        assert {r.village.code for r in history} == {"HL-YC-01", "HL-YC-02", "HL-MK-01", "HL-MK-02"}
        states = Counter(r.state for r in reqs)
        assert set(states) == set(State), states
        assert {r.village.code for r in reqs} == {"HL-YC-01", "HL-YC-02", "HL-MK-01", "HL-MK-02"}
        for code in ("HL-YC-01", "HL-YC-02", "HL-MK-01", "HL-MK-02"):
            assert len({r.state for r in reqs if r.village.code == code}) >= 3, code

        amounts = [r.amount for r in reqs if r.state not in (State.DRAFT, State.WITHDRAWN)]
        assert any(a < Decimal("10000") for a in amounts)
        assert any(Decimal("10000") <= a < Decimal("50000") for a in amounts)
        large = [r for r in reqs if r.amount >= Decimal("50000") and r.state != State.DRAFT]
        assert large and all(
            r.meeting_date
            and r.meeting_attendance
            and r.meeting_amount >= r.amount
            and any(a.kind == AttachmentKind.MINUTES for a in r.attachments)
            for r in large
        )
        # one returned and resubmitted: two rounds, a return in the first
        resubmitted = [r for r in reqs if r.round >= 2]
        assert resubmitted and all(any(a.action == Action.RETURN for a in r.actions) for r in resubmitted)
        pending_steps = {r.step for r in reqs if r.state == State.PENDING}
        assert len(pending_steps) >= 3  # waiting at various steps
        # paid ones carry a receipt; reconciled ones a reconciliation time
        for r in reqs:
            if r.state in (State.PAID, State.RECONCILED):
                payment = db.session.execute(select(Payment).where(Payment.request_id == r.id)).scalar_one()
                assert payment.receipt is not None and payment.receipt.kind == AttachmentKind.RECEIPT
                assert payment.amount == r.amount
                assert (payment.reconciled_at is not None) == (r.state == State.RECONCILED)
            if r.state != State.DRAFT:  # a 发票, or a labour slip for a person (issue 11)
                assert any(a.kind.voucher for a in r.attachments)
        assert any(r.state == State.DRAFT and not r.attachments for r in reqs)  # one still incomplete
        # The controls speak in the demo: a warning shown, and a recusal that moved a step (issue 11).
        submits = [json.loads(e.after) for e in db.session.execute(select(Event).where(
            Event.action == "submit")).scalars()]
        assert any(x["severity"] == "warn" for a in submits for x in a.get("controls", {}).get("findings", []))
        assert any(a.get("recusals") for a in submits)

        # the bank side (issue 10 item 8): every village's statement, a receipt, interest and a charge,
        # one outflow nobody asked for (an open exception), last month closed and balancing
        from finance.bank import queries as bank_queries
        from finance.bank.models import ExceptionKind, LineKind, MonthClose, Receipt, StatementLine

        for code in ("HL-YC-01", "HL-YC-02", "HL-MK-01", "HL-MK-02"):
            village = next(r.village for r in reqs if r.village.code == code)
            kinds = Counter(db.session.execute(select(StatementLine.kind).where(
                StatementLine.village_id == village.id)).scalars())
            assert kinds[LineKind.FEE] == 1 and kinds[LineKind.INTEREST] == 1 and kinds[LineKind.INCOME] >= 1
            assert db.session.execute(select(Receipt).where(Receipt.village_id == village.id)).first()
            open_kinds = {e.kind for e in bank_queries.exceptions([village.id])}
            assert ExceptionKind.UNMATCHED_OUTFLOW in open_kinds, code
            close = db.session.execute(select(MonthClose).where(MonthClose.village_id == village.id)).scalar_one()
            assert all(a.agrees for a in bank_queries.month_balances(village, close.period))

        from finance.oversight.verification import run_verify

        report = run_verify()
        assert report.ok, report.all_failures()[:3]
    assert elapsed < 15, f"seeding took {elapsed:.1f} s"
    print(f"demo seed: {len(reqs)} requests in {elapsed:.2f} s")

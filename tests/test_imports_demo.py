"""The demo's history and member roll (finance/demo/history.py) load through the importers, on top of the
demo district, and show what the flags look for."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from finance.demo.history import history_lines, seed_history
from finance.orgs.members import member_standing
from finance.payment_requests.models import PaymentRequest
from tests import factories as f
from tests.imports_helpers import batches


def test_the_demo_history_and_roll_import_and_a_second_seed_adds_nothing(db):
    seed_history()
    history = list(db.execute(select(PaymentRequest).where(PaymentRequest.imported.is_(True))).scalars())
    assert len(history) == len([x for x in history_lines() if x["kind"] == "payment"])
    assert {r.village.code for r in history} == {"HL-YC-01", "HL-YC-02", "HL-MK-01", "HL-MK-02"}
    assert {r.requester.username for r in history if r.village.code == "HL-YC-01"} == {"dy_baozhang"}
    subsidy = next(r for r in history if r.purpose == "高龄老人补贴")
    standing = member_standing(subsidy.village_id, subsidy.payee_name, None, date(2025, 12, 1))
    assert standing.status == "deceased"  # paid after the recorded death: what non_member_payee is for
    assert member_standing(f.unit("HL-YC-01").id, "王大山", None, date(2025, 12, 1)).status == "on_roll"
    seed_history()  # idempotent, like every import
    assert len(batches(db, "history")) == 1 and len(batches(db, "members")) == 1

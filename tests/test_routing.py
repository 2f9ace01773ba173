"""Routing as data: steps by amount at and around each threshold, steps and attachments by subject, the
四议两公开 evidence for large items, and a request keeping the policy version it was submitted under."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

import audit
from finance.approval_policy import services as policies
from finance.approval_policy.models import RoutingPolicy
from finance.approval_policy.queries import current_policy
from finance.approval_policy.rules import DEFAULT_RULES, AttachmentRule, Rules, StepRule, parse_rules
from finance.attachment_kinds import AttachmentKind
from finance.extensions import db as fdb
from finance.payment_requests import services as requests
from finance.payment_requests.models import PaymentRequest
from finance.payment_requests.route import current_step_role, steps_of
from finance.roles import Role
from finance.timefmt import today_local
from finance.workflow import State
from tests import factories as f

VILLAGE = [Role.VILLAGE_LEAD, Role.VILLAGE_SUPERVISOR, Role.AGENCY_REVIEWER]
BANDS = [
    ("0.01", VILLAGE),
    ("9999.99", VILLAGE),
    ("10000.00", [*VILLAGE, Role.TOWNSHIP_LEADER]),
    ("10000.01", [*VILLAGE, Role.TOWNSHIP_LEADER]),
    ("49999.99", [*VILLAGE, Role.TOWNSHIP_LEADER]),
    ("50000.00", [*VILLAGE, Role.TOWNSHIP_LEADER, Role.TOWNSHIP_HEAD]),
    ("50000.01", [*VILLAGE, Role.TOWNSHIP_LEADER, Role.TOWNSHIP_HEAD]),
    ("9999999.99", [*VILLAGE, Role.TOWNSHIP_LEADER, Role.TOWNSHIP_HEAD]),
]
APPROVER_OF = {Role.VILLAGE_LEAD: "dy_shuji", Role.VILLAGE_SUPERVISOR: "dy_jianwei",
               Role.AGENCY_REVIEWER: "yc_shenhe", Role.TOWNSHIP_LEADER: "yc_baocun",
               Role.TOWNSHIP_HEAD: "yc_zhenzhang"}


@pytest.mark.parametrize(("amount", "roles"), BANDS)
def test_default_chain_by_amount(amount: str, roles: list[Role]) -> None:
    assert [s.role for s in DEFAULT_RULES.steps_for(Decimal(amount), "5401")] == roles


@pytest.mark.parametrize(("amount", "kinds"), [
    ("9999.99", ["invoice"]), ("10000.00", ["invoice", "contract"]), ("49999.99", ["invoice", "contract"]),
    ("50000.00", ["invoice", "contract", "minutes"]),
])
def test_default_attachments_by_amount(amount: str, kinds: list[str]) -> None:
    assert DEFAULT_RULES.required_attachments(Decimal(amount), "5401") == kinds
    assert DEFAULT_RULES.is_major(Decimal(amount)) == (Decimal(amount) >= Decimal("50000"))


def test_rules_survive_json() -> None:
    rules = Rules(steps=(StepRule(Role.VILLAGE_LEAD),
                         StepRule(Role.TOWNSHIP_HEAD, Decimal("20000"), ("1601",))),
                  attachments=(AttachmentRule("acceptance", Decimal("20000"), ("1601",)),),
                  major_threshold=Decimal("80000"))
    assert Rules.from_json(rules.to_json()) == rules
    assert parse_rules(rules.to_json()) == rules


def walk(req: PaymentRequest) -> list[Role]:
    """Approve step by step through the services; the roles asked for, in order."""
    seen = []
    while req.state == State.PENDING:
        role = current_step_role(req)
        assert role is not None
        seen.append(role)
        requests.approve(f.user(APPROVER_OF[role]), req, "同意", client_key=uuid.uuid4().hex)
        fdb.session.commit()
        assert len(seen) <= 5
    assert req.state == State.APPROVED
    return seen


@pytest.mark.parametrize(("amount", "roles"), [b for b in BANDS if b[0] in (
    "9999.99", "10000.00", "49999.99", "50000.00")])
def test_a_request_walks_the_chain_of_its_amount(db: Any, amount: str, roles: list[Role]) -> None:
    req = f.in_state(State.PENDING, amount)
    assert walk(req) == roles
    assert [a.actor_role for a in req.actions if a.action.value == "approve"] == roles


def test_subject_specific_steps_and_attachments(db: Any) -> None:
    """A township adds, for 在建工程 (1601) only, the township leader at any amount and an acceptance
    sheet from 20,000."""
    rules = Rules(
        steps=(*DEFAULT_RULES.steps[:3], StepRule(Role.TOWNSHIP_LEADER, subjects=("1601",)),
               StepRule(Role.TOWNSHIP_HEAD, Decimal("50000"))),
        attachments=(*DEFAULT_RULES.attachments, AttachmentRule("acceptance", Decimal("20000"), ("1601",))),
    )
    policies.publish_policy(f.unit("HL-YC"), rules, by=f.user("hl_admin"))
    fdb.session.commit()
    works = f.in_state(State.PENDING, "1200.00", subject_id=f.subject("1601").id)
    assert walk(works) == [*VILLAGE, Role.TOWNSHIP_LEADER]
    plain = f.in_state(State.PENDING, "1200.00")
    assert walk(plain) == VILLAGE
    big = f.draft("20000.00", subject_id=f.subject("1601").id)
    assert requests.missing_for_submit(big) == {"attachment_acceptance": "缺少附件：验收单。"}
    requests.add_attachment(f.user("dy_baozhang"), big, AttachmentKind.ACCEPTANCE, "yanshou.jpg",
                            f.jpeg_bytes(color="green"))
    assert requests.missing_for_submit(big) == {}


@pytest.mark.parametrize(("amount", "missing"), [
    ("9999.99", {"attachment_invoice"}),
    ("10000.00", {"attachment_invoice", "attachment_contract"}),
    ("49999.99", {"attachment_invoice", "attachment_contract"}),
    ("50000.00", {"attachment_invoice", "attachment_contract", "attachment_minutes"}),
])
def test_required_attachments_by_amount_refuse_submit(db: Any, amount: str, missing: set[str]) -> None:
    req = f.draft(amount, with_attachments=False)
    with pytest.raises(requests.RequestError) as exc:
        requests.submit(f.user("dy_baozhang"), req)
    assert set(exc.value.errors) == missing
    assert req.state == State.DRAFT and req.round == 0



MEETING_DATE = "大额支出须填写“四议两公开”决议的会议日期（不晚于今天）。"


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"meeting_date": "tomorrow"}, "meeting_date", MEETING_DATE),
    ({"meeting_date": None}, "meeting_date", MEETING_DATE),
    ({"meeting_attendance": None}, "meeting_attendance", "请填写参会人数。"),
    ({"meeting_amount": Decimal("59999.99")}, "meeting_amount", "决议金额不能低于申请金额。"),
    ({"meeting_amount": None}, "meeting_amount", "决议金额不能低于申请金额。"),
])
def test_major_items_need_the_four_deliberations_evidence(db: Any, change: dict[str, Any], field: str,
                                                          message: str) -> None:
    values = {"meeting_date": today_local() - timedelta(days=3), "meeting_attendance": 35,
              "meeting_amount": Decimal("60000.00"), **change}
    if values["meeting_date"] == "tomorrow":
        values["meeting_date"] = today_local() + timedelta(days=1)
    req = f.draft("60000.00", **values)
    with pytest.raises(requests.RequestError) as exc:
        requests.submit(f.user("dy_baozhang"), req)
    assert exc.value.errors == {field: message}
    assert req.state == State.DRAFT


@pytest.mark.parametrize(("meeting_date_days_ago", "resolved"), [(0, "60000.00"), (30, "80000.00")])
def test_major_item_with_evidence_is_accepted(db: Any, meeting_date_days_ago: int, resolved: str) -> None:
    req = f.draft("60000.00", meeting_date=today_local() - timedelta(days=meeting_date_days_ago),
                  meeting_amount=Decimal(resolved))
    requests.submit(f.user("dy_baozhang"), req)
    assert req.state == State.PENDING


def test_minutes_photo_is_required_for_major_items(db: Any) -> None:
    req = f.draft("50000.00", with_attachments=False)
    who = f.user("dy_baozhang")
    requests.add_attachment(who, req, AttachmentKind.INVOICE, "fapiao.jpg", f.jpeg_bytes())
    requests.add_attachment(who, req, AttachmentKind.CONTRACT, "hetong.pdf", f.pdf_bytes())
    assert requests.missing_for_submit(req) == {"attachment_minutes": "缺少附件：四议两公开会议记录。"}
    requests.add_attachment(who, req, AttachmentKind.MINUTES, "jilu.jpg", f.jpeg_bytes(color="gray"))
    assert requests.missing_for_submit(req) == {}


def test_below_the_major_threshold_no_meeting_is_needed(db: Any) -> None:
    req = f.draft("49999.99", meeting_date=None, meeting_attendance=None, meeting_amount=None)
    requests.submit(f.user("dy_baozhang"), req)
    assert req.state == State.PENDING


def test_a_township_may_set_its_own_major_threshold(db: Any) -> None:
    rules = Rules(steps=DEFAULT_RULES.steps, attachments=DEFAULT_RULES.attachments[:2],
                  major_threshold=Decimal("20000"))
    policies.publish_policy(f.unit("HL-YC"), rules, by=f.user("hl_admin"))
    req = f.draft("30000.00", meeting_date=None, meeting_attendance=None, meeting_amount=None)
    assert set(requests.missing_for_submit(req)) == {"meeting_date", "meeting_attendance", "meeting_amount"}


# --- the policy version a request was submitted under -------------------------------------------------

SHORT = Rules(steps=(StepRule(Role.VILLAGE_LEAD), StepRule(Role.VILLAGE_SUPERVISOR), StepRule(Role.TOWNSHIP_HEAD)),
              attachments=(AttachmentRule("invoice"),))


def policy_now() -> RoutingPolicy:
    policy = current_policy(f.unit("HL-YC"))
    assert policy is not None
    return policy


def publish_short() -> None:
    policies.publish_policy(f.unit("HL-YC"), SHORT, by=f.user("hl_admin"))
    fdb.session.commit()


def test_a_pending_request_keeps_its_policy_version(db: Any) -> None:
    old = policy_now()
    req = f.in_state(State.PENDING, "1200.00")
    assert req.policy_id == old.id
    requests.approve(f.user("dy_shuji"), req, "同意")
    fdb.session.commit()
    publish_short()
    new = policy_now()
    assert new.version == old.version + 1
    assert req.policy_id == old.id
    assert [s.role for s in steps_of(req)] == VILLAGE
    assert current_step_role(req) == Role.VILLAGE_SUPERVISOR
    for name in ("dy_jianwei", "yc_shenhe"):
        requests.approve(f.user(name), req, "同意")
    fdb.session.commit()
    assert req.state == State.APPROVED
    assert not any(a.actor_role == Role.TOWNSHIP_HEAD for a in req.actions)
    # a request submitted now goes by the new version
    fresh = f.in_state(State.PENDING, "1200.00")
    assert fresh.policy_id == new.id
    assert walk(fresh) == [*VILLAGE[:2], Role.TOWNSHIP_HEAD]


def test_a_returned_and_resubmitted_request_keeps_its_version(db: Any) -> None:
    old = policy_now()
    req = f.in_state(State.RETURNED, "1200.00")
    publish_short()
    requests.update_draft(f.user("dy_baozhang"), req, f.request_input(purpose="补充验收单后重新提交"))
    requests.submit(f.user("dy_baozhang"), req, client_key=uuid.uuid4().hex)
    fdb.session.commit()
    assert (req.state, req.round, req.step) == (State.PENDING, 2, 1)
    assert req.policy_id == old.id
    assert walk(req) == VILLAGE


def test_a_draft_takes_the_version_current_when_it_is_submitted(db: Any) -> None:
    req = f.draft("1200.00")
    publish_short()
    requests.submit(f.user("dy_baozhang"), req)
    fdb.session.commit()
    assert req.policy_id == policy_now().id
    assert [s.role for s in steps_of(req)] == [*VILLAGE[:2], Role.TOWNSHIP_HEAD]


def test_a_policy_of_another_township_does_not_apply(db: Any) -> None:
    policies.publish_policy(f.unit("HL-MK"), SHORT, by=f.user("hl_admin"))
    req = f.in_state(State.PENDING, "1200.00")
    assert [s.role for s in steps_of(req)] == VILLAGE


def test_policies_are_set_per_township_and_need_a_step(db: Any) -> None:
    with pytest.raises(policies.PolicyError):
        policies.publish_policy(f.unit("HL-YC-01"), SHORT)
    with pytest.raises(policies.PolicyError):
        policies.publish_policy(f.unit("HL-YC"), Rules(steps=()))


# --- issue 15 item 5: every amount passes the village's two steps --------------------------------------

NINE_THOUSAND_SKIPS = Rules(steps=(StepRule(Role.VILLAGE_LEAD, Decimal("10000")), StepRule(Role.VILLAGE_SUPERVISOR),
                                   StepRule(Role.AGENCY_REVIEWER)))


@pytest.mark.parametrize("steps", [
    (StepRule(Role.TOWNSHIP_HEAD, Decimal("50000")),),  # below 50,000 no step at all
    NINE_THOUSAND_SKIPS.steps,  # a 9,000 request would skip the village lead
    (StepRule(Role.VILLAGE_LEAD), StepRule(Role.AGENCY_REVIEWER)),  # no supervisor at any amount
    (StepRule(Role.VILLAGE_LEAD, subjects=("5401",)), StepRule(Role.VILLAGE_SUPERVISOR)),  # other subjects skip
    (StepRule(Role.VILLAGE_LEAD, Decimal("0.02")), StepRule(Role.VILLAGE_SUPERVISOR)),  # a cent skips
], ids=["head-only", "lead-from-10000", "no-supervisor", "lead-one-subject", "lead-from-2-cents"])
def test_a_policy_without_the_village_steps_for_some_amount_is_refused(db: Any, steps: tuple[StepRule, ...]
                                                                      ) -> None:
    town = f.unit("HL-YC")
    before = policy_now()
    events = fdb.session.execute(select(func.count(audit.Event.id))).scalar_one()
    with pytest.raises(policies.PolicyError) as err:
        policies.publish_policy(town, Rules(steps=steps, attachments=DEFAULT_RULES.attachments),
                                by=f.user("hl_admin"))
    assert "村里的两步审批" in str(err.value)
    assert policy_now().id == before.id
    assert fdb.session.execute(select(func.count(audit.Event.id))).scalar_one() == events
    # a 9,000-yuan request still needs the whole village chain
    req = f.in_state(State.PENDING, "9000.00")
    assert walk(req) == VILLAGE


def test_village_steps_from_one_cent_or_any_amount_are_enough(db: Any) -> None:
    rules = Rules(steps=(StepRule(Role.VILLAGE_LEAD, Decimal("0.01")), StepRule(Role.VILLAGE_SUPERVISOR),
                         StepRule(Role.TOWNSHIP_HEAD, Decimal("20000"), ("1601",))))
    assert policies.missing_village_steps(rules) == []
    policies.publish_policy(f.unit("HL-YC"), rules, by=f.user("hl_admin"))
    assert policy_now().version == 2

"""Separation of duties, enforced in the services (a forged post is refused like a hidden button):
no one approves their own request or acts at two steps of one request; the cashier is neither the
requester nor an approver; what is paid is what was approved; a bank reference is used once."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from audit.models import Event
from finance.auth import services as accounts
from finance.auth.models import User
from finance.errors import Forbidden
from finance.extensions import db as fdb
from finance.payment_requests import services as requests
from finance.payment_requests.models import PaymentRequest
from finance.payment_requests.route import steps_of
from finance.payments import services as payments
from finance.payments.models import Payment
from finance.permissions import Permission, can
from finance.roles import Role
from finance.workflow import State
from tests import factories as f
from tests.conftest import PASSWORD


def person(username: str, *roles: tuple[Role, str]) -> User:
    """A user holding several roles (each at an org unit code), made through the account services."""
    first_role, first_unit = roles[0]
    who = accounts.create_user(username=username, display_name=username, password=PASSWORD, role=first_role,
                               org_unit=f.unit(first_unit))
    for role, code in roles[1:]:
        accounts.assign_role(who, role, f.unit(code))
    fdb.session.commit()
    return who


def events() -> int:
    return int(fdb.session.execute(select(func.count(Event.id))).scalar_one())


def approve(username: str | User, req: PaymentRequest) -> None:
    who = f.user(username) if isinstance(username, str) else username
    requests.approve(who, req, "同意", client_key=uuid.uuid4().hex)
    fdb.session.commit()


def refused(call: Any, *args: Any, error: type[Exception] = Forbidden, **kwargs: Any) -> None:
    """`call` is refused with `error`, and writes no audit event and leaves the request as it was."""
    req = next(a for a in args if isinstance(a, PaymentRequest))
    before_events, before = events(), requests.snapshot(req)
    with pytest.raises(error):
        call(*args, **kwargs)
    fdb.session.flush()
    assert events() == before_events
    assert requests.snapshot(req) == before


def test_no_one_approves_their_own_request(db: Any) -> None:
    """李 holds accountant and village_lead in 东岳村: she may raise requests and approve others', never
    her own."""
    both = person("dy_both", (Role.ACCOUNTANT, "HL-YC-01"), (Role.VILLAGE_LEAD, "HL-YC-01"))
    own = f.in_state(State.PENDING, accountant="dy_both")
    assert own.requester_id == both.id and own.step == 1
    assert not can(both, Permission.REQUEST_DECIDE, own)
    refused(requests.approve, both, own, "同意")
    refused(requests.return_for_revision, both, own, "请补充")
    refused(requests.reject, both, own, "不同意")
    approve("dy_shuji", own)  # the other village lead can
    assert own.step == 2
    # she may approve a request someone else raised
    other = f.in_state(State.PENDING)
    assert can(both, Permission.REQUEST_DECIDE, other)
    approve(both, other)
    assert other.step == 2


def test_no_one_acts_at_two_steps_of_one_request_in_the_village(db: Any) -> None:
    """A user holding village_lead and village_supervisor approves step 1, and is then refused step 2."""
    both = person("dy_lead_and_supervisor", (Role.VILLAGE_LEAD, "HL-YC-01"),
                  (Role.VILLAGE_SUPERVISOR, "HL-YC-01"))
    req = f.in_state(State.PENDING)
    approve(both, req)
    assert req.step == 2
    assert not can(both, Permission.REQUEST_DECIDE, req)
    refused(requests.approve, both, req, "同意")
    refused(requests.return_for_revision, both, req, "请补充")
    refused(requests.reject, both, req, "不同意")
    approve("dy_jianwei", req)
    assert req.step == 3


def test_no_one_acts_at_two_steps_of_one_request_in_the_township(db: Any) -> None:
    """A township user holding agency_reviewer and township_leader: reviews step 3, refused at step 4."""
    both = person("yc_review_and_lead", (Role.AGENCY_REVIEWER, "HL-YC"), (Role.TOWNSHIP_LEADER, "HL-YC"))
    req = f.in_state(State.PENDING, "20000.00")
    approve("dy_shuji", req)
    approve("dy_jianwei", req)
    approve(both, req)
    assert req.step == 4
    refused(requests.approve, both, req, "同意")
    approve("yc_baocun", req)
    assert req.state == State.APPROVED


def test_a_step_returned_in_round_one_may_be_decided_again_in_round_two_but_not_a_later_step(db: Any) -> None:
    both = person("dy_lead_and_supervisor", (Role.VILLAGE_LEAD, "HL-YC-01"),
                  (Role.VILLAGE_SUPERVISOR, "HL-YC-01"))
    req = f.in_state(State.PENDING)
    requests.return_for_revision(both, req, "请补充验收单")
    fdb.session.commit()
    requests.submit(f.user("dy_baozhang"), req, client_key=uuid.uuid4().hex)
    fdb.session.commit()
    assert (req.state, req.step, req.round) == (State.PENDING, 1, 2)
    approve(both, req)  # step 1 again, in the new round: the same person at the same step
    refused(requests.approve, both, req, "同意")  # but not step 2 as well


def test_whoever_revised_and_resubmitted_cannot_approve_it(db: Any) -> None:
    """A second accountant of the village, also its lead, takes over a returned request and resubmits
    it: they are now a requester of it, and may not approve it."""
    helper = person("dy_second", (Role.ACCOUNTANT, "HL-YC-01"), (Role.VILLAGE_LEAD, "HL-YC-01"))
    req = f.in_state(State.RETURNED)
    requests.update_draft(helper, req, f.request_input(purpose="苗木（已补充验收单）"))
    requests.submit(helper, req, client_key=uuid.uuid4().hex)
    fdb.session.commit()
    assert req.state == State.PENDING
    refused(requests.approve, helper, req, "同意")
    approve("dy_shuji", req)


@pytest.mark.parametrize("amount", ["1200.00", "60000.00"])
def test_the_cashier_cannot_pay_what_they_raised(db: Any, amount: str) -> None:
    raiser = person("yc_cashier_and_accountant", (Role.CASHIER, "HL-YC"), (Role.ACCOUNTANT, "HL-YC-01"))
    req = f.in_state(State.APPROVED, amount, accountant="yc_cashier_and_accountant")
    assert not can(raiser, Permission.PAYMENT_RECORD, req)
    refused(payments.record_payment, raiser, req, f.payment_input(req))
    payments.record_payment(f.user("yc_chuna"), req, f.payment_input(req), client_key=uuid.uuid4().hex)
    fdb.session.commit()
    assert req.state == State.PAID


@pytest.mark.parametrize("approver_role", [Role.AGENCY_REVIEWER, Role.TOWNSHIP_LEADER])
def test_the_cashier_cannot_pay_what_they_approved(db: Any, approver_role: Role) -> None:
    both = person("yc_cashier_and_approver", (Role.CASHIER, "HL-YC"), (approver_role, "HL-YC"))
    req = f.in_state(State.PENDING, "20000.00")
    for step, name in zip(steps_of(req), f.approvers_for(req), strict=True):
        approve(both if step.role == approver_role else name, req)
    assert req.state == State.APPROVED
    assert any(a.actor_id == both.id for a in req.actions)
    refused(payments.record_payment, both, req, f.payment_input(req))
    payments.record_payment(f.user("yc_chuna"), req, f.payment_input(req))
    fdb.session.commit()
    assert req.state == State.PAID


def test_the_cashier_cannot_pay_a_request_they_returned_earlier(db: Any) -> None:
    both = person("yc_cashier_and_reviewer", (Role.CASHIER, "HL-YC"), (Role.AGENCY_REVIEWER, "HL-YC"))
    req = f.in_state(State.PENDING)
    approve("dy_shuji", req)
    approve("dy_jianwei", req)
    requests.return_for_revision(both, req, "发票抬头不对")
    fdb.session.commit()
    requests.submit(f.user("dy_baozhang"), req)
    for name in ("dy_shuji", "dy_jianwei", "yc_shenhe"):
        approve(name, req)
    assert req.state == State.APPROVED
    refused(payments.record_payment, both, req, f.payment_input(req))


PAYEE_DIFFERS = "收款人与批准的收款人“濮阳市华龙区兴农农资经营部”不一致。"


@pytest.mark.parametrize(("field", "value", "message"), [
    ("amount", Decimal("1200.01"), "实付金额与批准金额 1,200.00 元不一致。"),
    ("amount", Decimal("1199.99"), "实付金额与批准金额 1,200.00 元不一致。"),
    ("amount", None, "请填写实付金额。"),
    ("payee_name", "濮阳市华龙区兴农农资经营部二店", PAYEE_DIFFERS),
    ("payee_name", "", PAYEE_DIFFERS),
    ("payee_account", "6228480012345678902", "收款账号与批准的账号不一致。"),
    ("payer_account", "  ", "请填写付款账号。"),
    ("bank_reference", "", "请填写银行流水号。"),
    ("value_date", None, "请填写支付日期。"),
    ("receipt_data", b"", "请上传银行回单。"),
])
def test_paid_must_equal_approved(db: Any, field: str, value: Any, message: str) -> None:
    req = f.in_state(State.APPROVED)
    data = f.payment_input(req, **{field: value})
    before_events = events()
    with pytest.raises(requests.RequestError) as exc:
        payments.record_payment(f.user("yc_chuna"), req, data, client_key=uuid.uuid4().hex)
    key = "receipt" if field == "receipt_data" else field
    assert exc.value.errors == {key: message}
    fdb.session.flush()
    paid = fdb.session.execute(select(Payment.id).where(Payment.request_id == req.id)).first()
    assert events() == before_events and req.state == State.APPROVED and paid is None
    assert len(req.attachments) == 1  # only the invoice: no stray receipt


def test_paid_amount_payee_and_account_are_the_approved_ones(db: Any) -> None:
    req = f.in_state(State.APPROVED, "60000.00")
    # the account typed with spaces, as printed on a bank card, is the same account
    data = f.payment_input(req, payee_account="6228 4800 1234 5678 901",
                           payee_name=" 濮阳市华龙区兴农农资经营部 ")
    payments.record_payment(f.user("yc_chuna"), req, data)
    fdb.session.commit()
    pay = fdb.session.execute(select(Payment).where(Payment.request_id == req.id)).scalar_one()
    assert (pay.amount, pay.payee_name, pay.payee_account) == (req.amount, req.payee_name, req.payee_account)
    assert pay.amount == Decimal("60000.00")
    event = fdb.session.execute(select(Event).order_by(Event.id.desc()).limit(1)).scalar_one()
    assert event.action == "pay" and event.after is not None and '"amount":"60000.00"' in event.after
    assert pay.receipt is not None and event.after is not None and pay.receipt.sha256 in event.attachments


def test_a_bank_reference_is_used_once(db: Any) -> None:
    first, second = f.in_state(State.APPROVED), f.in_state(State.APPROVED)
    payments.record_payment(f.user("yc_chuna"), first, f.payment_input(first, bank_reference="ABC0001"))
    fdb.session.commit()
    for reused in ("ABC0001", "  ABC0001 "):
        before_events = events()
        with pytest.raises(requests.RequestError) as exc:
            payments.record_payment(f.user("yc_chuna"), second,
                                    f.payment_input(second, bank_reference=reused))
        assert exc.value.errors == {"bank_reference": "该银行流水号已被使用过，请核对。"}
        assert events() == before_events and second.state == State.APPROVED
    payments.record_payment(f.user("yc_chuna"), second, f.payment_input(second, bank_reference="ABC0002"))
    fdb.session.commit()
    assert second.state == State.PAID


def test_a_cashier_of_another_township_cannot_pay(db: Any) -> None:
    req = f.in_state(State.APPROVED)
    refused(payments.record_payment, f.user("mk_chuna"), req, f.payment_input(req))


def test_whoever_decided_on_a_request_cannot_revise_or_resubmit_it(db: Any) -> None:
    """A village lead who also keeps the books returned a request: the revision is the requester's job,
    not theirs (else they could change what they are about to approve again)."""
    helper = person("dy_second", (Role.ACCOUNTANT, "HL-YC-01"), (Role.VILLAGE_LEAD, "HL-YC-01"))
    req = f.in_state(State.PENDING)
    requests.return_for_revision(helper, req, "请补充验收单")
    fdb.session.commit()
    assert not can(helper, Permission.REQUEST_SUBMIT, req)
    refused(requests.update_draft, helper, req, f.request_input(amount="1300.00"))
    refused(requests.submit, helper, req)
    refused(requests.withdraw, helper, req)
    requests.submit(f.user("dy_baozhang"), req)
    fdb.session.commit()
    assert req.state == State.PENDING


@pytest.mark.parametrize(("field", "value", "message"), [
    ("bank_reference", "X" * 65, "银行流水号最多 64 位。"),
    ("payer_account", "1" * 41, "付款账号只能是数字，最多 40 位。"),
    ("payer_account", "6228-4800", "付款账号只能是数字，最多 40 位。"),
])
def test_payment_fields_longer_than_their_columns_are_refused(db: Any, field: str, value: str,
                                                              message: str) -> None:
    req = f.in_state(State.APPROVED)
    with pytest.raises(requests.RequestError) as exc:
        payments.record_payment(f.user("yc_chuna"), req, f.payment_input(req, **{field: value}))
    assert exc.value.errors == {field: message}

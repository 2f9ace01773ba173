"""The whole (state, action, role) table of a payment request.

Every cell is tried through the services on a request of 东岳村 built in that state: it either moves
the request to the expected state and writes exactly one history row and one audit event, or it is
refused and nothing at all changes. Each refused cell names its refusal: NotAllowed when the state does
not open the action (409), Forbidden when it does but not for this person (403). The expectations are
written out here by hand from DESIGN.md, not derived from `finance.workflow.TABLE`, so the table is
checked against the design rather than against itself.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from audit.models import Event
from finance.attachment_kinds import AttachmentKind
from finance.bank import services as bank
from finance.errors import Forbidden, NotFound
from finance.extensions import db as fdb
from finance.payment_requests import services as requests
from finance.payment_requests.models import Attachment, PaymentRequest, RequestAction
from finance.payments import services as payments
from finance.payments.models import Payment
from finance.workflow import TABLE, Action, Facts, NotAllowed, State, actions_open, decide
from tests import factories as f

# Who tries each cell: every role of the demo district, plus the requester and people out of scope.
ACTORS = {
    "requester": "dy_baozhang",
    "village_lead": "dy_shuji",
    "village_supervisor": "dy_jianwei",
    "agency_reviewer": "yc_shenhe",
    "township_leader": "yc_baocun",
    "township_head": "yc_zhenzhang",
    "cashier": "yc_chuna",
    "liaison": "yc_lianqing",
    "admin": "hl_admin",
    "accountant_of_another_village": "xy_baozhang",
    "lead_of_another_village": "xy_shuji",
    "outside_the_township": "mk_shenhe",
    "cashier_outside_the_township": "mk_chuna",
}

# A 1,200 yuan request goes village_lead -> village_supervisor -> agency_reviewer (three steps).
SITUATIONS = ["draft", "pending@1", "pending@2", "pending@3", "returned", "withdrawn", "rejected", "approved",
              "paid", "reconciled", "discarded"]
ACTIONS = [Action.EDIT, Action.SUBMIT, Action.APPROVE, Action.RETURN, Action.REJECT, Action.WITHDRAW,
           Action.PAY, Action.RECONCILE, Action.DISCARD]

# (situation, action, actor) -> the situation it leads to. Every cell not listed is refused.
ALLOWED: dict[tuple[str, Action, str], str] = {
    ("draft", Action.EDIT, "requester"): "draft",
    ("draft", Action.SUBMIT, "requester"): "pending@1",
    ("draft", Action.DISCARD, "requester"): "discarded",
    ("pending@1", Action.APPROVE, "village_lead"): "pending@2",
    ("pending@1", Action.RETURN, "village_lead"): "returned",
    ("pending@1", Action.REJECT, "village_lead"): "rejected",
    ("pending@1", Action.WITHDRAW, "requester"): "withdrawn",  # no approver has acted yet
    ("pending@2", Action.APPROVE, "village_supervisor"): "pending@3",
    ("pending@2", Action.RETURN, "village_supervisor"): "returned",
    ("pending@2", Action.REJECT, "village_supervisor"): "rejected",
    ("pending@3", Action.APPROVE, "agency_reviewer"): "approved",  # the last step of this amount
    ("pending@3", Action.RETURN, "agency_reviewer"): "returned",
    ("pending@3", Action.REJECT, "agency_reviewer"): "rejected",
    ("returned", Action.EDIT, "requester"): "returned",
    ("returned", Action.SUBMIT, "requester"): "pending@1",
    ("returned", Action.WITHDRAW, "requester"): "withdrawn",
    ("approved", Action.PAY, "cashier"): "paid",
    # reconciled through a confirmed statement match, by the agency reviewer, never by the cashier who paid
    ("paid", Action.RECONCILE, "agency_reviewer"): "reconciled",
}

# (situation, action) pairs the design opens; any other cell is refused as NotAllowed, an open cell by
# anyone but its one permitted actor as Forbidden.
OPEN: set[tuple[str, Action]] = {
    ("draft", Action.EDIT), ("draft", Action.SUBMIT), ("draft", Action.DISCARD),
    ("pending@1", Action.APPROVE), ("pending@1", Action.RETURN), ("pending@1", Action.REJECT),
    ("pending@1", Action.WITHDRAW),  # withdrawn only while no approver has acted in the round
    ("pending@2", Action.APPROVE), ("pending@2", Action.RETURN), ("pending@2", Action.REJECT),
    ("pending@3", Action.APPROVE), ("pending@3", Action.RETURN), ("pending@3", Action.REJECT),
    ("returned", Action.EDIT), ("returned", Action.SUBMIT), ("returned", Action.WITHDRAW),
    ("approved", Action.PAY),
    ("paid", Action.RECONCILE),
}
REFUSALS = (NotAllowed, Forbidden, requests.RequestError)


def refusal(situation: str, action: Action) -> type[Exception]:
    """The refusal a refused cell gets."""
    return Forbidden if (situation, action) in OPEN else NotAllowed


def build(situation: str) -> PaymentRequest:
    if situation.startswith("pending@"):
        req = f.in_state(State.PENDING)
        for name in f.DY_CHAIN[: int(situation.split("@")[1]) - 1]:
            requests.approve(f.user(name), req, "同意", client_key=uuid.uuid4().hex)
        fdb.session.commit()
        return req
    req = f.in_state(State(situation))
    if situation == "paid":  # its line on the statement, imported by the cashier who paid: a proposal
        propose_line(req)
    return req


def propose_line(req: PaymentRequest) -> None:
    from finance.payments.queries import payment_of
    from tests.bank_helpers import account, line_for, statement_of

    payment = payment_of(req)
    assert payment is not None
    acct = account()
    bank.import_statement(f.user("yc_chuna"), statement_of(acct, [line_for(payment)]).csv(), "s.csv")
    fdb.session.commit()


def situation_of(req: PaymentRequest) -> str:
    return f"pending@{req.step}" if req.state == State.PENDING else req.state.value


def attempt(action: Action, username: str, req: PaymentRequest) -> Any:
    who = f.user(username)
    key = uuid.uuid4().hex
    if action == Action.EDIT:
        return requests.update_draft(who, req, f.request_input(purpose="购买村内道路绿化苗木（补种）"))
    if action == Action.SUBMIT:
        return requests.submit(who, req, client_key=key)
    if action == Action.APPROVE:
        return requests.approve(who, req, "同意", client_key=key)
    if action == Action.RETURN:
        return requests.return_for_revision(who, req, "请补充验收单", client_key=key)
    if action == Action.REJECT:
        return requests.reject(who, req, "不符合村级支出范围", client_key=key)
    if action == Action.WITHDRAW:
        return requests.withdraw(who, req, client_key=key)
    if action == Action.PAY:
        return payments.record_payment(who, req, f.payment_input(req), client_key=key)
    if action == Action.RECONCILE:
        # the one way: confirming the proposed match of its statement line (finance.bank); out of scope
        # is a 404 there, which for this table is "not theirs"
        from finance.bank import queries as bank_queries
        from finance.payments.queries import payment_of

        payment = payment_of(req)
        match = bank_queries.payment_match(payment) if payment is not None else None
        if match is None or req.state is not State.PAID:
            return requests.transition(who, req, Action.RECONCILE, client_key=key)
        try:
            bank.confirm_match(who, match.id)
        except NotFound:
            raise Forbidden(action) from None
        return req.actions[-1]
    if action == Action.DISCARD:
        return requests.discard(who, req, client_key=key)
    raise AssertionError(action)


def state_of_world(req: PaymentRequest) -> dict[str, Any]:
    """Everything a refused call must leave alone: the request row, its history, attachments, payment,
    and every audit event of every chain."""
    fdb.session.flush()  # a refused call that left changes in memory would show up here
    table = PaymentRequest.__table__
    row = fdb.session.execute(select(table).where(table.c.id == req.id)).one()._asdict()

    def count(stmt: Any) -> int:
        return int(fdb.session.execute(stmt).scalar_one())

    return {
        "row": row,
        "memory": requests.snapshot(req),
        "actions": count(select(func.count(RequestAction.id)).where(RequestAction.request_id == req.id)),
        "attachments": count(select(func.count(Attachment.id)).where(Attachment.request_id == req.id)),
        "payments": count(select(func.count(Payment.id)).where(Payment.request_id == req.id)),
        "events": count(select(func.count(Event.id))),
        "request_events": count(select(func.count(Event.id)).where(
            Event.subject_type == "payment_request", Event.subject_id == str(req.id))),
    }


@pytest.mark.exhaustive
@pytest.mark.parametrize("action", ACTIONS, ids=str)
@pytest.mark.parametrize("situation", SITUATIONS)
def test_every_role_in_every_state(db: Any, situation: str, action: Action) -> None:
    """One request per (state, action); every actor tries it. The refusals come first, each checked to
    change nothing; the one permitted actor (if any) goes last and must move the request."""
    req = build(situation)
    assert situation_of(req) == situation
    allowed = [actor for actor in ACTORS if (situation, action, actor) in ALLOWED]
    assert len(allowed) <= 1
    assert bool(allowed) == ((situation, action) in OPEN)
    expected = refusal(situation, action)
    for actor in [a for a in ACTORS if a not in allowed]:
        before = state_of_world(req)
        with pytest.raises(REFUSALS) as refused:
            attempt(action, ACTORS[actor], req)
        assert type(refused.value) is expected, f"{actor}: {action} in {situation} is refused as {expected}"
        assert state_of_world(req) == before, f"{actor} changed something by a refused {action}"
    for actor in allowed:
        before = state_of_world(req)
        row = attempt(action, ACTORS[actor], req)
        fdb.session.commit()
        after = state_of_world(req)
        assert situation_of(req) == ALLOWED[(situation, action, actor)]
        assert after["row"]["state"] == req.state.value
        assert after["events"] == before["events"] + 1, "exactly one audit event per change"
        assert after["request_events"] == before["request_events"] + 1
        event = fdb.session.execute(select(Event).order_by(Event.id.desc()).limit(1)).scalar_one()
        assert event.action == action.value and event.subject_id == str(req.id)
        assert event.actor_id == f.user(ACTORS[actor]).id
        if action == Action.EDIT:
            assert row is None and after["actions"] == before["actions"]
            assert req.purpose == "购买村内道路绿化苗木（补种）"
        else:
            assert after["actions"] == before["actions"] + 1
            assert row.action == action and row.actor_id == event.actor_id
            assert row.from_state == State(situation.split("@")[0]) and row.to_state == req.state
        if action == Action.PAY:
            assert after["payments"] == 1 and after["attachments"] == before["attachments"] + 1


def test_every_cell_of_the_design_is_a_cell_of_the_code() -> None:
    """The hand-written expectations and the code's table agree on which (state, action) pairs exist."""
    expected_pairs = {(State(s.split("@")[0]), a) for (s, a, _who) in ALLOWED}
    assert set(TABLE) == expected_pairs


@pytest.mark.parametrize(("situation", "action"), [
    ("pending@1", Action.RETURN), ("pending@1", Action.REJECT), ("pending@3", Action.RETURN),
])
@pytest.mark.parametrize("reason", ["", "   ", None])
def test_return_and_reject_need_a_reason(db: Any, situation: str, action: Action, reason: str | None) -> None:
    req = build(situation)
    who = f.user(f.approvers_for(req)[req.step - 1])
    before = state_of_world(req)
    service = requests.return_for_revision if action == Action.RETURN else requests.reject
    with pytest.raises(requests.RequestError) as exc:
        service(who, req, reason)  # type: ignore[arg-type]
    assert exc.value.errors == {"reason": "请填写理由。"}
    assert state_of_world(req) == before


def test_an_unchanged_edit_writes_nothing(db: Any) -> None:
    req = build("draft")
    before = state_of_world(req)
    requests.update_draft(f.user("dy_baozhang"), req, f.request_input())
    fdb.session.commit()
    assert state_of_world(req) == before


def test_submit_of_an_incomplete_draft_is_refused_and_changes_nothing(db: Any) -> None:
    req = f.draft(with_attachments=False, payee_name="")
    before = state_of_world(req)
    with pytest.raises(requests.RequestError) as exc:
        requests.submit(f.user("dy_baozhang"), req, client_key=uuid.uuid4().hex)
    assert set(exc.value.errors) == {"payee_name"}
    assert state_of_world(req) == before
    requests.update_draft(f.user("dy_baozhang"), req, f.request_input())
    with pytest.raises(requests.RequestError) as exc:
        requests.submit(f.user("dy_baozhang"), req)
    assert set(exc.value.errors) == {"attachment_invoice"}
    assert exc.value.errors["attachment_invoice"] == "缺少附件：发票或收款收据。"


def test_a_replayed_form_returns_the_first_result_and_writes_nothing(db: Any) -> None:
    req = build("pending@1")
    key = uuid.uuid4().hex
    first = requests.approve(f.user("dy_shuji"), req, "同意", client_key=key)
    fdb.session.commit()
    before = state_of_world(req)
    again = requests.approve(f.user("dy_shuji"), req, "同意", client_key=key)
    assert again is not None and first is not None and again.id == first.id
    assert state_of_world(req) == before
    # Someone else's form key is not taken as theirs.
    with pytest.raises(requests.AlreadyHandled):
        requests.approve(f.user("dy_jianwei"), req, "同意", client_key=key)
    assert state_of_world(req) == before


def test_a_stale_second_approval_is_already_handled(db: Any) -> None:
    """The same step approved twice from one stale page: the second is refused, nothing written."""
    req = build("pending@1")
    requests.approve(f.user("dy_shuji"), req, "同意", client_key=uuid.uuid4().hex)
    fdb.session.commit()
    before = state_of_world(req)
    with pytest.raises(REFUSALS):  # now at step 2: village_lead is no longer the step's role
        requests.approve(f.user("dy_shuji"), req, "同意", client_key=uuid.uuid4().hex)
    assert state_of_world(req) == before


# --- the table alone, without a database ------------------------------------------------------------


@pytest.mark.parametrize("action", ACTIONS, ids=str)
@pytest.mark.parametrize("state", list(State), ids=str)
def test_decide_for_every_state_and_action(state: State, action: Action) -> None:
    expected = {
        (State.DRAFT, Action.EDIT): State.DRAFT,
        (State.DRAFT, Action.SUBMIT): State.PENDING,
        (State.DRAFT, Action.DISCARD): State.DISCARDED,
        (State.PENDING, Action.APPROVE): State.PENDING,
        (State.PENDING, Action.RETURN): State.RETURNED,
        (State.PENDING, Action.REJECT): State.REJECTED,
        (State.PENDING, Action.WITHDRAW): State.WITHDRAWN,
        (State.RETURNED, Action.EDIT): State.RETURNED,
        (State.RETURNED, Action.SUBMIT): State.PENDING,
        (State.RETURNED, Action.WITHDRAW): State.WITHDRAWN,
        (State.APPROVED, Action.PAY): State.PAID,
        (State.PAID, Action.RECONCILE): State.RECONCILED,
    }
    facts = Facts(state=state, step=1, steps_total=3)
    if (state, action) in expected:
        _transition, target = decide(facts, action)
        assert target == expected[(state, action)]
        assert action in actions_open(facts)
    else:
        with pytest.raises(NotAllowed):
            decide(facts, action)
        assert action not in actions_open(facts)


@pytest.mark.parametrize(("step", "total", "target"), [(1, 3, State.PENDING), (2, 3, State.PENDING),
                                                       (3, 3, State.APPROVED), (1, 1, State.APPROVED),
                                                       (5, 5, State.APPROVED), (4, 5, State.PENDING)])
def test_decide_approve_moves_to_approved_only_at_the_last_step(step: int, total: int, target: State) -> None:
    _transition, got = decide(Facts(State.PENDING, step=step, steps_total=total), Action.APPROVE)
    assert got == target


def test_decide_withdraw_only_before_any_decision() -> None:
    assert decide(Facts(State.PENDING, 1, 3, decided_this_round=False), Action.WITHDRAW)[1] == State.WITHDRAWN
    with pytest.raises(NotAllowed):
        decide(Facts(State.PENDING, 2, 3, decided_this_round=True), Action.WITHDRAW)
    assert Action.WITHDRAW not in actions_open(Facts(State.PENDING, 2, 3, decided_this_round=True))
    # a returned request can always be withdrawn by its accountant
    assert decide(Facts(State.RETURNED, 0, 3, decided_this_round=True), Action.WITHDRAW)[1] == State.WITHDRAWN


def test_reasons_are_required_exactly_for_return_and_reject() -> None:
    need = {pair for pair, t in TABLE.items() if t.reason_required}
    assert need == {(State.PENDING, Action.RETURN), (State.PENDING, Action.REJECT)}


def test_terminal_states_have_no_way_out() -> None:
    for state in State:
        if state.terminal:
            assert actions_open(Facts(state)) == []
    assert {s for s in State if s.terminal} == {State.WITHDRAWN, State.REJECTED, State.RECONCILED,
                                                State.DISCARDED}


def test_every_writing_service_writes_one_event_and_refusals_none(db: Any) -> None:
    accountant = f.user("dy_baozhang")

    def events() -> int:
        return int(fdb.session.execute(select(func.count(Event.id))).scalar_one())

    start = events()
    req = requests.create_draft(accountant, f.unit("HL-YC-01"), f.request_input(),
                                client_key=uuid.uuid4().hex)
    assert events() == start + 1
    att = requests.add_attachment(accountant, req, AttachmentKind.INVOICE, "fapiao.jpg", f.jpeg_bytes())
    assert events() == start + 2
    requests.update_draft(accountant, req, f.request_input(amount="1300.00"))
    assert events() == start + 3
    requests.remove_attachment(accountant, att)
    assert events() == start + 4
    for call in (
        lambda: requests.create_draft(f.user("dy_shuji"), f.unit("HL-YC-01"), f.request_input()),
        lambda: requests.create_draft(accountant, f.unit("HL-MK-01"), f.request_input()),
        lambda: requests.add_attachment(f.user("dy_shuji"), req, AttachmentKind.INVOICE, "x.jpg",
                                        f.jpeg_bytes()),
        lambda: requests.update_draft(f.user("xy_baozhang"), req, f.request_input(amount="1.00")),
        lambda: requests.update_draft(accountant, req, f.request_input(amount="0")),
        lambda: requests.submit(accountant, req),  # the invoice was removed
    ):
        with pytest.raises(REFUSALS):
            call()
        assert events() == start + 4
    assert req.amount == Decimal("1300.00")
    # the same "new request" form sent again answers with the draft it made, writing nothing
    key = uuid.uuid4().hex
    first = requests.create_draft(accountant, f.unit("HL-YC-01"), f.request_input(), client_key=key)
    again = requests.create_draft(accountant, f.unit("HL-YC-01"), f.request_input(), client_key=key)
    assert first.id == again.id and events() == start + 5


@pytest.mark.parametrize(("field", "value", "message"), [
    ("amount", Decimal("1.234"), "金额最多保留两位小数（分）。"),
    ("amount", Decimal("0"), "金额必须大于零。"),
    ("amount", Decimal("-3"), "金额必须大于零。"),
    ("amount", Decimal("NaN"), "金额必须大于零。"),
    ("amount", Decimal("10000000.01"), "金额超过单笔上限 10,000,000.00 元。"),
    ("amount", Decimal("1E+40"), "金额超过单笔上限 10,000,000.00 元。"),
    ("meeting_amount", Decimal("1E+40"), "决议金额格式不正确。"),
    ("payee_name", "收" * 101, "最多 100 个字。"),
    ("payee_bank", "行" * 101, "最多 100 个字。"),
    ("payee_account", "6" * 41, "最多 40 个字。"),
    ("purpose", "用" * 501, "最多 500 个字。"),  # the form's limit too (one home: models.MAX_LENGTH)
    ("fund_source", "源" * 101, "最多 100 个字。"),
    ("budget_line", "预" * 101, "最多 100 个字。"),
    ("meeting_amount", Decimal("0.001"), "决议金额格式不正确。"),
    ("meeting_amount", Decimal("1000000000000"), "决议金额格式不正确。"),
    ("meeting_attendance", -1, "参会人数不正确。"),
    ("meeting_attendance", 0, "参会人数不正确。"),  # at least one person attended, as the form says
    ("meeting_attendance", 10**9, "参会人数不正确。"),
    ("subject_id", 10**9, "请选择有效的会计科目。"),
])
def test_bad_fields_are_refused_with_a_message_and_nothing_is_written(db: Any, field: str, value: Any,
                                                                     message: str) -> None:
    bad = f.request_input()
    setattr(bad, field, value)
    before = int(fdb.session.execute(select(func.count(PaymentRequest.id))).scalar_one())
    with pytest.raises(requests.RequestError) as exc:
        requests.create_draft(f.user("dy_baozhang"), f.unit("HL-YC-01"), bad)
    assert exc.value.errors == {field: message}
    assert str(exc.value) == message
    assert int(fdb.session.execute(select(func.count(PaymentRequest.id))).scalar_one()) == before
    req = build("draft")
    world = state_of_world(req)
    with pytest.raises(requests.RequestError):
        requests.update_draft(f.user("dy_baozhang"), req, bad)
    assert state_of_world(req) == world


def test_the_trail_verifies_and_replays_after_every_kind_of_change(db: Any) -> None:
    """The events the services write fold back into the rows (the verifier's replay), paid included."""
    from finance.oversight.verification import run_verify

    for situation in SITUATIONS:
        build(situation)
    returned = build("returned")
    requests.update_draft(f.user("dy_baozhang"), returned, f.request_input(amount="1300.00"))
    requests.submit(f.user("dy_baozhang"), returned)
    fdb.session.commit()
    report = run_verify(chain="village:HL-YC-01")
    assert report.ok, report.all_failures()

"""Each rule has one home. The five places where two copies disagreed are pinned here to the answer chosen
(issue 9), and the workflow table is shown to be what decides: the facts the pages and queries read are
read off it."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from werkzeug.exceptions import HTTPException

from finance import trail, web
from finance.approval_policy import services as policies
from finance.approval_policy.rules import AttachmentRule, Rules, StepRule
from finance.attachment_kinds import AttachmentKind
from finance.documents import services as documents
from finance.errors import AlreadyHandled, Forbidden, NotFound
from finance.extensions import db as fdb
from finance.oversight import labels
from finance.payment_requests import services as requests
from finance.payment_requests.models import MAX_LENGTH
from finance.payment_requests.route import status_line, todo_line, waiting
from finance.permissions import acting_role
from finance.roles import Role
from finance.workflow import TABLE, Action, Actor, Facts, NotAllowed, State, awaited, decide
from tests import factories as f

ROOT = Path(__file__).resolve().parent.parent


def form_data(**overrides: Any) -> dict[str, Any]:
    data = {"client_key": uuid.uuid4().hex, "payee_name": "收款人", "payee_bank": "中国农业银行",
            "payee_account": "6228480012345678901", "amount": "1200.00", "purpose": "购买苗木",
            "subject_id": str(f.subject().id), "fund_source": "", "budget_line": "", "meeting_date": "",
            "meeting_attendance": "", "meeting_amount": "", "action": "save"}
    data.update(overrides)
    return data


# --- 1. purpose: 500 characters (the form said 500, the service 1000) -----------------------------------


def test_purpose_takes_500_characters_in_the_form_and_the_service(client: Any) -> None:
    assert MAX_LENGTH["purpose"] == 500
    with pytest.raises(requests.RequestError) as exc:
        requests.create_draft(f.user("dy_baozhang"), f.unit("HL-YC-01"), f.request_input(purpose="用" * 501))
    assert exc.value.errors == {"purpose": "最多 500 个字。"}
    req = requests.create_draft(f.user("dy_baozhang"), f.unit("HL-YC-01"), f.request_input(purpose="用" * 500))
    assert len(req.purpose) == 500
    client.login("dy_baozhang")
    page = client.get("/requests/new").get_data(as_text=True)
    assert re.search(r'<textarea[^>]*maxlength="500"[^>]*name="purpose"|name="purpose"[^>]*maxlength="500"', page)
    refused = client.post("/requests/new", data=form_data(purpose="用" * 501))
    assert refused.status_code == 422 and "最多 500 个字。" in refused.get_data(as_text=True)


# --- 2. attendance: at least 1 (the form said 1, the service 0) -----------------------------------------


@pytest.mark.parametrize(("typed", "message"), [("0", "参会人数不正确。"), ("abc", "参会人数请填写正整数。"),
                                                ("100001", "参会人数不正确。")])
def test_attendance_is_a_whole_number_from_1(client: Any, typed: str, message: str) -> None:
    client.login("dy_baozhang")
    refused = client.post("/requests/new", data=form_data(meeting_attendance=typed))
    assert refused.status_code == 422 and message in refused.get_data(as_text=True)


def test_the_service_refuses_no_attendance_whatever_door_it_comes_by(db: Any) -> None:
    with pytest.raises(requests.RequestError) as exc:
        requests.create_draft(f.user("dy_baozhang"), f.unit("HL-YC-01"), f.request_input(meeting_attendance=0))
    assert exc.value.errors == {"meeting_attendance": "参会人数不正确。"}
    requests.create_draft(f.user("dy_baozhang"), f.unit("HL-YC-01"), f.request_input(meeting_attendance=1))


# --- 3. the minutes attachment has one name ----------------------------------------------------------


def test_the_minutes_have_one_name_everywhere(client: Any, make_client: Any) -> None:
    name = "四议两公开会议记录"
    assert AttachmentKind.MINUTES.label == name
    assert AttachmentKind.label_of("minutes") == name
    assert labels.show_value("kind", "minutes") == name
    req = f.draft("60000.00", with_attachments=False)
    assert requests.missing_for_submit(req)["attachment_minutes"] == f"缺少附件：{name}。"
    client.login("dy_baozhang")
    form = client.get(f"/requests/{req.id}/edit").get_data(as_text=True)
    assert f'<option value="minutes">{name}</option>' in form
    admin = make_client()
    admin.login("hl_admin")
    policy = admin.get(f"/admin/townships/{f.unit('HL-YC').id}/policy").get_data(as_text=True)
    assert name in policy and "会议记录照片" not in policy


# --- 4. a request is a 支出申请 in the trail, the PDF and the pages ---------------------------------------


def test_a_request_is_called_the_same_in_the_trail_report_and_the_pages(app: Any) -> None:
    with app.test_request_context():
        assert trail.AuditSubject.PAYMENT_REQUEST.label == "支出申请"
        assert trail.subject_label("payment_request") == "支出申请"
        event = SimpleNamespace(subject_type="payment_request", subject_id="99999")
        assert documents._subject(event, {}) == "支出申请 #99999"  # type: ignore[arg-type]


# --- 5. malformed filters are refused with a message on both request lists --------------------------------


@pytest.mark.parametrize(("query", "message"), [
    ("amount_min=abc", "金额格式不正确"),
    ("date_from=2026-13-45", "日期格式不正确"),
    ("state=nope", "请从列表中选择状态"),
    ("village=999999", "请从列表中选择村"),
])
def test_both_request_lists_refuse_a_malformed_filter_with_the_same_message(make_client: Any, query: str,
                                                                             message: str) -> None:
    township = make_client()
    township.login("yc_shenhe")
    liaison = make_client()
    liaison.login("yc_lianqing")
    for who, url in ((township, "/requests?"), (liaison, "/oversight/requests?")):
        page = who.get(url + query)
        assert page.status_code == 200 and message in page.get_data(as_text=True), url


# --- the table decides --------------------------------------------------------------------------------


def test_what_the_pages_and_queries_read_is_read_off_the_table() -> None:
    assert {s for s in State if s.editable} == {s for (s, a) in TABLE if a is Action.EDIT}
    assert {s for s in State if s.terminal} == set(State) - {s for (s, _a) in TABLE}
    assert {s for s in State if s.paid} == {State.PAID, State.RECONCILED}
    assert {s for s in State if not s.submitted} == {State.DRAFT, State.DISCARDED}
    assert {s for s in State if s.approval_to_come} == {State.DRAFT, State.RETURNED, State.PENDING}
    waits = {s: (m[0], m[1].actor) for s in State if (m := awaited(s)) is not None}
    assert waits == {State.DRAFT: (Action.SUBMIT, Actor.REQUESTER), State.RETURNED: (Action.SUBMIT, Actor.REQUESTER),
                     State.PENDING: (Action.APPROVE, Actor.STEP_APPROVER), State.APPROVED: (Action.PAY, Actor.CASHIER)}


def test_no_applicable_step_leads_to_approved_as_a_fact_of_the_table() -> None:
    assert decide(Facts(State.DRAFT, steps_total=0), Action.SUBMIT)[1] == State.APPROVED
    assert decide(Facts(State.RETURNED, steps_total=0), Action.SUBMIT)[1] == State.APPROVED
    assert decide(Facts(State.DRAFT, steps_total=2), Action.SUBMIT)[1] == State.PENDING


def test_a_policy_without_a_step_for_the_amount_is_refused_so_no_request_skips_approval(db: Any) -> None:
    """The table sends a request with no applicable step straight to the cashier (above); a policy that
    would do so for some amounts is therefore refused at publication (issue 15 item 5)."""
    rules = Rules(steps=(StepRule(Role.TOWNSHIP_HEAD, Decimal("50000")),), attachments=(AttachmentRule("invoice"),))
    with pytest.raises(policies.PolicyError):
        policies.publish_policy(f.unit("HL-YC"), rules, by=f.user("hl_admin"))
    req = f.draft("1200.00")
    requests.submit(f.user("dy_baozhang"), req, client_key=uuid.uuid4().hex)
    fdb.session.commit()
    assert req.state == State.PENDING and req.waiting_role == Role.VILLAGE_LEAD


def test_acting_role_takes_the_actor_from_the_table(db: Any) -> None:
    req = f.in_state(State.PENDING)
    # the accountant is the table's actor for withdraw, not for approve; the village lead the other way round
    assert acting_role(f.user("dy_baozhang"), req, Action.WITHDRAW) == Role.ACCOUNTANT
    assert acting_role(f.user("dy_baozhang"), req, Action.APPROVE) is None
    assert acting_role(f.user("dy_shuji"), req, Action.APPROVE) == Role.VILLAGE_LEAD
    assert acting_role(f.user("dy_shuji"), req, Action.WITHDRAW) is None
    # an action the state does not open has no actor at all
    assert acting_role(f.user("dy_baozhang"), req, Action.EDIT) is None
    assert acting_role(f.user("yc_chuna"), req, Action.PAY) is None


@pytest.mark.parametrize("state", [State.DRAFT, State.PENDING, State.RETURNED, State.APPROVED, State.PAID,
                                   State.REJECTED])
def test_the_narration_names_whom_the_table_says_the_request_waits_for(app: Any, db: Any, state: State) -> None:
    req = f.in_state(state)
    now = waiting(req)
    with app.test_request_context():
        line, status = todo_line(req), status_line(req)
    if state is State.PENDING:
        assert now is not None and now.role == Role.VILLAGE_LEAD
        assert line == "第 1/3 步 · 待村负责人审批" and status == "等待第 1/3 步：村负责人审批"
    elif state is State.APPROVED:
        assert now is not None and now.role == Role.CASHIER and line == "待代理中心出纳支付"
    elif state in (State.DRAFT, State.RETURNED):
        assert now is not None and now.role == Role.ACCOUNTANT
    else:
        assert now is None and line == state.label


# --- where rules must not be written again -------------------------------------------------------------

VIEW_FILES = sorted([*ROOT.glob("finance/*/views.py"), *ROOT.glob("finance/*/views/*.py"), ROOT / "finance/home.py"])


@pytest.mark.parametrize("path", VIEW_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_views_roll_back_nothing_list_no_states_and_write_no_sql(path: Path) -> None:
    text = path.read_text()
    assert "rollback(" not in text, "the write pipeline (finance.web.write) rolls back a refused unit of work"
    assert not re.search(r"\bState\.[A-Z]", text), "states are the workflow table's to name"
    assert not re.search(r"\bselect\(|\.execute\(", text), "reads are the queries modules'"


def test_templates_list_no_states_and_test_no_url_rules() -> None:
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text()
        assert not re.search(r"\bState\.[A-Z]", text), path
        assert "url_rules" not in text, path


def test_every_trail_record_names_its_action_and_subject_by_enum(db: Any) -> None:
    """A free string is refused at run time (mypy refuses it before), so no new event goes unnamed."""
    with pytest.raises(ValueError):
        trail.record(village=None, user=None, role=None, action="something_new",  # type: ignore[arg-type]
                     subject_type=trail.AuditSubject.USER, subject_id=1)
    with pytest.raises(ValueError):
        trail.record(village=None, user=None, role=None, action=trail.AuditAction.USER_CREATE,
                     subject_type="thing", subject_id=1)  # type: ignore[arg-type]
    for path in (ROOT / "finance").rglob("*.py"):
        for call in re.findall(r"trail\.record\((.*?)\)\n", path.read_text(), re.S):
            assert not re.search(r"action=\"|subject_type=\"", call), path
    # the stored values are the ones the existing chains hold (their hashes cover them)
    assert {a.value for a in Action} <= {a.value for a in trail.AuditAction}
    assert trail.AuditAction.of(Action.RETURN).label == Action.RETURN.label == "退回修改"


# --- the one write pipeline ---------------------------------------------------------------------------


@pytest.mark.parametrize(("refusal", "status"), [
    (requests.RequestError("请填写理由。", {"reason": "请填写理由。"}), 422),
    (Forbidden(), 403),
    (NotFound(), 404),
    (NotAllowed(State.PAID, Action.APPROVE), 409),
    (AlreadyHandled(), 409),
])
def test_the_write_pipeline_answers_each_outcome_with_its_status(app: Any, db: Any, refusal: Exception,
                                                                  status: int) -> None:
    def call() -> None:
        raise refusal

    with app.test_request_context():
        try:
            answer = web.write(call, done=lambda _x: web.see_other("/"), invalid=lambda exc: str(exc),
                               conflict=lambda text: text)
        except HTTPException as exc:
            assert exc.code == status
        else:
            assert answer[1] == status  # type: ignore[index]
            if status == 409:
                said = ("该申请当前状态为“已支付”，不能执行“同意”。", "该事项已被他人处理，请查看最新状态。")
                assert answer[0] in said  # type: ignore[index]
        done = web.write(lambda: None, done=lambda _x: web.see_other("/requests"))
        assert done.status_code == 303  # type: ignore[union-attr]

"""Every mutating route writes exactly one audit event per change, and none lets a liaison change a
financial record.

The test walks `app.url_map`. Every rule that accepts POST, PUT, PATCH or DELETE (and every GET rule
listed in WRITING_GETS, for reads that are themselves recorded) must have an entry in ROUTES, or
`test_every_mutating_route_is_in_the_table` fails. To add a route, add one line to ROUTES:

    "blueprint.endpoint": Case(
        user="dy_shuji",                       # who may do it (a demo user), None for anonymous
        setup=lambda: {"request_id": f.in_state(State.PENDING).id},   # url values, built by factories
        form=lambda v: {"comment": "同意"},    # the form to post (v: the url values from setup)
        events=1,                              # events one exercise must write (1 for a change)
    ),

`events=0` needs a `why`, for routes that change no governed record (login, logout), and so does any
count above 1 (one post that makes several changes, e.g. "save and submit"). `actions`, when given, names
the events one exercise must write, in order (it then fixes `events`), so the Case proves the route did
what it is for and not something else that happens to write an event. Set
`liaison_may=True` only for what a liaison may do (questions, exports); for every other route the
liaison test checks that a liaison's post changes no financial row and writes no event.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from flask import g
from sqlalchemy import func, select

import audit
from finance.approval_policy.models import RoutingPolicy
from finance.auth import services as accounts
from finance.auth.models import RoleAssignment, User
from finance.extensions import db as ext_db
from finance.orgs.models import OrgUnit
from finance.oversight import services as oversight
from finance.payment_requests.models import Attachment, PaymentRequest, RequestAction
from finance.payments.models import Payment
from finance.roles import Role
from finance.timefmt import today_local
from finance.workflow import State
from tests import factories as f
from tests.conftest import PASSWORD

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
# GET routes that record an event (a liaison's view)
WRITING_GETS = {"oversight.attachment", "api.get_attachment", "api.export_requests_csv"}


@dataclass
class Case:
    user: str | None
    setup: Callable[[], dict[str, Any]] = dict
    form: Callable[[dict[str, Any]], dict[str, Any]] = field(default=lambda v: {})
    events: int = 1
    why: str = ""
    method: str = "POST"
    liaison_may: bool = False
    actions: tuple[str, ...] = ()
    json: bool = False  # an API route (/api/v1): a token, an Idempotency-Key, and `form` sent as JSON

    def __post_init__(self) -> None:
        if self.actions:
            self.events = len(self.actions)


def _pending() -> dict[str, Any]:
    return {"request_id": f.in_state(State.PENDING).id}


def _something_to_export() -> dict[str, Any]:
    f.in_state(State.PENDING)
    return {}


def _attachment() -> dict[str, Any]:
    return {"attachment_id": f.in_state(State.PENDING).attachments[0].id}


def _question() -> dict[str, Any]:
    req = f.in_state(State.APPROVED)
    q = oversight.ask_question(
        f.user("yc_lianqing"), req, "请说明收款人资质。", today_local() + timedelta(days=7)
    )
    ext_db.session.commit()
    return {"question_id": q.id}


def _failed_delivery() -> dict[str, Any]:
    from finance.notices import services as notices
    from finance.notices.models import DeliveryState, NoticeDelivery

    notices.save_settings(f.user("dy_shuji"), notices.SettingsInput(sms_on=True, mobile="13900000001"))
    f.in_state(State.PENDING)
    delivery = ext_db.session.execute(select(NoticeDelivery)).scalars().first()
    delivery.state, delivery.last_error = DeliveryState.FAILED, "HTTP 400 bad number"
    ext_db.session.commit()
    return {"delivery_id": delivery.id}


def _delegation() -> dict[str, Any]:
    from finance.delegations import services as delegations

    d = delegations.create(f.user("dy_shuji"), delegations.DelegationInput(
        role=Role.VILLAGE_LEAD.value, delegate_id=f.user("xy_shuji").id, village_ids=[f.unit("HL-YC-01").id],
        starts_on=today_local(), ends_on=today_local() + timedelta(days=3)))
    ext_db.session.commit()
    return {"delegation_id": d.id}


def _deadline() -> str:
    return (today_local() + timedelta(days=5)).isoformat()


def _key() -> str:
    return uuid.uuid4().hex


def _request(v: dict[str, Any]) -> PaymentRequest:
    req = ext_db.session.get(PaymentRequest, v["request_id"])
    assert req is not None
    return req


def _in(state: State) -> Callable[[], dict[str, Any]]:
    return lambda: {"request_id": f.in_state(state).id}


def _chain() -> dict[str, Any]:
    f.in_state(State.PENDING)
    return {"chain_id": "village:HL-YC-01"}


def _token() -> dict[str, Any]:
    from finance.api import tokens

    token, _secret = tokens.create_token(f.user("dy_baozhang"), "旧令牌", 30, by=f.user("dy_baozhang"))
    ext_db.session.commit()
    return {"token_id": token.id}


def _api_token(endpoint: str, username: str | None) -> str | None:
    """For an API route, a token of `username` (made before the events are counted: it is an event too)."""
    if not endpoint.startswith("api.") or username is None:
        return None
    from finance.api import tokens

    user = f.user(username)
    _row, secret = tokens.create_token(user, "audit routes", 1, by=user)
    ext_db.session.commit()
    return secret


def _send(app: Any, client: Any, endpoint: str, case: Case, values: dict[str, Any], secret: str | None,
          form: dict[str, Any]) -> Any:
    """Post the case's form as a page would, or, for an API route, as an API client with `secret` would."""
    url = _url(app, endpoint, values)
    if not url.startswith("/api/"):
        return client.open(url, method=case.method, data=form)
    headers = {"Authorization": f"Bearer {secret}", "Idempotency-Key": _key()}
    form = {k: v for k, v in form.items() if k != "client_key"}
    if case.json:
        return client.open(url, method=case.method, json=form, headers=headers, csrf=False)
    return client.open(url, method=case.method, data=form or None, headers=headers, csrf=False)


def _draft_attachment() -> dict[str, Any]:
    req = f.draft()
    return {"request_id": req.id, "attachment_id": req.attachments[0].id}


def _request_form(**overrides: Any) -> dict[str, Any]:
    """The request form as the accountant's browser posts it (see tests/test_request_pages.py)."""
    return {
        "payee_name": "濮阳市华龙区兴农农资经营部",
        "payee_bank": "中国农业银行濮阳华龙支行",
        "payee_account": "6228 4800 1234 5678 901",
        "amount": "1,234.50",
        "purpose": "购买村内道路绿化苗木 120 株",
        "subject_id": str(f.subject("5501").id),
        "fund_source": "村集体经营收入",
        "budget_line": "2026年度公益支出预算",
        "meeting_date": "",
        "meeting_attendance": "",
        "meeting_amount": "",
        "client_key": _key(),
        "action": "save",
        **overrides,
    }


def _photo(color: str = "white") -> tuple[io.BytesIO, str]:
    return io.BytesIO(f.jpeg_bytes(color=color)), "photo.jpg"


def _pay_form(v: dict[str, Any]) -> dict[str, Any]:
    """What the cashier's pay page posts: the approved figures, a bank reference and the receipt."""
    req = _request(v)
    return {
        "bank_reference": f"NYH{uuid.uuid4().hex[:14].upper()}",
        "value_date": today_local().isoformat(),
        "amount": f"{req.amount:.2f}",
        "payee_name": req.payee_name,
        "payee_account": req.payee_account,
        "payer_account": req.village.bank_account,
        "client_key": _key(),
        "version": str(req.version),
        "receipt": _photo("lightblue"),
    }


def _user_id(username: str) -> Callable[[], dict[str, Any]]:
    return lambda: {"user_id": f.user(username).id}


def _second_role() -> dict[str, Any]:
    """dy_shuji with a second role (a user keeps at least one), to remove it again."""
    shuji = f.user("dy_shuji")
    added = accounts.assign_role(shuji, Role.LIAISON, f.unit("HL-YC-02"))
    ext_db.session.commit()
    return {"user_id": shuji.id, "assignment_id": added.id}


def _policy_form(v: dict[str, Any]) -> dict[str, Any]:
    """A policy for 岳村镇 that differs from the seeded one (the head signs from 30,000, not 50,000)."""
    steps = ["village_lead", "village_supervisor", "agency_reviewer", "township_leader", "township_head"]
    amounts = ["", "", "", "10000", "30000"]
    data = {"major_threshold": "50000"}
    for n, (role, amount) in enumerate(zip(steps, amounts, strict=True)):
        data |= {f"steps-{n}-order": str(n + 1), f"steps-{n}-role": role, f"steps-{n}-min_amount": amount,
                 f"steps-{n}-subjects": ""}
    for n, (kind, amount) in enumerate([("invoice", ""), ("contract", "10000"), ("minutes", "50000")]):
        data |= {f"attachments-{n}-kind": kind, f"attachments-{n}-min_amount": amount,
                 f"attachments-{n}-subjects": ""}
    return data


def _policy_json(v: dict[str, Any]) -> dict[str, Any]:
    """The same change as _policy_form, as the API takes it."""
    steps = ["village_lead", "village_supervisor", "agency_reviewer", "township_leader", "township_head"]
    amounts = [None, None, None, "10000", "30000"]
    return {"major_threshold": "50000",
            "steps": [{"role": r, "min_amount": a} for r, a in zip(steps, amounts, strict=True)],
            "attachments": [{"kind": k, "min_amount": a} for k, a in [("invoice", None), ("contract", "10000"),
                                                                       ("minutes", "50000")]]}


def _invited() -> int:
    person = accounts.create_invited_user(username=f"imp_{uuid.uuid4().hex[:8]}", display_name="待激活")
    accounts.assign_role(person, Role.LIAISON, f.unit("HL-YC-01"))
    ext_db.session.commit()
    return person.id


def _activation() -> dict[str, Any]:
    from finance.auth import activation

    person = accounts.create_invited_user(username=f"imp_{uuid.uuid4().hex[:8]}", display_name="导入者")
    accounts.assign_role(person, Role.LIAISON, f.unit("HL-YC-01"))
    code = activation.issue(person)
    ext_db.session.commit()
    return {"code": code}

# --- the bank (issue 10) -------------------------------------------------------------------------------------

_BANK: dict[str, Any] = {}  # what a bank setup made that the form needs (the chosen payment)


def _statement_csv(lines: list[Any]) -> tuple[io.BytesIO, str]:
    from finance.bank import queries as bank_queries
    from tests.bank_helpers import statement_of

    acct = bank_queries.accounts_of(f.unit("HL-YC-01"))[0]
    return io.BytesIO(statement_of(acct, lines).csv()), "statement.csv"


def _bank_account() -> dict[str, Any]:
    from tests.bank_helpers import account

    account()
    ext_db.session.commit()
    return {}


def _bank_account_id() -> dict[str, Any]:
    from tests.bank_helpers import account

    acct = account()
    ext_db.session.commit()
    return {"account_id": acct.id}


def _bank_proposal() -> dict[str, Any]:
    from finance.bank import queries as bank_queries
    from finance.bank import services as bank
    from finance.payments.queries import payment_of
    from tests.bank_helpers import account, line_for, statement_of

    payment = payment_of(f.in_state(State.PAID))
    bank.import_statement(f.user("yc_chuna"), statement_of(account(), [line_for(payment)]).csv(), "s.csv")
    ext_db.session.commit()
    return {"match_id": bank_queries.payment_match(payment).id}


def _bank_unmatched_line() -> dict[str, Any]:
    from finance.bank import services as bank
    from finance.bank.models import StatementLine
    from finance.payments.queries import payment_of
    from tests.bank_helpers import account, line_for, statement_of

    payment = payment_of(f.in_state(State.PAID))
    line = line_for(payment, serial="MANUAL" + uuid.uuid4().hex[:8].upper(), account_number="6200000000009999")
    bank.import_statement(f.user("yc_chuna"), statement_of(account(), [line]).csv(), "s.csv")
    ext_db.session.commit()
    _BANK["payment_id"] = payment.id
    row = ext_db.session.execute(select(StatementLine).where(StatementLine.serial == line.serial)).scalar_one()
    return {"line_id": row.id}


def _bank_exception() -> dict[str, Any]:
    from decimal import Decimal

    from finance.bank import services as bank
    from finance.bank.models import BankException
    from tests.bank_helpers import Line, account, statement_of

    stray = Line(today_local(), "STRAY" + uuid.uuid4().hex[:6].upper(), debit=Decimal("360.00"), name="某人",
                 account="6217000000001111")
    bank.import_statement(f.user("yc_shenhe"), statement_of(account(), [stray]).csv(), "s.csv")
    ext_db.session.commit()
    return {"exception_id": ext_db.session.execute(select(BankException)).scalars().first().id}


def _bank_paid_long_ago() -> dict[str, Any]:
    from decimal import Decimal

    from finance.bank import services as bank

    f.in_state(State.PAID)
    bank.set_settings(f.user("yc_shenhe"), f.unit("HL-YC"), fee_words="手续费", fee_limit=Decimal("200"),
                      interest_words="利息", interest_limit=Decimal("5000"), paid_grace_days=0,
                      mask_public_names=True)
    ext_db.session.commit()
    return {"code": "HL-YC-01"}


def _bank_month() -> dict[str, Any]:
    from tests.bank_helpers import account

    last = (today_local().replace(day=1) - timedelta(days=1)).replace(day=1)
    account(opening_date=last)
    ext_db.session.commit()
    return {"code": "HL-YC-01", "period": f"{last:%Y-%m}"}


def _bank_receipt_village() -> dict[str, Any]:
    _bank_account()
    return {"code": "HL-YC-01"}


def _bank_fee_file(v: dict[str, Any]) -> dict[str, Any]:
    from decimal import Decimal

    from tests.bank_helpers import Line

    return {"file": _statement_csv([Line(today_local(), "FEE" + uuid.uuid4().hex[:6].upper(),
                                         debit=Decimal("2.00"), summary="手续费")])}


def _receipt_form(v: dict[str, Any]) -> dict[str, Any]:
    from finance.bank import queries as bank_queries

    acct = bank_queries.accounts_of(f.unit("HL-YC-01"))[0]
    return {"payer_name": "张三", "amount": "1200.00", "type": "rent", "received_on": today_local().isoformat(),
            "account_id": str(acct.id), "client_key": _key()}


ROUTES: dict[str, Case] = {
    # auth
    "auth.activate": Case(
        None,
        setup=_activation,
        form=lambda v: {"code": v["code"], "new": "huanghe-dike-7391", "confirm": "huanghe-dike-7391"},
        actions=("account_activate",),
    ),
    "auth.login": Case(
        None,
        form=lambda v: {"username": "dy_baozhang", "password": PASSWORD},
        events=0,
        why="a login changes no governed record (failures are kept only for throttling)",
    ),
    "auth.logout": Case("dy_baozhang", events=0, why="ends a session; changes no record"),
    "imports.index": Case(
        "hl_admin",
        form=lambda v: {"kind": "subjects",
                        "file": (io.BytesIO("科目编码,科目名称,类别\n551,其他支出,损益\n".encode()), "chart.csv")},
        actions=("subject_create", "import"),
        why="an import writes one event per record it adds, then the import's own event",
    ),
    "orgs.new_activation": Case(
        "hl_admin",
        setup=lambda: {"user_id": _invited()},
        actions=("activation_issue",),
    ),
    "auth.change_password": Case(
        "dy_baozhang",
        form=lambda v: {"current": PASSWORD, "new": "huanghe-dike-7391", "confirm": "huanghe-dike-7391"},
    ),
    # oversight
    "oversight.download_checkpoints": Case(
        "yc_lianqing", setup=lambda: {"chain_id": "village:HL-YC-01"}, liaison_may=True
    ),
    "oversight.export_requests": Case(
        "yc_lianqing",
        setup=lambda: _pending() and {},
        liaison_may=True,
        form=lambda v: {"village": str(f.unit("HL-YC-01").id)},
    ),
    "oversight.ask": Case(
        "yc_lianqing",
        setup=_pending,
        liaison_may=True,
        form=lambda v: {"text": "为何分两笔支付？", "deadline": _deadline()},
    ),
    "oversight.answer": Case("yc_shenhe", setup=_question, form=lambda v: {"answer": "已核实。"}),
    "oversight.attachment": Case("yc_lianqing", setup=_attachment, method="GET", liaison_may=True),
    # payment requests (the accountant's form and attachments, then each workflow action)
    "payment_requests.new": Case(
        "dy_baozhang",
        # a person on a labour slip: a 发票 needs its facts typed before it is submitted (issue 11)
        form=lambda v: _request_form(action="submit", kind="labour_slip", payee_name="李卫东", file=_photo()),
        actions=("create", "attachment_add", "submit"),
        why="保存并提交 with a photo makes three changes: the draft, its attachment, and the submission "
        "(the draft is committed before it is submitted, so a refused submission keeps it)",
    ),
    "payment_requests.edit": Case(
        "dy_baozhang",
        setup=_in(State.RETURNED),
        form=lambda v: _request_form(amount="1,100.00", action="submit"),
        actions=("edit", "submit"),
        why="correcting a returned request and resubmitting it: the edit and the new round are two changes",
    ),
    "payment_requests.upload": Case(
        "dy_baozhang",
        setup=_in(State.DRAFT),
        form=lambda v: {"kind": "acceptance", "file": _photo("green"), "back": "edit"},
        actions=("attachment_add",),
    ),
    "payment_requests.delete_attachment": Case(
        "dy_baozhang", setup=_draft_attachment, actions=("attachment_remove",)
    ),
    "payment_requests.submit": Case(
        "dy_baozhang", setup=_in(State.DRAFT), form=lambda v: {"client_key": _key()}, actions=("submit",)
    ),
    "payment_requests.discard": Case(
        "dy_baozhang", setup=_in(State.DRAFT), form=lambda v: {"client_key": _key()}, actions=("discard",)
    ),
    "payment_requests.withdraw": Case(
        "dy_baozhang", setup=_pending, form=lambda v: {"client_key": _key()}, actions=("withdraw",)
    ),
    "payment_requests.approve": Case(
        "dy_shuji",
        setup=_pending,
        form=lambda v: {"client_key": _key(), "comment": "同意", "version": str(_request(v).version)},
        actions=("approve",),
    ),
    "payment_requests.return_": Case(
        "dy_shuji",
        setup=_pending,
        form=lambda v: {"client_key": _key(), "reason": "请补充验收单"},
        actions=("return",),
    ),
    "payment_requests.reject": Case(
        "dy_shuji",
        setup=_pending,
        form=lambda v: {"client_key": _key(), "reason": "不符合村级支出范围"},
        actions=("reject",),
    ),
    # payments (the cashier)
    "payments.pay": Case("yc_chuna", setup=_in(State.APPROVED), form=_pay_form, actions=("pay",)),
    # the bank (issue 10): the agency reviewer reconciles, the accountant registers receipts
    "bank.import_statement": Case("yc_shenhe", setup=_bank_account, form=_bank_fee_file,
                                  actions=("statement_import",)),
    "bank.confirm": Case("yc_shenhe", setup=_bank_proposal, form=lambda v: {"village": "HL-YC-01"},
                         actions=("reconcile",)),
    "bank.unmatch": Case("yc_shenhe", setup=_bank_proposal,
                         form=lambda v: {"village": "HL-YC-01", "reason": "不是这笔"}, actions=("match_unmatch",)),
    "bank.match_line": Case("yc_shenhe", setup=_bank_unmatched_line,
                            form=lambda v: {"village": "HL-YC-01", "choice": f"p:{_BANK['payment_id']}"},
                            actions=("reconcile",)),
    "bank.close_exception": Case("yc_shenhe", setup=_bank_exception, form=lambda v: {"reason": "补办申请"},
                                 actions=("bank_exception_close",)),
    "bank.check": Case("yc_shenhe", setup=_bank_paid_long_ago, actions=("bank_exception_raise",)),
    "bank.accounts": Case("yc_shenhe", setup=lambda: {"code": "HL-YC-02"}, form=lambda v: {
        "number": "623059 0011 2233 4402", "name": "西岳村股份经济合作社", "kind": "basic",
        "opening_date": today_local().replace(day=1).isoformat(), "opening_balance": "1000.00"},
        actions=("bank_account_set",)),
    "bank.receipts": Case("dy_baozhang", setup=_bank_receipt_village, form=_receipt_form,
                          actions=("receipt_record",)),
    "bank.close_month": Case("yc_shenhe", setup=_bank_month, actions=("month_close",)),
    # district admin (the system chain)
    "orgs.new_unit": Case(
        "hl_admin",
        setup=lambda: {"parent_id": f.unit("HL-YC").id},
        form=lambda v: {
            "code": "HL-YC-09",
            "name": "新岳村",
            "bank_name": "中国农业银行濮阳华龙支行",
            "bank_account": "6228 4800 9999 0009",
            "bank_account_name": "新岳村股份经济合作社",
        },
        actions=("org_create",),
    ),
    "orgs.new_user": Case(
        "hl_admin",
        form=lambda v: {
            "username": "dy_kuaiji2",
            "display_name": "赵红梅",
            "phone": "13900000000",
            "password": "start-pass-1",
            "role": "accountant",
            "org_unit": f.unit("HL-YC-01").id,
        },
        actions=("user_create", "role_assign"),
        why="a new user always comes with a first role: the account and the role are two governed records "
        "(the role can later be removed on its own, with its own event)",
    ),
    "orgs.add_role": Case(
        "hl_admin",
        setup=_user_id("dy_shuji"),
        form=lambda v: {"role": "liaison", "org_unit": f.unit("HL-YC-02").id},
        actions=("role_assign",),
    ),
    "orgs.remove_role": Case("hl_admin", setup=_second_role, actions=("role_remove",)),
    "orgs.set_active": Case(
        "hl_admin", setup=_user_id("dy_shuji"), form=lambda v: {"active": "0"}, actions=("user_deactivate",)
    ),
    "orgs.policy": Case(
        "hl_admin",
        setup=lambda: {"unit_id": f.unit("HL-YC").id},
        form=_policy_form,
        actions=("policy_publish",),
    ),
    # notices (a person's own settings; the admin's reminder rules and sending a failed notice again)
    "notices.settings": Case(
        "dy_shuji", form=lambda v: {"sms_on": "1", "mobile": "13900000001"}, actions=("notice_settings",),
        liaison_may=True,  # their own notice settings: no financial record
    ),
    "notices.set_policy": Case(
        "hl_admin", setup=lambda: {"township_id": f.unit("HL-YC").id},
        form=lambda v: {"remind_after": "3", "escalate_after": "5"}, actions=("notice_policy",),
    ),
    "notices.retry": Case("hl_admin", setup=_failed_delivery, actions=("notice_retry",)),
    # delegation (代理审批): naming a delegate, ending one early
    "delegations.index": Case(
        "dy_shuji",
        form=lambda v: {"role": "village_lead", "delegate": str(f.user("xy_shuji").id),
                        "villages": str(f.unit("HL-YC-01").id), "starts_on": today_local().isoformat(),
                        "ends_on": (today_local() + timedelta(days=3)).isoformat()},
        actions=("delegation_create",),
    ),
    "delegations.end": Case("dy_shuji", setup=_delegation, actions=("delegation_end",)),
    # controls (issue 11): the register and the 负面清单 (admin), resolutions, contracts, invoice facts, links
    "controls.official": Case(
        "hl_admin", setup=_user_id("dy_shuji"),
        form=lambda v: {"form": "add", "name": "王小明", "relation": "child", "accounts": "6228480012340000111"},
        actions=("register_add",),
    ),
    "controls.person": Case(
        "hl_admin", setup=lambda: _register_line(),
        form=lambda v: {"name": "王小明", "relation": "child", "accounts": "6228480012340000111", "note": "长子"},
        actions=("register_update",),
    ),
    "controls.remove_person": Case(
        "hl_admin", setup=lambda: _register_line(), form=lambda v: {"reason": "登记错误"},
        actions=("register_remove",),
    ),
    "controls.negative_list": Case(
        "hl_admin", setup=lambda: {"unit_id": f.unit("HL-YC").id},
        form=lambda v: {"item": "烟酒", "keywords": "烟酒 香烟", "action": "refuse"}, actions=("negative_list_add",),
    ),
    "controls.control_policy": Case(
        "hl_admin", setup=lambda: {"unit_id": f.unit("HL-YC").id},
        form=lambda v: {"window_days": "45", "quorum": "2/3", "image_distance": "6", "salary_subjects": "",
                        "committee_village_supervisor": "1", "committee_village_lead": "1"},
        actions=("control_policy_publish",),
    ),
    "controls.originals": Case("yc_shenhe", setup=_in(State.APPROVED), actions=("originals_received",)),
    "controls.remove_negative_item": Case(
        "hl_admin", setup=lambda: _negative_item(), actions=("negative_list_remove",),
    ),
    "controls.new_resolution": Case(
        "dy_baozhang",
        form=lambda v: {"matter": "主街硬化工程", "matter_kind": "works", "meeting_date": today_local().isoformat(),
                        "expected": "40", "present": "35", "amount": "80000", "minutes": _photo("gray"),
                        "publicity": _photo("silver")},
        actions=("resolution_create",),
    ),
    "controls.resolution": Case(
        "dy_baozhang", setup=lambda: _resolution(), form=lambda v: {"result": _photo("gold")},
        actions=("resolution_result",),
    ),
    "controls.new_contract": Case(
        "dy_baozhang",
        form=lambda v: {"title": "施工合同", "counterparty": "宏基建筑", "amount": "30000",
                        "signed_on": today_local().isoformat(), "resolution_id": "", "file": _photo("tan")},
        actions=("contract_create",),
    ),
    "controls.invoice": Case(
        "dy_baozhang", setup=lambda: {"attachment_id": f.draft().attachments[0].id},
        form=lambda v: {"number": "25412000000012345678", "invoice_date": today_local().isoformat(),
                        "seller": "濮阳市华龙区兴农农资经营部", "amount": "1200"},
        actions=("invoice_record",),
    ),
    "controls.link": Case(
        "dy_baozhang", setup=_in(State.DRAFT), form=lambda v: {"payee_id_number": "11010519491231002X"},
        actions=("request_link",),
    ),
    # the controls through the API (finance/controls/api.py): the same services and events as these pages
    "api.create_resolution": Case(
        "dy_baozhang",
        form=lambda v: {"matter": "主街硬化工程", "matter_kind": "works", "meeting_date": today_local().isoformat(),
                        "expected": "40", "present": "35", "amount": "80000", "minutes": _photo("gray"),
                        "publicity": _photo("silver")},
        actions=("resolution_create",),
    ),
    "api.add_result_publicity": Case("dy_baozhang", setup=lambda: _resolution(),
                                     form=lambda v: {"result": _photo("gold")}, actions=("resolution_result",)),
    "api.create_contract": Case(
        "dy_baozhang",
        form=lambda v: {"title": "施工合同", "counterparty": "宏基建筑", "amount": "30000",
                        "signed_on": today_local().isoformat(), "file": _photo("tan")},
        actions=("contract_create",),
    ),
    "api.put_link": Case("dy_baozhang", method="PUT", json=True, setup=_in(State.DRAFT),
                         form=lambda v: {"payee_id_number": "11010519491231002X"}, actions=("request_link",)),
    "api.mark_originals": Case("yc_shenhe", json=True, setup=_in(State.APPROVED), actions=("originals_received",)),
    "api.set_own_identity": Case("hl_admin", method="PUT", json=True, setup=_user_id("dy_shuji"),
                                 form=lambda v: {"accounts": ["6228480099990000"]}, actions=("register_add",)),
    "api.add_related_person": Case(
        "hl_admin", json=True, setup=_user_id("dy_shuji"),
        form=lambda v: {"name": "王小明", "relation": "child", "accounts": ["6228480012340000111"]},
        actions=("register_add",),
    ),
    "api.edit_related_person": Case(
        "hl_admin", method="PUT", json=True, setup=lambda: _register_line(),
        form=lambda v: {"name": "王小明", "relation": "child", "accounts": ["6228480012340000111"], "note": "长子"},
        actions=("register_update",),
    ),
    "api.remove_related_person": Case("hl_admin", json=True, setup=lambda: _register_line(),
                                      form=lambda v: {"reason": "登记错误"}, actions=("register_remove",)),
    "api.add_negative_item": Case(
        "hl_admin", json=True, setup=lambda: {"code": "HL-YC"},
        form=lambda v: {"item": "烟酒", "keywords": ["烟酒", "香烟"], "action": "refuse"},
        actions=("negative_list_add",),
    ),
    "api.remove_negative_item": Case("hl_admin", method="DELETE", setup=lambda: _negative_item(),
                                     actions=("negative_list_remove",)),
    "api.put_control_policy": Case(
        "hl_admin", method="PUT", json=True, setup=lambda: {"code": "HL-YC"},
        form=lambda v: {"window_days": 45, "quorum": "2/3", "image_distance": 6, "salary_subjects": [],
                        "committee_village_supervisor": 1, "committee_village_lead": 1,
                        "originals_before_payment": False},
        actions=("control_policy_publish",),
    ),
    "flags.clear": Case("yc_lianqing", setup=lambda: _flag(), form=lambda v: {"reason": "核实为正常采购。"},
                        actions=("flag_clear",), liaison_may=True),
    "flags.ask": Case("yc_lianqing", setup=lambda: _flag(),
                      form=lambda v: {"text": "请说明金额依据。", "deadline": _deadline()},
                      actions=("question_ask", "flag_ask"), liaison_may=True,
                      why="需问询 opens a question (its own event) and marks the flag asked"),
    "flags.hold": Case("yc_lianqing", setup=_in(State.APPROVED), form=lambda v: {"hold_reason": "待问询答复"},
                       actions=("payment_hold",), liaison_may=True),
    "flags.lift": Case("yc_lianqing", setup=lambda: _hold(), form=lambda v: {"lift_reason": "已核实"},
                       actions=("payment_hold_lift",), liaison_may=True),
    # the JSON API (issue 13): a token of the user, the same services and events as the pages
    "api.create_request": Case("dy_baozhang", json=True, form=lambda v: {"purpose": "苗木", "amount": "12.00"},
                               actions=("create",)),
    "api.edit_request": Case("dy_baozhang", method="PUT", json=True, setup=_in(State.DRAFT),
                             form=lambda v: {"purpose": "改", "amount": "13.00"}, actions=("edit",)),
    "api.upload_attachments": Case("dy_baozhang", setup=_in(State.DRAFT),
                                   form=lambda v: {"kind": "other", "file": _photo("pink")},
                                   actions=("attachment_add",)),
    "api.delete_attachment": Case("dy_baozhang", method="DELETE", setup=_draft_attachment,
                                  actions=("attachment_remove",)),
    "api.record_invoice": Case("dy_baozhang", method="PUT", json=True, setup=_draft_attachment,
                               form=lambda v: {"number": "24412000000099999999", "seller": "兴农",
                                               "invoice_date": today_local().isoformat(), "amount": "1200.00"},
                               actions=("invoice_record",)),
    "api.submit_request": Case("dy_baozhang", json=True, setup=_in(State.DRAFT), actions=("submit",)),
    "api.approve_request": Case("dy_shuji", json=True, setup=_pending, form=lambda v: {"comment": "同意"},
                                actions=("approve",)),
    "api.return_request": Case("dy_shuji", json=True, setup=_pending, form=lambda v: {"reason": "补"},
                               actions=("return",)),
    "api.reject_request": Case("dy_shuji", json=True, setup=_pending, form=lambda v: {"reason": "否"},
                               actions=("reject",)),
    "api.withdraw_request": Case("dy_baozhang", json=True, setup=_pending, actions=("withdraw",)),
    "api.pay_request": Case("yc_chuna", setup=_in(State.APPROVED),
                            form=lambda v: {k: x for k, x in _pay_form(v).items() if k not in ("client_key",)},
                            actions=("pay",)),
    "api.import_file": Case("hl_admin",
                            form=lambda v: {"kind": "subjects",
                                            "file": (io.BytesIO("科目编码,科目名称,类别\n561,投资收益,损益\n".encode()),
                                                     "chart.csv")},
                            actions=("subject_create", "import"),
                            why="an import writes one event per record it adds, then the import's own event"),
    # the bank through the API (issue 10): 已对账 only through a confirmed statement match (no reconcile route)
    "api.import_statement": Case("yc_shenhe", setup=_bank_account, form=_bank_fee_file,
                                 actions=("statement_import",)),
    "api.confirm_match": Case("yc_shenhe", json=True, setup=_bank_proposal, actions=("reconcile",)),
    "api.unmatch": Case("yc_shenhe", json=True, setup=_bank_proposal, form=lambda v: {"reason": "不是这笔"},
                        actions=("match_unmatch",)),
    "api.choose": Case("yc_shenhe", json=True, setup=_bank_unmatched_line,
                       form=lambda v: {"payment_id": _BANK["payment_id"]}, actions=("reconcile",)),
    "api.close_exception": Case("yc_shenhe", json=True, setup=_bank_exception, form=lambda v: {"reason": "补办"},
                                actions=("bank_exception_close",)),
    "api.record_receipt": Case("dy_baozhang", json=True, setup=_bank_account, form=lambda v: {
        "village_id": f.unit("HL-YC-01").id, **{k: (int(x) if k == "account_id" else x)
                                                for k, x in _receipt_form(v).items() if k != "client_key"}},
                               actions=("receipt_record",)),
    # the books through the API (finance/api/endpoints_books.py)
    "api.create_bank_account": Case("yc_shenhe", json=True, form=lambda v: {
        "village_id": f.unit("HL-YC-02").id, "number": "623059 0011 2233 4402", "name": "西岳村股份经济合作社",
        "opening_date": today_local().replace(day=1).isoformat(), "opening_balance": "1000.00"},
        actions=("bank_account_set",)),
    "api.change_bank_account": Case("yc_shenhe", method="PUT", json=True, setup=_bank_account_id, form=lambda v: {
        "name": "东岳村股份经济合作社", "opening_date": today_local().replace(day=1).isoformat(),
        "opening_balance": "1200.00", "reason": "按银行回单更正"}, actions=("bank_account_set",)),
    "api.close_bank_month": Case("yc_shenhe", json=True, setup=_bank_month, actions=("month_close",)),
    "api.check_bank_village": Case("yc_shenhe", json=True, setup=_bank_paid_long_ago,
                                   actions=("bank_exception_raise",)),
    "api.discard_request": Case("dy_baozhang", json=True, setup=_in(State.DRAFT), actions=("discard",)),
    "api.export_requests_csv": Case("yc_lianqing", setup=lambda: _pending() and {}, method="GET",
                                    liaison_may=True, actions=("liaison_export",)),
    "api.ask_question": Case("yc_lianqing", json=True, setup=_pending, liaison_may=True,
                             form=lambda v: {"text": "为何分两笔支付？", "deadline": _deadline()},
                             actions=("question_ask",)),
    "api.answer_question": Case("yc_shenhe", json=True, setup=_question, form=lambda v: {"answer": "已核实。"},
                                actions=("question_answer",)),
    "api.clear_flag": Case("yc_lianqing", json=True, setup=lambda: _flag(), liaison_may=True,
                           form=lambda v: {"reason": "核实为正常采购。"}, actions=("flag_clear",)),
    "api.ask_flag": Case("yc_lianqing", json=True, setup=lambda: _flag(), liaison_may=True,
                         form=lambda v: {"text": "请说明金额依据。", "deadline": _deadline()},
                         actions=("question_ask", "flag_ask"),
                         why="需问询 opens a question (its own event) and marks the flag asked"),
    "api.export_checkpoints": Case("yc_lianqing", json=True, setup=_chain, liaison_may=True,
                                   actions=("liaison_export",)),
    "api.get_attachment": Case("yc_lianqing", setup=_attachment, method="GET", liaison_may=True,
                               actions=("liaison_view_attachment",)),
    # the oversight side of the API: holds, thresholds, delegations, notices (the pages' services and events)
    "api.hold_request": Case("yc_lianqing", json=True, setup=_in(State.APPROVED), liaison_may=True,
                             form=lambda v: {"reason": "待问询答复"}, actions=("payment_hold",)),
    "api.lift_hold": Case("yc_lianqing", json=True, setup=lambda: _hold(), liaison_may=True,
                          form=lambda v: {"reason": "已核实"}, actions=("payment_hold_lift",)),
    "api.set_flag_policy": Case("hl_admin", method="PUT", json=True, setup=lambda: {"code": "HL-YC"},
                                form=lambda v: {"thresholds": {"fast_seconds": 90}}, actions=("flag_policy_publish",)),
    "api.create_delegation": Case(
        "dy_shuji", json=True,
        form=lambda v: {"role": "village_lead", "delegate": f.user("xy_shuji").id, "villages": [f.unit("HL-YC-01").id],
                        "starts_on": today_local().isoformat(),
                        "ends_on": (today_local() + timedelta(days=3)).isoformat()},
        actions=("delegation_create",)),
    "api.end_delegation": Case("dy_shuji", json=True, setup=_delegation, actions=("delegation_end",)),
    "api.save_notice_settings": Case("dy_shuji", method="PUT", json=True, liaison_may=True,
                                     form=lambda v: {"sms_on": True, "mobile": "13900000001"},
                                     actions=("notice_settings",)),
    "api.retry_delivery": Case("hl_admin", json=True, setup=_failed_delivery, actions=("notice_retry",)),
    "api.set_notice_policy": Case("hl_admin", method="PUT", json=True, setup=lambda: {"code": "HL-YC"},
                                  form=lambda v: {"remind_after": 3, "escalate_after": 5}, actions=("notice_policy",)),
    # administration through the API (the admin pages' services and events, on the system chain)
    "api.create_admin_user": Case(
        "hl_admin", json=True,
        form=lambda v: {"username": "dy_kuaiji3", "display_name": "钱红英", "password": "start-pass-1",
                        "role": "accountant", "unit_id": f.unit("HL-YC-01").id, "phone": "13900000002"},
        actions=("user_create", "role_assign"),
        why="as the page: the account and its first role are two governed records"),
    "api.set_user_active": Case("hl_admin", json=True, setup=_user_id("dy_shuji"),
                                form=lambda v: {"active": False, "reason": "调离"}, actions=("user_deactivate",)),
    "api.issue_activation": Case("hl_admin", json=True, setup=lambda: {"user_id": _invited()},
                                 actions=("activation_issue",)),
    "api.add_user_role": Case("hl_admin", json=True, setup=_user_id("dy_shuji"),
                              form=lambda v: {"role": "liaison", "unit_id": f.unit("HL-YC-02").id},
                              actions=("role_assign",)),
    "api.remove_user_role": Case("hl_admin", method="DELETE", json=True, setup=_second_role,
                                 actions=("role_remove",)),
    "api.create_admin_unit": Case(
        "hl_admin", json=True,
        form=lambda v: {"parent_id": f.unit("HL-YC").id, "code": "HL-YC-08", "name": "后岳村",
                        "bank_name": "中国农业银行濮阳华龙支行", "bank_account": "6228480099990008",
                        "bank_account_name": "后岳村股份经济合作社"},
        actions=("org_create",)),
    "api.put_routing_policy": Case("hl_admin", method="PUT", json=True, setup=lambda: {"code": "HL-YC"},
                                   form=_policy_json, actions=("policy_publish",)),
    # the API tokens page (the system chain)
    "api_tokens.create": Case("dy_baozhang", form=lambda v: {"name": "手机应用", "days": "30"}, liaison_may=True,
                              actions=("api_token_create",)),
    "api_tokens.revoke": Case("dy_baozhang", setup=_token, actions=("api_token_revoke",)),
}


def _flag() -> dict[str, Any]:
    from finance.flags.models import RiskFlag

    tag = uuid.uuid4().int % 10**10  # a payee of its own: no cumulative band with the case's other requests
    req = f.in_state(State.PENDING, "9880.00", payee_name=f"收款人{tag}", payee_account=f"622202{tag:013d}")
    # just under the 10,000 band: flagged at submit
    flag = ext_db.session.execute(select(RiskFlag).where(RiskFlag.key == f"just_under_band:{req.id}")).scalar_one()
    ext_db.session.commit()
    return {"flag_id": flag.id}


def _hold() -> dict[str, Any]:
    hold = oversight.hold_payment(f.user("yc_lianqing"), f.in_state(State.APPROVED), "待核实")
    ext_db.session.commit()
    return {"hold_id": hold.id}


def _register_line() -> dict[str, Any]:
    from finance.controls import services as controls

    person = controls.add_related_person(f.user("hl_admin"), f.user("dy_shuji"), controls.PersonInput(
        name="王小明", relation="child", accounts="6228480012340000111"))
    ext_db.session.commit()
    return {"person_id": person.id}


def _negative_item() -> dict[str, Any]:
    from finance.controls import services as controls

    item = controls.add_negative_item(f.user("hl_admin"), f.unit("HL-YC"), controls.NegativeItemInput(item="礼品"))
    ext_db.session.commit()
    return {"item_id": item.id}


def _resolution() -> dict[str, Any]:
    from finance.controls import services as controls
    from finance.controls.policy import DEFAULT_CONTROL_RULES

    res = controls.create_resolution(f.user("dy_baozhang"), f.unit("HL-YC-01"), controls.ResolutionInput(
        matter="主街硬化工程", matter_kind="works", meeting_date=today_local(), expected=40, present=35,
        amount="80000", minutes=controls.Upload("m.jpg", f.jpeg_bytes(color="gray")),
        publicity=controls.Upload("p.jpg", f.jpeg_bytes(color="silver"))), DEFAULT_CONTROL_RULES)
    ext_db.session.commit()
    return {"resolution_id": res.id}


def _mutating_endpoints(app: Any) -> set[str]:
    found = {r.endpoint for r in app.url_map.iter_rules() if r.methods and r.methods & MUTATING}
    return found | (WRITING_GETS & set(app.view_functions))


def test_every_mutating_route_is_in_the_table(app):
    missing = sorted(_mutating_endpoints(app) - set(ROUTES))
    assert not missing, (
        f"routes that change data but are not in tests/test_audit_routes.py ROUTES: {missing}; "
        "add a Case for each (see the module docstring)"
    )
    stale = sorted(set(ROUTES) - set(app.view_functions))
    assert not stale, f"ROUTES lists endpoints the app does not have: {stale}"
    for endpoint, case in ROUTES.items():
        assert case.events == 1 or case.why, f"{endpoint}: events={case.events} needs a `why`"
        assert not case.actions or len(case.actions) == case.events, endpoint


def _event_count() -> int:
    return int(ext_db.session.execute(select(func.count(audit.Event.id))).scalar_one())


def _newest_event_id() -> int:
    return int(ext_db.session.execute(select(func.coalesce(func.max(audit.Event.id), 0))).scalar_one())


def _actions_after(event_id: int) -> list[str]:
    """The actions of the events written after `event_id`, in the order they were written."""
    return list(
        ext_db.session.execute(
            select(audit.Event.action).where(audit.Event.id > event_id).order_by(audit.Event.id)
        ).scalars()
    )


def _url(app: Any, endpoint: str, values: dict[str, Any]) -> str:
    with app.test_request_context():
        from flask import url_for

        return url_for(endpoint, **values)


def _client(make_client: Any, username: str | None) -> Any:
    g.pop("csrf_token", None)  # the test's app context is shared by its requests (see test_audit_oversight)
    client = make_client()
    if username:
        assert client.login(username).status_code == 302
        g.pop("csrf_token", None)
    return client


@pytest.mark.parametrize("endpoint", sorted(ROUTES))
def test_route_writes_exactly_one_event_per_change(app, db, make_client, endpoint):
    case = ROUTES[endpoint]
    values = case.setup()
    client = _client(make_client, case.user)
    secret = _api_token(endpoint, case.user)
    before, newest = _event_count(), _newest_event_id()
    response = _send(app, client, endpoint, case, values, secret, case.form(values))
    assert response.status_code in (200, 201, 204, 302, 303), response.get_data(as_text=True)[:500]
    response.close()
    assert _event_count() - before == case.events, _actions_after(newest)
    if case.actions:
        assert _actions_after(newest) == list(case.actions)


def _financial_state() -> tuple[Any, ...]:
    s = ext_db.session
    requests = s.execute(
        select(
            PaymentRequest.id,
            PaymentRequest.state,
            PaymentRequest.amount,
            PaymentRequest.step,
            PaymentRequest.payee_account,
            PaymentRequest.version,
        )
        .execution_options(populate_existing=True)
        .order_by(PaymentRequest.id)
    ).all()
    counts = [
        s.execute(select(func.count()).select_from(m)).scalar_one()
        for m in (RequestAction, Payment, Attachment)
    ]
    return tuple(requests), tuple(counts)


def _org_state() -> tuple[Any, ...]:
    """Users (and whether they may log in), their roles, org units and routing policies: what the admin
    pages change, which a liaison's post must leave alone as well."""
    s = ext_db.session
    users = s.execute(
        select(User.id, User.active, User.session_version, User.password_hash)
        .execution_options(populate_existing=True)
        .order_by(User.id)
    ).all()
    counts = [
        s.execute(select(func.count()).select_from(m)).scalar_one()
        for m in (RoleAssignment, OrgUnit, RoutingPolicy)
    ]
    return tuple(users), tuple(counts)


@pytest.mark.parametrize("endpoint", sorted(ROUTES))
def test_liaison_cannot_change_a_financial_record(app, db, make_client, endpoint):
    case = ROUTES[endpoint]
    if case.user is None or endpoint == "auth.logout":
        return  # routes for anonymous users, and logging out, concern no record
    values = case.setup()
    f.in_state(State.APPROVED)  # something a cashier could pay, a forged post could try
    client = _client(make_client, "yc_lianqing")
    secret = _api_token(endpoint, "yc_lianqing")
    before, events_before = _financial_state(), _event_count()
    org_before = _org_state()
    form = {**case.form(values), "client_key": uuid.uuid4().hex}
    response = _send(app, client, endpoint, case, values, secret, form)
    response.close()
    assert _financial_state() == before
    if endpoint != "auth.change_password":  # their own password (and session) may change, nothing else
        assert _org_state() == org_before
    if not case.liaison_may:
        allowed = 1 if endpoint == "auth.change_password" else 0  # their own password, on the system chain
        assert _event_count() - events_before == allowed
        assert response.status_code in (302, 400, 403, 404, 405, 409) or endpoint == "auth.change_password"


def _confirm_statement_match(user, req):
    """Reconciling is confirming the match of the request's statement line (finance.bank)."""
    from finance.bank import queries as bank_queries
    from finance.bank import services as bank
    from finance.payments.queries import payment_of
    from tests.bank_helpers import account, line_for, statement_of

    payment = payment_of(req)
    bank.import_statement(f.user("yc_chuna"), statement_of(account(), [line_for(payment)]).csv(), "s.csv")
    return bank.confirm_match(user, bank_queries.payment_match(payment).id)


def _service_calls() -> list[tuple[str, State, Callable[[Any, PaymentRequest], Any]]]:
    from finance.attachment_kinds import AttachmentKind
    from finance.payment_requests import services as requests
    from finance.payments import services as payments

    return [
        ("create_draft", State.DRAFT, lambda u, r: requests.create_draft(u, r.village, f.request_input())),
        ("update_draft", State.DRAFT, lambda u, r: requests.update_draft(u, r, f.request_input("9.00"))),
        (
            "add_attachment",
            State.DRAFT,
            lambda u, r: requests.add_attachment(u, r, AttachmentKind.OTHER, "x.jpg", f.jpeg_bytes()),
        ),
        ("remove_attachment", State.DRAFT, lambda u, r: requests.remove_attachment(u, r.attachments[0])),
        ("submit", State.DRAFT, lambda u, r: requests.submit(u, r)),
        ("withdraw", State.PENDING, lambda u, r: requests.withdraw(u, r)),
        ("approve", State.PENDING, lambda u, r: requests.approve(u, r, "同意")),
        ("return", State.PENDING, lambda u, r: requests.return_for_revision(u, r, "退回")),
        ("reject", State.PENDING, lambda u, r: requests.reject(u, r, "驳回")),
        ("record_payment", State.APPROVED, lambda u, r: payments.record_payment(u, r, f.payment_input(r))),
        ("reconcile", State.PAID, _confirm_statement_match),
    ]


@pytest.mark.parametrize("name", [c[0] for c in _service_calls()])
def test_liaison_is_refused_by_every_financial_service(db, name):
    from finance.errors import Forbidden
    from finance.workflow import NotAllowed

    _, state, call = next(c for c in _service_calls() if c[0] == name)
    req = f.in_state(state)
    before, events_before = _financial_state(), _event_count()
    with pytest.raises((Forbidden, NotAllowed)):
        call(f.user("yc_lianqing"), req)
    db.rollback()
    assert _financial_state() == before and _event_count() == events_before


def test_the_pay_event_names_its_receipt(app, db, make_client):
    """The receipt is part of the payment: no `attachment_add` of its own, the one `pay` event carries it."""
    values = _in(State.APPROVED)()
    client = _client(make_client, "yc_chuna")
    newest = _newest_event_id()
    response = client.post(_url(app, "payments.pay", values), data=_pay_form(values))
    assert response.status_code == 303
    event = db.execute(select(audit.Event).where(audit.Event.id > newest)).scalar_one()
    payment = db.execute(select(Payment).where(Payment.request_id == values["request_id"])).scalar_one()
    receipt = payment.receipt
    assert receipt is not None
    assert event.action == "pay" and json.loads(event.attachments) == [receipt.sha256]
    after = json.loads(event.after)
    assert after["attachment"] == {"id": receipt.id, "kind": "receipt", "filename": "photo.jpg", "size": receipt.size}
    assert after["state"] == "paid" and after["payment"]["amount"] == "1200.00"

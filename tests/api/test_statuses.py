"""Every status the OpenAPI document gives an operation is reachable: for each (operation, status) of the
document a request is made that gets exactly that answer, and nothing is documented that no request can
get. Statuses every endpoint shares are reached the same way for all (no token 401, the rate limit 429, an
unknown id 404, no Idempotency-Key 400, a wrong media type 415, an unknown field 422); the others by a
scenario of the operation's own."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from finance.api import spec
from finance.api.framework import api
from finance.oversight import services as oversight
from finance.workflow import State
from tests import factories as f
from tests.api.conftest import ApiClient, make_token

Scenario = Callable[[Callable[[str], ApiClient]], Any]
MP = "multipart/form-data"


_payees = iter(range(1, 10**6))


def _req(state: State) -> Any:
    """A request in `state`, to a payee of its own (the cumulative band of issue 11 counts per payee)."""
    n = next(_payees)
    return f.in_state(state, payee_name=f"濮阳市华龙区第{n}农资经营部", payee_account=f"62284800{n:011d}")


def _invoice(state: State) -> int:
    from finance.attachment_kinds import AttachmentKind

    return next(a.id for a in _req(state).attachments if a.kind == AttachmentKind.INVOICE)


INVOICE = {"number": "24412000000012345679", "invoice_date": date.today().isoformat(), "seller": "兴农",
           "amount": "1200.00"}


def _file() -> dict[str, Any]:
    return {"kind": "other", "file": (io.BytesIO(f.jpeg_bytes(color="green")), "x.jpg")}


def _pay(req: Any) -> dict[str, Any]:
    return {"bank_reference": f"S{uuid.uuid4().hex[:12].upper()}", "value_date": date.today().isoformat(),
            "amount": f"{req.amount:.2f}", "payee_name": req.payee_name, "payee_account": req.payee_account,
            "payer_account": req.village.bank_account, "receipt": (io.BytesIO(f.jpeg_bytes(color="blue")), "r.jpg")}


def _flag() -> int:
    """A flag raised at submit (an amount just under the 10,000 band, to a payee of its own)."""
    from sqlalchemy import select

    from finance.flags.models import RiskFlag

    tag = uuid.uuid4().int % 10**10
    req = f.in_state(State.PENDING, "9880.00", payee_name=f"收款人{tag}", payee_account=f"622202{tag:013d}")
    return int(f.db.session.execute(select(RiskFlag.id).where(RiskFlag.key == f"just_under_band:{req.id}"))
               .scalar_one())


def _twice(as_: Callable[[str], ApiClient], what: str, body: dict[str, Any]) -> Any:
    flag = _flag()
    as_("yc_lianqing").post(f"/flags/{flag}/clear", {"reason": "先核实了"})
    return as_("yc_lianqing").post(f"/flags/{flag}/{what}", body)


def _question() -> Any:
    from finance.extensions import db

    q = oversight.ask_question(f.user("yc_lianqing"), _req(State.PENDING), "?", date.today() + timedelta(days=2))
    db.session.commit()
    return q


def _answered() -> Any:
    from finance.extensions import db

    q = _question()
    oversight.answer_question(f.user("yc_shenhe"), q, "已核")
    db.session.commit()
    return q


def _chart() -> dict[str, Any]:
    return {"kind": "subjects", "file": (io.BytesIO("科目编码,科目名称,类别\n531,其他收入,损益\n".encode()), "c.csv")}


def _import_id() -> int:
    from finance.extensions import db
    from finance.imports import subjects

    outcome = subjects.run("科目编码,科目名称,类别\n521,农业税附加返还收入,损益\n".encode(), "c.csv")
    db.session.commit()
    assert outcome.batch_id is not None
    return outcome.batch_id


def _id(state: State) -> int:
    return _req(state).id


# (endpoint, status) -> the request that gets that answer. `as_` gives an ApiClient of a user.
SCENARIOS: dict[tuple[str, int], Scenario] = {
    ("list_subjects", 200): lambda as_: as_("dy_baozhang").get("/subjects"),
    ("list_requests", 200): lambda as_: as_("dy_baozhang").get("/requests"),
    ("list_requests", 404): lambda as_: as_("hl_admin").get("/requests"),
    ("todo", 200): lambda as_: as_("dy_shuji").get("/todo"),
    ("create_request", 201): lambda as_: as_("dy_baozhang").post("/requests", {"purpose": "x"}),
    ("create_request", 403): lambda as_: as_("yc_lianqing").post("/requests", {"purpose": "x"}),
    ("get_request", 200): lambda as_: as_("dy_baozhang").get(f"/requests/{_id(State.DRAFT)}"),
    ("record_invoice", 200): lambda as_: as_("dy_baozhang").put(f"/attachments/{_invoice(State.DRAFT)}/invoice",
                                                                INVOICE),
    ("record_invoice", 403): lambda as_: as_("yc_lianqing").put(f"/attachments/{_invoice(State.DRAFT)}/invoice",
                                                                INVOICE),
    ("approval_form_pdf", 200): lambda as_: as_("yc_lianqing").get(
        f"/requests/{_id(State.APPROVED)}/approval-form.pdf"),
    ("edit_request", 200): lambda as_: as_("dy_baozhang").put(f"/requests/{_id(State.DRAFT)}", {"purpose": "y"}),
    ("edit_request", 403): lambda as_: as_("yc_lianqing").put(f"/requests/{_id(State.DRAFT)}", {"purpose": "y"}),
    ("edit_request", 409): lambda as_: as_("dy_baozhang").put(f"/requests/{_id(State.PENDING)}", {"purpose": "y"}),
    ("upload_attachments", 201): lambda as_: as_("dy_baozhang").post(
        f"/requests/{_id(State.DRAFT)}/attachments", data=_file(), content_type=MP),
    ("upload_attachments", 403): lambda as_: as_("yc_lianqing").post(
        f"/requests/{_id(State.DRAFT)}/attachments", data=_file(), content_type=MP),
    ("upload_attachments", 409): lambda as_: as_("dy_baozhang").post(
        f"/requests/{_id(State.PENDING)}/attachments", data=_file(), content_type=MP),
    ("delete_attachment", 204): lambda as_: _detach(as_, "dy_baozhang", State.DRAFT),
    ("delete_attachment", 403): lambda as_: _detach(as_, "yc_lianqing", State.DRAFT),
    ("delete_attachment", 409): lambda as_: _detach(as_, "dy_baozhang", State.PENDING),
    ("submit_request", 200): lambda as_: as_("dy_baozhang").post(f"/requests/{_id(State.DRAFT)}/submit"),
    ("submit_request", 403): lambda as_: as_("yc_lianqing").post(f"/requests/{_id(State.DRAFT)}/submit"),
    ("submit_request", 409): lambda as_: as_("dy_baozhang").post(f"/requests/{_id(State.PENDING)}/submit"),
    ("approve_request", 200): lambda as_: as_("dy_shuji").post(f"/requests/{_id(State.PENDING)}/approve"),
    ("approve_request", 403): lambda as_: as_("yc_lianqing").post(f"/requests/{_id(State.PENDING)}/approve"),
    ("approve_request", 409): lambda as_: as_("dy_shuji").post(f"/requests/{_id(State.DRAFT)}/approve"),
    ("return_request", 200): lambda as_: as_("dy_shuji").post(f"/requests/{_id(State.PENDING)}/return",
                                                              {"reason": "补"}),
    ("return_request", 403): lambda as_: as_("yc_lianqing").post(f"/requests/{_id(State.PENDING)}/return",
                                                                 {"reason": "补"}),
    ("return_request", 409): lambda as_: as_("dy_shuji").post(f"/requests/{_id(State.DRAFT)}/return",
                                                              {"reason": "补"}),
    ("reject_request", 200): lambda as_: as_("dy_shuji").post(f"/requests/{_id(State.PENDING)}/reject",
                                                              {"reason": "否"}),
    ("reject_request", 403): lambda as_: as_("yc_lianqing").post(f"/requests/{_id(State.PENDING)}/reject",
                                                                 {"reason": "否"}),
    ("reject_request", 409): lambda as_: as_("dy_shuji").post(f"/requests/{_id(State.DRAFT)}/reject",
                                                              {"reason": "否"}),
    ("withdraw_request", 200): lambda as_: as_("dy_baozhang").post(f"/requests/{_id(State.PENDING)}/withdraw"),
    ("withdraw_request", 403): lambda as_: as_("yc_lianqing").post(f"/requests/{_id(State.PENDING)}/withdraw"),
    ("withdraw_request", 409): lambda as_: as_("dy_baozhang").post(f"/requests/{_id(State.DRAFT)}/withdraw"),
    ("pay_request", 200): lambda as_: _pay_as(as_, "yc_chuna", State.APPROVED),
    ("pay_request", 403): lambda as_: _pay_as(as_, "yc_lianqing", State.APPROVED),
    ("pay_request", 409): lambda as_: _pay_as(as_, "yc_chuna", State.PENDING),
    ("get_attachment", 200): lambda as_: as_("yc_lianqing").get(
        f"/attachments/{_req(State.PENDING).attachments[0].id}"),
    ("open_questions", 200): lambda as_: as_("yc_shenhe").get("/questions"),
    ("request_questions", 200): lambda as_: as_("yc_lianqing").get(f"/requests/{_id(State.PENDING)}/questions"),
    ("ask_question", 201): lambda as_: as_("yc_lianqing").post(
        f"/requests/{_id(State.PENDING)}/questions", {"text": "?", "deadline": date.today().isoformat()}),
    ("get_question", 200): lambda as_: as_("yc_lianqing").get(f"/questions/{_question().id}"),
    ("list_flags", 200): lambda as_: as_("yc_lianqing").get("/flags"),
    ("get_flag", 200): lambda as_: as_("yc_lianqing").get(f"/flags/{_flag()}"),
    ("clear_flag", 200): lambda as_: as_("yc_lianqing").post(f"/flags/{_flag()}/clear", {"reason": "核实无误"}),
    ("clear_flag", 409): lambda as_: _twice(as_, "clear", {"reason": "核实无误"}),
    ("ask_flag", 200): lambda as_: as_("yc_lianqing").post(
        f"/flags/{_flag()}/ask", {"text": "?", "deadline": date.today().isoformat()}),
    ("ask_flag", 409): lambda as_: _twice(as_, "ask", {"text": "?", "deadline": date.today().isoformat()}),
    ("request_flags", 200): lambda as_: as_("dy_shuji").get(f"/requests/{_id(State.PENDING)}/flags"),
    ("answer_question", 200): lambda as_: as_("yc_shenhe").post(f"/questions/{_question().id}/answer",
                                                                {"answer": "已核"}),
    ("answer_question", 403): lambda as_: as_("yc_lianqing").post(f"/questions/{_question().id}/answer",
                                                                  {"answer": "已核"}),
    ("answer_question", 409): lambda as_: as_("yc_shenhe").post(f"/questions/{_answered().id}/answer",
                                                                {"answer": "再答"}),
    ("import_file", 200): lambda as_: as_("hl_admin").post("/imports", data=_chart(), content_type=MP),
    ("import_file", 403): lambda as_: as_("dy_baozhang").post("/imports", data=_chart(), content_type=MP),
    ("get_import", 200): lambda as_: as_("hl_admin").get(f"/imports/{_import_id()}"),
    ("list_chains", 200): lambda as_: as_("yc_lianqing").get("/chains"),
    ("export_checkpoints", 200): lambda as_: as_("yc_lianqing").post("/chains/village:HL-YC-01/checkpoints"),
    ("chain_events", 200): lambda as_: as_("yc_lianqing").get("/chains/village:HL-YC-01/events"),
    ("chain_verification", 200): lambda as_: as_("yc_lianqing").get("/chains/village:HL-YC-01/verification"),
}


# --- the bank (issue 10) ----------------------------------------------------------------------------------------

def _acct() -> Any:
    """The village's bank account (set up once)."""
    from finance.bank import queries as bank_queries
    from tests.bank_helpers import account

    return bank_queries.account_by_number(f.unit("HL-YC-01").bank_account or "") or account()


def _stray_file() -> dict[str, Any]:
    """A statement with one outflow no request explains (an exception)."""
    from decimal import Decimal

    from tests.bank_helpers import Line, statement_of

    acct = _acct()
    stray = Line(date.today(), "ST" + uuid.uuid4().hex[:10].upper(), debit=Decimal("36.00"), name="某人",
                 account="6217000000001111")
    f.db.session.commit()
    return {"file": (io.BytesIO(statement_of(acct, [stray], opening=None).csv()), "s.csv")}


def _proposal() -> int:
    """A paid request whose line the cashier who paid imported: a match proposed, not confirmed."""
    from finance.bank import queries as bank_queries
    from finance.bank import services as bank
    from finance.payments.queries import payment_of
    from tests.bank_helpers import line_for, statement_of

    payment = payment_of(_req(State.PAID))
    assert payment is not None
    bank.import_statement(f.user("yc_chuna"), statement_of(_acct(), [line_for(payment)]).csv(), "s.csv")
    f.db.session.commit()
    match = bank_queries.payment_match(payment)
    assert match is not None
    return int(match.id)


def _unmatched_line() -> tuple[int, int]:
    """A statement line with a serial and account no payment has: (line id, the payment it belongs to)."""
    from sqlalchemy import select

    from finance.bank import services as bank
    from finance.bank.models import StatementLine
    from finance.payments.queries import payment_of
    from tests.bank_helpers import line_for, statement_of

    payment = payment_of(_req(State.PAID))
    assert payment is not None
    line = line_for(payment, serial="M" + uuid.uuid4().hex[:10].upper(), account_number="6200000000009999")
    bank.import_statement(f.user("yc_chuna"), statement_of(_acct(), [line]).csv(), "s.csv")
    f.db.session.commit()
    row = f.db.session.execute(select(StatementLine).where(StatementLine.serial == line.serial)).scalar_one()
    return int(row.id), int(payment.id)


def _choose(as_: Callable[[str], ApiClient], who: str, twice: bool = False) -> Any:
    line_id, payment_id = _unmatched_line()
    if twice:
        as_("yc_shenhe").post(f"/bank/lines/{line_id}/match", {"payment_id": payment_id})
    return as_(who).post(f"/bank/lines/{line_id}/match", {"payment_id": payment_id})


def _exception() -> int:
    from sqlalchemy import select

    from finance.bank import services as bank
    from finance.bank.models import BankException

    data = _stray_file()["file"][0].getvalue()
    bank.import_statement(f.user("yc_shenhe"), data, "s.csv")
    f.db.session.commit()
    return int(f.db.session.execute(select(BankException.id).order_by(BankException.id.desc())).scalars().first())


def _receipt() -> dict[str, Any]:
    acct = _acct()
    f.db.session.commit()
    return {"village_id": acct.village_id, "account_id": acct.id, "payer_name": "张三", "amount": "1200.00",
            "type": "rent", "received_on": date.today().isoformat()}


def _twice_match(as_: Callable[[str], ApiClient], what: str, body: dict[str, Any] | None = None) -> Any:
    match = _proposal()
    as_("yc_shenhe").post(f"/bank/matches/{match}/confirm")
    return as_("yc_shenhe").post(f"/bank/matches/{match}/{what}", body)


BANK: dict[tuple[str, int], Scenario] = {
    ("import_statement", 200): lambda as_: as_("yc_shenhe").post("/bank/statements", data=_stray_file(),
                                                                 content_type=MP),
    ("import_statement", 403): lambda as_: as_("dy_baozhang").post("/bank/statements", data=_stray_file(),
                                                                   content_type=MP),
    ("record_receipt", 201): lambda as_: as_("dy_baozhang").post("/bank/receipts", _receipt()),
    ("record_receipt", 403): lambda as_: as_("yc_lianqing").post("/bank/receipts", _receipt()),
    ("confirm_match", 200): lambda as_: as_("yc_shenhe").post(f"/bank/matches/{_proposal()}/confirm"),
    ("confirm_match", 403): lambda as_: as_("yc_chuna").post(f"/bank/matches/{_proposal()}/confirm"),
    ("confirm_match", 409): lambda as_: _twice_match(as_, "confirm"),
    ("unmatch", 200): lambda as_: as_("yc_shenhe").post(f"/bank/matches/{_proposal()}/unmatch", {"reason": "不是这笔"}),
    ("unmatch", 403): lambda as_: as_("yc_lianqing").post(f"/bank/matches/{_proposal()}/unmatch",
                                                          {"reason": "不是这笔"}),
    ("unmatch", 409): lambda as_: _twice_match(as_, "unmatch", {"reason": "不是这笔"}),
    ("choose", 200): lambda as_: _choose(as_, "yc_shenhe"),
    ("choose", 403): lambda as_: _choose(as_, "yc_lianqing"),
    ("choose", 409): lambda as_: _choose(as_, "yc_shenhe", twice=True),
    ("list_exceptions", 200): lambda as_: as_("yc_lianqing").get("/bank/exceptions"),
    ("close_exception", 200): lambda as_: as_("yc_shenhe").post(f"/bank/exceptions/{_exception()}/close",
                                                                {"reason": "村民借款退还"}),
    ("close_exception", 403): lambda as_: as_("yc_lianqing").post(f"/bank/exceptions/{_exception()}/close",
                                                                  {"reason": "看过"}),
    ("close_exception", 409): lambda as_: _close_twice(as_),
}


def _close_twice(as_: Callable[[str], ApiClient]) -> Any:
    exception = _exception()
    as_("yc_shenhe").post(f"/bank/exceptions/{exception}/close", {"reason": "村民借款退还"})
    return as_("yc_shenhe").post(f"/bank/exceptions/{exception}/close", {"reason": "再关"})


SCENARIOS.update(BANK)


def _plugins() -> list[Any]:
    """Each tests/api/scenarios_*.py adds its operations' SCENARIOS, and REAL_IDS (a path parameter's name ->
    a function making a real row's id) for the shared statuses, so that a feature's endpoints bring their
    scenarios along without editing this file."""
    import importlib
    import pkgutil

    import tests.api

    return [importlib.import_module(f"tests.api.{m.name}") for m in pkgutil.iter_modules(tests.api.__path__)
            if m.name.startswith("scenarios_")]


REAL_IDS: dict[str, Callable[[], int]] = {}
SHARED_AS: dict[str, str] = {}  # an endpoint, or a path parameter, -> who asks for the shared statuses
for _module in _plugins():
    SCENARIOS.update(getattr(_module, "SCENARIOS", {}))
    REAL_IDS.update(getattr(_module, "REAL_IDS", {}))
    SHARED_AS.update(getattr(_module, "SHARED_AS", {}))


def _detach(as_: Callable[[str], ApiClient], who: str, state: State) -> Any:
    req = _req(state)
    return as_(who).delete(f"/requests/{req.id}/attachments/{req.attachments[0].id}")


def _pay_as(as_: Callable[[str], ApiClient], who: str, state: State) -> Any:
    req = _req(state)
    return as_(who).post(f"/requests/{req.id}/pay", data=_pay(req), content_type=MP)


def _path(op: Any) -> str:
    path = op.path.removeprefix("/api/v1")
    for name, _conv in op.path_params:
        path = path.replace("{" + name + "}", "village:HL-YC-01" if name == "chain_id" else "2147483647")
    return path


def _shared(op: Any, status: int, as_: Callable[[str | None], ApiClient], app: Any) -> Any:
    """The shared statuses, reached alike for every operation."""
    method, path = op.method, _path(op)
    params = dict(op.path_params or ())
    chosen = SHARED_AS.get(op.endpoint) or next((SHARED_AS[name] for name in params if name in SHARED_AS), None)
    client = as_(chosen or ("yc_lianqing" if "chain_id" in params
                            else "yc_shenhe" if params.keys() & {"match_id", "line_id", "exception_id"}
                            else "dy_baozhang"))
    if status == 401:
        return _open(as_(None), path, method, headers={"Idempotency-Key": "k" * 10})
    if status == 429:
        app.config["API_RATE_LIMIT"] = 0
        try:
            return _open(client, path, method, headers=client.headers(post=True))
        finally:
            app.config["API_RATE_LIMIT"] = 600
    if status == 404:
        if "chain_id" in dict(op.path_params):
            path = path.replace("village:HL-YC-01", "village:NOWHERE")
        if op.form is not None:  # a well-formed form, so that what is refused is the id
            fields = {"kind": "other", "bank_reference": "X1", "value_date": date.today().isoformat(),
                      "amount": "1.00", "payee_name": "x", "payee_account": "1", "payer_account": "1"}
            files = {name: (io.BytesIO(f.jpeg_bytes()), "x.jpg") for name in op.files}
            names = set(op.form.model_fields)
            return _open(client, path, method, headers=client.headers(post=True), content_type=MP,
                                      data={**{k: v for k, v in fields.items() if k in names}, **files})
        body = None
        if op.body is not None:  # its required fields, well-formed, so that what is refused is the id
            samples = {"reason": "x", "text": "x", "answer": "x", "deadline": date.today().isoformat(), **INVOICE}
            body = {k: samples[k] for k, info in op.body.model_fields.items() if info.is_required()}
        return _open(client, path, method, headers=client.headers(post=True),
                                  json=body)
    if status == 400 and op.method != "POST":
        return _open(client, _real(op, path) + "?after=%00", method, headers=client.headers())
    if status == 400:
        return _open(client, _real(op, path), method, headers=client.headers(), json={})
    if status == 415:
        return _open(client, _real(op, path), method, headers=client.headers(post=True),
                                  data="x", content_type="text/plain")
    if status == 422:
        if op.query is not None:
            return client.client.open(csrf=False, path="/api/v1" + _real(op, path) + "?nonsense=1", method=method,
                                      headers=client.headers())
        if op.form is not None:
            return client.client.open(csrf=False, path="/api/v1" + _real(op, path), method=method,
                                      headers=client.headers(post=True), data={}, content_type=MP)
        return _open(client, _real(op, path), method, headers=client.headers(post=True),
                                  json={"nonsense": 1})
    return None


def _open(client: ApiClient, path: str, method: str, **kwargs: Any) -> Any:
    return client.client.open(path="/api/v1" + path, method=method, csrf=False, **kwargs)


def _real(op: Any, path: str) -> str:
    """The path with ids of a real request (so that what is refused is the request, not the id)."""
    if not op.path_params or "chain_id" in dict(op.path_params):
        return path
    params = dict(op.path_params)
    if "match_id" in params:
        return path.replace("2147483647", str(_proposal()), 1)
    if "line_id" in params:
        return path.replace("2147483647", str(_unmatched_line()[0]), 1)
    if "exception_id" in params:
        return path.replace("2147483647", str(_exception()), 1)
    for name in params:
        if name in REAL_IDS:
            return path.replace("2147483647", str(REAL_IDS[name]()), 1)
    req = _req(State.DRAFT)
    return path.replace("2147483647", str(req.id), 1).replace("2147483647", str(req.attachments[0].id))


def test_every_documented_status_is_reached_and_no_other_is_documented(app: Any, db: Any, make_client: Any,
                                                                       monkeypatch: Any) -> None:
    from finance.documents import views as documents_views

    # Statuses are the subject here, not WeasyPrint (tests/test_documents.py renders the form).
    monkeypatch.setattr(documents_views, "render_one_page", lambda _pages: b"%PDF-1.4 placeholder")
    document = spec.build(api)
    tokens: dict[str | None, str | None] = {None: None}

    def as_(who: str | None) -> ApiClient:
        if who not in tokens:
            tokens[who] = make_token(who)
        return ApiClient(make_client(), tokens[who])

    documented = {(op.endpoint, status) for op in api.operations for status in op.statuses()}
    assert {(o["operationId"], int(s)) for p in document["paths"].values() for o in p.values()
            for s in o["responses"]} == documented
    missing, wrong = [], []
    for op in api.operations:
        for status in op.statuses():
            scenario = SCENARIOS.get((op.endpoint, status))
            response = scenario(as_) if scenario else _shared(op, status, as_, app)
            if response is None:
                missing.append((op.endpoint, status))
            elif response.status_code != status:
                wrong.append((op.endpoint, status, response.status_code, response.get_data(as_text=True)[:200]))
    assert not missing, f"documented, with no request that reaches it: {missing}"
    assert not wrong, wrong
    assert set(SCENARIOS) <= documented, set(SCENARIOS) - documented


@pytest.fixture(autouse=True)
def _restore_limit(app: Any) -> Any:
    yield
    app.config["API_RATE_LIMIT"] = 600

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

`events=0` needs a `why`, for routes that change no governed record (login, logout). Set
`liaison_may=True` only for what a liaison may do (questions, exports); for every other route the
liaison test checks that a liaison's post changes no financial row and writes no event.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from flask import g
from sqlalchemy import func, select

import audit
from finance.extensions import db as ext_db
from finance.oversight import services as oversight
from finance.payment_requests.models import Attachment, PaymentRequest, RequestAction
from finance.payments.models import Payment
from finance.timefmt import today_local
from finance.workflow import State
from tests import factories as f
from tests.conftest import PASSWORD

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
WRITING_GETS = {"oversight.attachment"}  # GET routes that record an event (a liaison's view)


@dataclass
class Case:
    user: str | None
    setup: Callable[[], dict[str, Any]] = dict
    form: Callable[[dict[str, Any]], dict[str, Any]] = field(default=lambda v: {})
    events: int = 1
    why: str = ""
    method: str = "POST"
    liaison_may: bool = False


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


def _deadline() -> str:
    return (today_local() + timedelta(days=5)).isoformat()


ROUTES: dict[str, Case] = {
    # auth
    "auth.login": Case(
        None,
        form=lambda v: {"username": "dy_baozhang", "password": PASSWORD},
        events=0,
        why="a login changes no governed record (failures are kept only for throttling)",
    ),
    "auth.logout": Case("dy_baozhang", events=0, why="ends a session; changes no record"),
    "auth.change_password": Case(
        "dy_baozhang",
        form=lambda v: {"current": PASSWORD, "new": "newpassword456", "confirm": "newpassword456"},
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
    # payment_requests, payments, documents, admin: add their routes here (see the docstring)
}


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


def _event_count() -> int:
    return int(ext_db.session.execute(select(func.count(audit.Event.id))).scalar_one())


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
    before = _event_count()
    response = client.open(_url(app, endpoint, values), method=case.method, data=case.form(values))
    assert response.status_code in (200, 302), response.get_data(as_text=True)[:500]
    response.close()
    assert _event_count() - before == case.events


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


@pytest.mark.parametrize("endpoint", sorted(ROUTES))
def test_liaison_cannot_change_a_financial_record(app, db, make_client, endpoint):
    case = ROUTES[endpoint]
    if case.user is None or endpoint == "auth.logout":
        return  # routes for anonymous users, and logging out, concern no record
    values = case.setup()
    f.in_state(State.APPROVED)  # something a cashier could pay, a forged post could try
    client = _client(make_client, "yc_lianqing")
    before, events_before = _financial_state(), _event_count()
    form = {**case.form(values), "client_key": uuid.uuid4().hex}
    response = client.open(_url(app, endpoint, values), method=case.method, data=form)
    response.close()
    assert _financial_state() == before
    if not case.liaison_may:
        allowed = 1 if endpoint == "auth.change_password" else 0  # their own password, on the system chain
        assert _event_count() - events_before == allowed
        assert response.status_code in (302, 400, 403, 404, 405, 409) or endpoint == "auth.change_password"


def _service_calls() -> list[tuple[str, State, Callable[[Any, PaymentRequest], Any]]]:
    from finance.payment_requests import services as requests
    from finance.payment_requests.models import AttachmentKind
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
        ("reconcile", State.PAID, lambda u, r: payments.reconcile(u, r)),
    ]


@pytest.mark.parametrize("name", [c[0] for c in _service_calls()])
def test_liaison_is_refused_by_every_financial_service(db, name):
    from finance.permissions import Forbidden
    from finance.workflow import NotAllowed

    _, state, call = next(c for c in _service_calls() if c[0] == name)
    req = f.in_state(state)
    before, events_before = _financial_state(), _event_count()
    with pytest.raises((Forbidden, NotAllowed)):
        call(f.user("yc_lianqing"), req)
    db.rollback()
    assert _financial_state() == before and _event_count() == events_before

"""Issue 15 item 12: every route of the URL map, walked with hostile values in each of its parameters
(path parts, the query-string keys and form fields the view reads), as each role that gets past its
permission check and as an anonymous visitor. No answer may be a 5xx (nor an exception).

The keys a view reads are learnt by recording them: the app's request class is swapped for one whose
argument and form dictionaries note every key looked up, and each route is first opened with plain
values (the ones a page of the app would send) so that the view walks past its early returns."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from flask import Flask, Request
from sqlalchemy import select
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import NotFound

from finance.oversight import services as oversight
from finance.workflow import State
from tests import factories as f
from tests.api.conftest import make_token

HOSTILE = [
    "2026-01-01T00:00:00",  # a naive time
    "2026-01-01T00:00:00_99999999999999999999",
    "99999999999999999999",
    "99999999999999999999-1",
    "1e30",
    "-1e30",
    "9999-12-31",
    "0001-01-01",
    "NaN",
    "-1",
    "0",
    "",
    "中文ä\u202e\u0000",
    "x" * 5000,
]
# What a page of the app would put in each parameter: the walk starts from these.
PLAIN_QUERY = {
    "after": "", "per_page": "20", "page": "1", "state": "pending", "from": "2026-01-01", "to": "2026-12-31",
    "min": "100", "max": "100000", "payee": "兴农", "q": "dy", "start": "2026-01-01", "end": "2026-01-31",
    "month": "2026-01", "original": "1", "size": "thumb", "date_from": "2026-01-01", "date_to": "2026-12-31",
    "amount_min": "100", "amount_max": "100000", "next": "/requests",
}
ROLES = ["dy_baozhang", "dy_shuji", "yc_shenhe", "yc_chuna", "yc_lianqing", "hl_admin", None]
SKIP_KEYS = {"lang", "csrf_token"}  # compared with literals only; the CSRF token is the client's own
_seen = threading.local()


class RecordingDict(ImmutableMultiDict):  # type: ignore[type-arg]
    """Notes every key a view looks up."""

    def _note(self, key: Any) -> None:
        keys = getattr(_seen, "keys", None)
        if keys is not None and isinstance(key, str):
            keys.add(key)

    def __getitem__(self, key: Any) -> Any:
        self._note(key)
        return super().__getitem__(key)

    def get(self, key: Any, default: Any = None, type: Any = None) -> Any:  # noqa: A002
        self._note(key)
        return super().get(key, default, type)

    def getlist(self, key: Any, type: Any = None) -> Any:  # noqa: A002
        self._note(key)
        return super().getlist(key, type)

    def __contains__(self, key: Any) -> bool:
        self._note(key)
        return super().__contains__(key)


class RecordingRequest(Request):
    parameter_storage_class = RecordingDict


@pytest.fixture
def recording(app: Flask) -> Iterator[None]:
    original = app.request_class
    app.request_class = RecordingRequest
    try:
        yield
    finally:
        app.request_class = original


def _bank_and_import_ids() -> dict[str, str]:
    """A statement match, line and exception (finance.bank) and an import batch (finance.imports)."""
    from tests.api.test_statuses import _exception, _import_id, _proposal, _unmatched_line

    return {"match_id": str(_proposal()), "line_id": str(_unmatched_line()[0]), "exception_id": str(_exception()),
            "batch_id": str(_import_id())}


def path_values() -> dict[str, str]:
    """A real, in-scope value for every path parameter of the URL map."""
    from finance.controls import services as controls
    from finance.controls.policy import DEFAULT_CONTROL_RULES
    from finance.documents import services as documents
    from finance.notices import services as notices
    from finance.notices.models import NoticeDelivery
    from finance.timefmt import today_local

    notices.save_settings(f.user("dy_shuji"), notices.SettingsInput(sms_on=True, mobile="13900000001"))
    # payees of their own: with the flag's request below, one payee would cross a cumulative band (issue 11)
    pending = f.in_state(State.PENDING, payee_name="华龙区走查一号店", payee_account="6228480011110001")
    approved = f.in_state(State.APPROVED, payee_name="华龙区走查二号店", payee_account="6228480011110002")
    person = controls.add_related_person(f.user("hl_admin"), f.user("dy_shuji"), controls.PersonInput(
        name="王小明", relation="child", accounts="6228480012340000111"))
    item = controls.add_negative_item(f.user("hl_admin"), f.unit("HL-YC"), controls.NegativeItemInput(item="礼品"))
    resolution = controls.create_resolution(f.user("dy_baozhang"), f.unit("HL-YC-01"), controls.ResolutionInput(
        matter="主街硬化工程", matter_kind="works", meeting_date=today_local(), expected=40, present=35,
        amount="80000", minutes=controls.Upload("m.jpg", f.jpeg_bytes(color="gray")),
        publicity=controls.Upload("p.jpg", f.jpeg_bytes(color="silver"))), DEFAULT_CONTROL_RULES)
    contract = controls.create_contract(f.user("dy_baozhang"), f.unit("HL-YC-01"), controls.ContractInput(
        title="主街硬化施工合同", counterparty="兴农建筑有限公司", amount="80000", signed_on=today_local(),
        starts_on=today_local(), ends_on=today_local() + timedelta(days=90), resolution_id=resolution.id,
        file=controls.Upload("c.pdf", f.pdf_bytes())))
    question = oversight.ask_question(f.user("yc_lianqing"), pending, "为何分两笔？", date.today() + timedelta(days=5))
    from finance.api import tokens
    from finance.extensions import db
    from finance.flags.models import RiskFlag

    # just under the 10,000 band: a flag at submit
    flagged = f.in_state(State.PENDING, "9880.00", payee_name="华龙区走查三号店", payee_account="6228480011110003")
    flag_id = db.session.execute(select(RiskFlag.id)
                                 .where(RiskFlag.key == f"just_under_band:{flagged.id}")).scalar_one()
    hold = oversight.hold_payment(f.user("yc_lianqing"), f.in_state(State.APPROVED, payee_name="华龙区走查四号店",
                                                                      payee_account="6228480011110004"), "待核实")

    token, _secret = tokens.create_token(f.user("dy_baozhang"), "hostile walk", 30, by=f.user("dy_baozhang"))
    db.session.commit()
    user = f.user("dy_jianwei")
    return {
        "request_id": str(pending.id),
        "attachment_id": str(pending.attachments[0].id),
        "question_id": str(question.id),
        "user_id": str(user.id),
        "assignment_id": str(user.assignments[0].id),
        "unit_id": str(f.unit("HL-YC").id),
        "parent_id": str(f.unit("HL-YC").id),
        "village_id": str(f.unit("HL-YC-01").id),
        "year": str(date.today().year),
        "month": str(date.today().month),
        "chain_id": "village:HL-YC-01",
        "token": documents.make_token(pending, documents.newest_change(pending)),
        "code": "HL-YC-01",
        "period": f"{date.today():%Y-%m}",
        "person_id": str(person.id),
        "item_id": str(item.id),
        "resolution_id": str(resolution.id),
        "name": "minutes",
        "contract_id": str(contract.id),
        "township_id": str(f.unit("HL-YC").id),
        "delivery_id": str(db.session.execute(select(NoticeDelivery.id)).scalars().first()),
        "_approved": str(approved.id),
        **_bank_and_import_ids(),
        "delegation_id": str(_delegation().id),  # finance.delegations
        "flag_id": str(flag_id),
        "hold_id": str(hold.id),
        "token_id": str(token.id),
        **_plugin_ids(),
    }


def _plugin_ids() -> dict[str, str]:
    """A real row for each path parameter the API's features name in tests/api/scenarios_*.py."""
    from tests.api.test_statuses import REAL_IDS

    return {name: str(make()) for name, make in REAL_IDS.items()}


def _delegation() -> Any:
    from finance.delegations import services as delegations
    from finance.extensions import db
    from finance.roles import Role
    from finance.timefmt import today_local

    today = today_local()
    d = delegations.create(f.user("dy_shuji"), delegations.DelegationInput(
        role=Role.VILLAGE_LEAD.value, delegate_id=f.user("xy_shuji").id, village_ids=[f.unit("HL-YC-01").id],
        starts_on=today, ends_on=today + timedelta(days=3)))
    db.session.commit()
    return d


def build(rule: Any, values: dict[str, str]) -> str:
    """The rule's path with `values` in its parts (quoted as a browser would), without url_for, so that a
    value no converter accepts can still be sent."""
    path = rule.rule
    for arg in rule.arguments:
        start = path.index("<")
        end = path.index(">", start)
        path = path[:start] + quote(values[arg], safe="") + path[end + 1:]
    return path


def unrouted(adapter: Any, rule: Any, values: dict[str, str], method: str) -> bool:
    """True when no route takes this path (the router's own 404, before any view)."""
    path = rule.rule
    for arg in rule.arguments:
        start = path.index("<")
        path = path[:start] + values[arg] + path[path.index(">", start) + 1:]
    try:
        adapter.match(path, method)
    except NotFound:
        return True
    except Exception:  # noqa: BLE001 - a redirect or 405: let the real request show what happens
        return False
    return False


def clients(make_client: Any) -> dict[str | None, Any]:
    out: dict[str | None, Any] = {}
    for who in ROLES:
        c = make_client()
        if who is not None:
            assert c.login(who).status_code == 302
            c.api_token = make_token(who)  # the API signs in by token alone (tests/api)
        out[who] = c
    return out


ERRORS: list[str] = []


def send(client: Any, method: str, path: str, params: dict[str, str]) -> tuple[int, set[str]]:
    """The status (599 for an exception, which TESTING lets through where a user would see a 500) and
    the keys the view read."""
    _seen.keys = set()
    headers = {}
    if path.startswith("/api/") and getattr(client, "api_token", None):
        headers = {"Authorization": f"Bearer {client.api_token}", "Idempotency-Key": uuid.uuid4().hex}
    try:
        if method == "GET":
            url = path + ("?" + urlencode(params) if params else "")
            response = client.get(url, headers=headers)
        else:
            response = client.post(path, data={**params, "client_key": uuid.uuid4().hex}, headers=headers)
        status = response.status_code
        response.close()
    except Exception as exc:
        ERRORS.append(f"{method} {path[:80]} {list(params)[-1:]}: {exc!r}"[:300])
        status = 599
    finally:
        keys, _seen.keys = _seen.keys, None
    return status, keys


SHARDS = 4  # the routes in four parts, so that parallel workers share the walk


@pytest.mark.slow  # every route, as every role, with every hostile value: minutes
@pytest.mark.parametrize("shard", range(SHARDS))
def test_every_route_answers_hostile_parameters_without_a_5xx(app: Flask, db: Any, make_client: Any,
                                                              recording: None, monkeypatch: Any, shard: int) -> None:
    from finance.documents import views as documents_views

    # Parameters are the subject here, not WeasyPrint: a PDF is a placeholder (tests/test_documents.py renders).
    monkeypatch.setattr(documents_views, "render_pdf", lambda _html: b"%PDF-1.4 placeholder")
    monkeypatch.setattr(documents_views, "render_one_page", lambda _pages: b"%PDF-1.4 placeholder")
    ERRORS.clear()
    values = path_values()
    by_role = clients(make_client)
    rules = [r for r in app.url_map.iter_rules() if r.endpoint != "static"]
    unknown = {arg for r in rules for arg in r.arguments} - set(values)
    assert not unknown, f"give the walk a value for these path parameters: {unknown}"
    failures: list[str] = []
    walked = 0
    adapter = app.url_map.bind("localhost")
    for rule in sorted(rules, key=lambda r: r.rule)[shard::SHARDS]:
        for method in sorted({"GET", "POST"} & set(rule.methods or ())):
            base = dict(values)
            if rule.endpoint == "payments.pay":
                base["request_id"] = values["_approved"]
            path = build(rule, base)
            # Path parameters: each hostile value in each part, as anyone (routing answers first).
            for arg in rule.arguments:
                for hostile in HOSTILE:
                    if unrouted(adapter, rule, {**base, arg: hostile}, method):
                        continue  # the router answers 404 itself: no view runs, nothing to learn
                    status, _keys = send(by_role["dy_baozhang"], method, build(rule, {**base, arg: hostile}), {})
                    walked += 1
                    if status >= 500:
                        failures.append(f"{method} {rule.rule} {arg}={hostile[:40]!r}: {status}")
            # Query strings and forms: learn what the view reads, as each role, then attack each key (once
            # per key and answer to plain values: roles the view treats alike need not repeat it).
            attacked: set[tuple[str, int]] = set()
            for who, client in by_role.items():
                if rule.endpoint == "auth.logout" and who is not None:
                    continue  # it would end the walk's own sessions
                plain_status, keys = send(client, method, path, {})
                _s, more = send(client, method, path, dict(PLAIN_QUERY))
                if plain_status >= 500:
                    failures.append(f"{method} {rule.rule} as {who}: {plain_status} on plain values")
                for key in sorted((keys | more) - SKIP_KEYS):
                    if (key, plain_status) in attacked:
                        continue
                    attacked.add((key, plain_status))
                    for hostile in HOSTILE:
                        status, _keys = send(client, method, path, {**PLAIN_QUERY, key: hostile})
                        walked += 1
                        if status >= 500:
                            failures.append(f"{method} {rule.rule} as {who} {key}={hostile[:40]!r}: {status}")
    print(f"walked part {shard + 1} of {SHARDS} of {len(rules)} routes with {walked} hostile requests")
    assert walked > 1000 // SHARDS
    assert not failures and not ERRORS, "\n".join((failures + ERRORS)[:60])

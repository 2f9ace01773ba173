"""The API's conventions: token authentication (and nothing else), problem details for every error,
Idempotency-Key on every POST, money and times, the served OpenAPI document and the API page."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

import audit
from audit.verify import count_events
from finance.api import tokens
from finance.api.models import ApiToken, IdempotencyKey
from finance.db import utcnow
from finance.payment_requests.models import PaymentRequest
from tests import factories as f
from tests.api.conftest import make_token

BODY = {"payee_name": "濮阳市华龙区兴农农资经营部", "amount": "1200.5", "purpose": "苗木"}


def count_requests(db: Any) -> int:
    return int(db.execute(select(func.count(PaymentRequest.id))).scalar_one())


def is_problem(r: Any, status: int, kind: str) -> dict[str, Any]:
    assert r.status_code == status, r.get_data(as_text=True)
    assert r.headers["Content-Type"] == "application/problem+json"
    body = r.get_json()
    assert body["type"] == f"/api/v1/docs#problem-{kind}" and body["status"] == status
    assert body["detail"] and body["title"]
    return dict(body)


def test_without_a_token_the_api_answers_401_even_with_a_signed_in_session(client: Any, as_user: Any) -> None:
    assert client.login("dy_baozhang").status_code == 302
    r = client.get("/api/v1/requests")  # the browser's session cookie goes along: it does not count
    body = is_problem(r, 401, "unauthorized")
    assert "Authorization" in body["detail"]
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    r = client.post("/api/v1/requests", json=BODY, headers={"Idempotency-Key": uuid.uuid4().hex}, csrf=False)
    is_problem(r, 401, "unauthorized")


def test_an_api_answer_sets_no_cookie_and_is_never_stored(as_user: Any) -> None:
    api = as_user("dy_baozhang")
    r = api.get("/todo")
    assert r.status_code == 200 and "Set-Cookie" not in r.headers
    assert r.headers["Cache-Control"] == "no-store"
    r = api.post("/requests", BODY)
    assert r.status_code == 201 and "Set-Cookie" not in r.headers


def test_a_token_does_not_open_a_page(client: Any, db: Any) -> None:
    secret = make_token("dy_baozhang")
    r = client.get("/requests", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_a_revoked_or_expired_token_or_an_inactive_user_is_refused(as_user: Any, db: Any) -> None:
    api = as_user("dy_baozhang")
    assert api.get("/todo").status_code == 200
    token = db.execute(select(ApiToken).where(ApiToken.token_hash == tokens.digest(api.secret))).scalar_one()
    assert token.last_used_at is not None
    tokens.revoke_token(token, by=f.user("dy_baozhang"))
    db.commit()
    is_problem(api.get("/todo"), 401, "unauthorized")
    api2 = as_user("dy_baozhang")
    token2 = db.execute(select(ApiToken).where(ApiToken.token_hash == tokens.digest(api2.secret))).scalar_one()
    token2.expires_at = utcnow() - timedelta(seconds=1)
    db.commit()
    is_problem(api2.get("/todo"), 401, "unauthorized")
    api3 = as_user("xy_baozhang")
    f.user("xy_baozhang").active = False
    db.commit()
    is_problem(api3.get("/todo"), 401, "unauthorized")
    is_problem(as_user(None).get("/todo", headers={"Authorization": "Bearer sz_nonsense"}), 401, "unauthorized")


def test_money_is_a_string_with_two_decimals_and_never_a_json_number(as_user: Any, db: Any) -> None:
    api = as_user("dy_baozhang")
    r = api.post("/requests", {**BODY, "amount": 1200.5})
    body = is_problem(r, 422, "invalid-input")
    assert body["errors"] == [{"field": "amount", "detail": "须为文字。"}]
    for bad in ("1,200", "12.345", "-5", "1e3", ""):
        r = api.post("/requests", {**BODY, "amount": bad})
        assert [e["field"] for e in is_problem(r, 422, "invalid-input")["errors"]] == ["amount"], bad
    r = api.post("/requests", {**BODY, "amount": "0"})  # well-formed, refused by the service's rule
    assert is_problem(r, 422, "invalid-input")["errors"] == [{"field": "amount", "detail": "金额必须大于零。"}]
    r = api.post("/requests", BODY)
    assert r.status_code == 201 and r.get_json()["amount"] == "1200.50"


def test_validation_names_every_field_in_chinese(as_user: Any) -> None:
    api = as_user("dy_baozhang")
    r = api.post("/requests", {"payee_name": "x" * 101, "meeting_date": "2026-13-40", "nonsense": 1,
                               "meeting_attendance": 0})
    body = is_problem(r, 422, "invalid-input")
    errors = {e["field"]: e["detail"] for e in body["errors"]}
    assert errors == {"payee_name": "太长（最多 100）。", "meeting_date": "日期格式不正确，应为 YYYY-MM-DD。",
                      "nonsense": "不认识的字段。", "meeting_attendance": "超出允许的范围。"}
    is_problem(api.post("/requests", data="{not json", headers={"Content-Type": "application/json"}),
               422, "invalid-input")
    is_problem(api.post("/requests", data={"a": "b"}, content_type="application/x-www-form-urlencoded"),
               415, "unsupported-media-type")


def test_a_nul_character_in_a_json_body_is_refused_naming_the_field(as_user: Any, db: Any) -> None:
    api = as_user("dy_baozhang")
    before = count_requests(db)
    r = api.post("/requests", {**BODY, "payee_name": "兴\u0000农"})
    assert is_problem(r, 422, "invalid-input")["errors"] == [{"field": "payee_name", "detail": "含有无效的字符。"}]
    assert count_requests(db) == before


def test_every_error_of_the_api_is_a_problem(as_user: Any, client: Any) -> None:
    api = as_user("dy_baozhang")
    is_problem(api.get("/no-such-thing"), 404, "not-found")
    is_problem(api.get("/requests/2147483647"), 404, "not-found")
    is_problem(api.client.delete("/api/v1/requests", headers=api.headers()), 405, "method-not-allowed")
    is_problem(api.get("/requests?state=nonsense"), 422, "invalid-input")
    is_problem(api.get("/requests?payee=%00"), 400, "bad-request")
    is_problem(client.get("/api/v1/nowhere"), 404, "not-found")


def test_the_same_key_and_body_replays_the_first_answer_without_acting(as_user: Any, db: Any) -> None:
    api = as_user("dy_baozhang")
    before = count_requests(db)
    events = count_events(db)
    first = api.post("/requests", BODY, key="retry-key-0001")
    again = api.post("/requests", dict(reversed(list(BODY.items()))), key="retry-key-0001")  # same content
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json() and again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count_requests(db) == before + 1
    assert count_events(db) == events + 1
    # The same key with another body: refused, nothing done.
    r = api.post("/requests", {**BODY, "amount": "99"}, key="retry-key-0001")
    assert is_problem(r, 422, "idempotency-key-reused")["errors"][0]["field"] == "Idempotency-Key"
    assert count_requests(db) == before + 1
    # Keys are per user: another user's same key is their own.
    other = as_user("xy_baozhang")
    assert other.post("/requests", BODY, key="retry-key-0001").status_code == 201
    assert count_requests(db) == before + 2


def test_a_key_expires_after_24_hours(as_user: Any, db: Any) -> None:
    api = as_user("dy_baozhang")
    assert api.post("/requests", BODY, key="expiring-key-1").status_code == 201
    row = db.execute(select(IdempotencyKey).where(IdempotencyKey.key == "expiring-key-1")).scalar_one()
    assert row.expires_at - row.created_at == timedelta(hours=24)
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.commit()
    before = count_requests(db)
    r = api.post("/requests", BODY, key="expiring-key-1")
    assert r.status_code == 201 and "Idempotent-Replayed" not in r.headers
    assert count_requests(db) == before + 1


def test_a_refused_post_keeps_no_key_so_the_corrected_request_goes_through(as_user: Any, db: Any) -> None:
    api = as_user("dy_baozhang")
    draft = api.post("/requests", BODY).get_json()
    r = api.post(f"/requests/{draft['id']}/submit", key="submit-key-01")
    assert r.status_code == 422  # incomplete: refused, rolled back with its key
    assert db.execute(select(IdempotencyKey).where(IdempotencyKey.key == "submit-key-01")).first() is None


def test_every_post_needs_an_idempotency_key(as_user: Any) -> None:
    api = as_user("dy_baozhang")
    r = api.client.post("/api/v1/requests", json=BODY, headers={"Authorization": f"Bearer {api.secret}"},
                        csrf=False)
    body = is_problem(r, 400, "bad-request")
    assert body["errors"][0]["field"] == "Idempotency-Key"
    r = api.client.post("/api/v1/requests", json=BODY, headers={**api.headers(), "Idempotency-Key": "short"},
                        csrf=False)
    is_problem(r, 400, "bad-request")


def test_the_trail_records_the_api_and_the_token(as_user: Any, db: Any) -> None:
    api = as_user("dy_baozhang")
    token = db.execute(select(ApiToken).where(ApiToken.token_hash == tokens.digest(api.secret))).scalar_one()
    rid = api.post("/requests", BODY, headers={"X-Request-Id": "client-req-12345"}).get_json()["id"]
    event = db.execute(select(audit.Event).where(audit.Event.subject_id == str(rid),
                                                 audit.Event.action == "create")).scalar_one()
    assert event.http_request_id == f"api-t{token.id}-client-req-12345"
    assert event.actor_name == "李秀英"


def test_a_page_request_cannot_pass_itself_off_as_the_api(client: Any, db: Any) -> None:
    client.login("dy_baozhang")
    before = count_events(db)
    client.post("/requests/new", data={"payee_name": "x", "client_key": uuid.uuid4().hex},
                headers={"X-Request-Id": "api-t1-forged-0001"})
    events = db.execute(select(audit.Event).order_by(audit.Event.id.desc()).limit(
        count_events(db) - before)).scalars().all()
    assert events and all(not (e.http_request_id or "").startswith("api-") for e in events)


def test_each_token_has_its_rate_limit(as_user: Any, app: Any) -> None:
    api = as_user("dy_baozhang")
    other = as_user("dy_baozhang")
    app.config["API_RATE_LIMIT"] = 3
    try:
        assert [api.get("/todo").status_code for _ in range(3)] == [200, 200, 200]
        r = api.get("/todo")
        is_problem(r, 429, "rate-limited")
        assert int(r.headers["Retry-After"]) >= 1
        assert other.get("/todo").status_code == 200  # another token of the same user counts on its own
    finally:
        app.config["API_RATE_LIMIT"] = 600


def test_the_openapi_document_is_served_and_made_from_the_models(client: Any) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"] == "3.1.0"
    op = doc["paths"]["/api/v1/requests"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["required"] for p in op["parameters"])
    schema = doc["components"]["schemas"]["RequestIn"]
    assert schema["properties"]["payee_name"]["maxLength"] == 100
    assert schema["additionalProperties"] is False
    out = doc["components"]["schemas"]["RequestOut"]["properties"]["amount"]
    assert {"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{2}$"}.items() <= out["anyOf"][0].items()
    assert set(op["responses"]) >= {"201", "400", "401", "422", "429"}
    assert op["responses"]["422"]["content"]["application/problem+json"]["schema"]["$ref"].endswith("/ProblemOut")


def test_the_api_page_renders_the_document_and_loads_nothing_from_elsewhere(client: Any) -> None:
    r = client.get("/api/v1/docs")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "/api/v1/requests/{request_id}/approve" in html and "Idempotency-Key" in html
    assert 'id="problem-idempotency-key-reused"' in html
    assert "https://" not in html.replace("https://spec.openapis.org", "") and "//cdn" not in html

"""Idempotency-Key under real concurrency on PostgreSQL: 200 sends of one POST with one key, released at
the same moment from 200 threads (each its own connection from the pool), act once: one draft and one
`create` event; one approval and one `approve` event. Every send gets the first send's answer (most as
replays); none is a 5xx."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from audit.models import Event
from finance import create_app
from finance.api import tokens
from finance.db import Database
from finance.demo import seed_base
from finance.extensions import db
from finance.migrate import upgrade
from finance.payment_requests.models import PaymentRequest, RequestAction
from tests import factories as f
from tests import pg
from tests.conftest import PASSWORD, app_config, require_pg

pytestmark = pytest.mark.slow  # 200 real concurrent requests on PostgreSQL
SENDS = 200


@pytest.fixture(scope="module")
def pg_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    require_pg()
    tmp: Path = tmp_path_factory.mktemp("api-race")
    url = pg.create_database() + "?options=-csynchronous_commit%3Doff"
    upgrade(url)
    app = create_app(app_config(url, tmp, API_RATE_LIMIT=1_000_000))
    with app.app_context():
        seed_base(PASSWORD)
        db.session.commit()
    yield app
    app.extensions[Database.key][0].dispose()
    pg.drop_database(url.split("?")[0])


def token_of(app: Flask, username: str) -> str:
    with app.app_context():
        user = f.user(username)
        _row, secret = tokens.create_token(user, "race", 1, by=user)
        db.session.commit()
        return secret


def send_all(app: Flask, secret: str, path: str, body: dict[str, Any], key: str) -> list[Any]:
    barrier = threading.Barrier(SENDS)
    answers: list[Any] = [None] * SENDS

    def one(i: int) -> None:
        client = app.test_client()
        barrier.wait()
        try:
            r = client.post(path, json=body, headers={"Authorization": f"Bearer {secret}", "Idempotency-Key": key})
            answers[i] = (r.status_code, r.get_json(), r.headers.get("Idempotent-Replayed"))
        except Exception as exc:  # a failure to report, not to lose in a thread
            answers[i] = (599, repr(exc), None)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(SENDS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return answers


def count(app: Flask, stmt: Any) -> int:
    with app.app_context():
        try:
            return int(db.session.execute(stmt).scalar_one())
        finally:
            db.scoped.remove()


def test_200_concurrent_sends_of_one_key_act_once(pg_app: Flask) -> None:
    accountant = token_of(pg_app, "dy_baozhang")
    body = {"payee_name": "濮阳市华龙区兴农农资经营部", "amount": "800.00", "purpose": "并发重试"}
    before = count(pg_app, select(func.count(PaymentRequest.id)))
    answers = send_all(pg_app, accountant, "/api/v1/requests", body, f"race-create-{uuid.uuid4().hex}")
    assert {a[0] for a in answers} == {201}, [a for a in answers if a[0] != 201][:3]
    assert len({a[1]["id"] for a in answers}) == 1
    assert sum(1 for a in answers if a[2] == "true") >= 1
    assert count(pg_app, select(func.count(PaymentRequest.id))) == before + 1
    rid = answers[0][1]["id"]
    assert count(pg_app, select(func.count(Event.id)).where(Event.subject_id == str(rid),
                                                              Event.action == "create")) == 1

    # Complete and submit it, then 200 sends of one approval.
    with pg_app.app_context():
        from finance.attachment_kinds import AttachmentKind
        from finance.payment_requests import services

        req = db.session.get(PaymentRequest, rid)
        services.update_draft(f.user("dy_baozhang"), req, f.request_input("800.00"))
        services.add_attachment(f.user("dy_baozhang"), req, AttachmentKind.INVOICE, "fp.jpg", f.jpeg_bytes())
        services.submit(f.user("dy_baozhang"), req)
        db.session.commit()
        db.scoped.remove()
    lead = token_of(pg_app, "dy_shuji")
    answers = send_all(pg_app, lead, f"/api/v1/requests/{rid}/approve", {"comment": "同意"},
                       f"race-approve-{uuid.uuid4().hex}")
    assert {a[0] for a in answers} == {200}, [a for a in answers if a[0] != 200][:3]
    assert len({a[1]["step"] for a in answers}) == 1
    assert count(pg_app, select(func.count(RequestAction.id)).where(RequestAction.request_id == rid,
                                                                      RequestAction.action == "approve")) == 1
    assert count(pg_app, select(func.count(Event.id)).where(Event.subject_id == str(rid),
                                                              Event.action == "approve")) == 1

"""The worker's promises: a provider answering 500 is retried with backoff and the same dedupe key; a
refusal for good fails at once and the admin sees why; after the last retry the reason stays; quiet
hours hold; the group robots get their own shapes; a worker killed with SIGKILL in the middle of a send
loses nothing and sends nothing twice after restart (SQLite, a subprocess); two workers on PostgreSQL
never send one delivery twice."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from finance import create_app
from finance.db import Database
from finance.demo import seed_base
from finance.extensions import db
from finance.migrate import upgrade
from finance.notices import services as notices
from finance.notices.models import DeliveryState, NoticeDelivery, NoticeKind, NoticeSetting
from finance.notices.outbox import enqueue, quiet_until
from finance.notices.worker import claim, run_once
from finance.payment_requests import services as requests
from finance.timefmt import CST
from tests import factories as f
from tests import pg
from tests.conftest import PASSWORD, app_config, require_pg
from tests.notices_fakes import FakeProvider, point_channels_at, provider, smtp  # noqa: F401 - fixtures

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def channels(app, db, provider, monkeypatch):  # noqa: F811
    values = point_channels_at({}, provider)
    for k, v in values.items():
        monkeypatch.setitem(app.config, k, v)
    monkeypatch.setitem(app.config, "NOTICE_BACKOFF_SECONDS", 60)
    return provider


def sms_to_lead(**setting) -> NoticeDelivery:
    """dy_shuji takes SMS (plus `setting`); a submitted request makes one delivery to them."""
    chosen = {"sms_on": True, "mobile": "13900000001", **setting}
    notices.save_settings(f.user("dy_shuji"), notices.SettingsInput(**chosen))
    req = f.draft("1200.00")
    requests.submit(f.user("dy_baozhang"), req, client_key=uuid.uuid4().hex)
    db.session.commit()
    return db.session.execute(select(NoticeDelivery).where(NoticeDelivery.user_id == f.user("dy_shuji").id)
                              ).scalars().all()[-1]


def fresh(delivery: NoticeDelivery) -> NoticeDelivery:
    return db.session.execute(select(NoticeDelivery).where(NoticeDelivery.id == delivery.id)
                              .execution_options(populate_existing=True)).scalar_one()


def test_a_provider_answering_500_is_retried_with_backoff_and_the_same_key(channels):
    delivery = sms_to_lead()
    channels.statuses = [500, 502]
    start = datetime.now(UTC) + timedelta(seconds=1)
    assert run_once(now=start).retried == [delivery.id]
    d = fresh(delivery)
    assert (d.state, d.attempts) == (DeliveryState.PENDING, 1) and "HTTP 500" in (d.last_error or "")
    assert d.next_attempt_at == start + timedelta(seconds=60)
    assert run_once(now=start + timedelta(seconds=59)).handled == 0  # not due yet
    assert run_once(now=start + timedelta(seconds=60)).retried == [delivery.id]
    assert fresh(delivery).next_attempt_at == start + timedelta(seconds=60 + 240)  # 60 s × 4
    assert run_once(now=start + timedelta(seconds=300)).sent == [delivery.id]
    d = fresh(delivery)
    assert (d.state, d.attempts, d.last_error) == (DeliveryState.SENT, 3, None)
    tries = channels.requests_for(d.dedupe_key)
    assert len(tries) == 3 and len(channels.requests) == 3  # every try carried the same key ...
    assert len(channels.sms()) == 1  # ... and one SMS went out


def test_a_refusal_for_good_fails_at_once_and_the_admin_sees_the_reason_and_can_send_again(channels, make_client):
    delivery = sms_to_lead()
    channels.statuses = [400]
    assert run_once().failed == [delivery.id]
    d = fresh(delivery)
    assert d.state == DeliveryState.FAILED and d.last_error.startswith("HTTP 400")
    lead = make_client()
    lead.login("dy_shuji")
    assert lead.get("/notices/admin").status_code == 404  # the admin's page only
    client = make_client()
    client.login("hl_admin")
    page = client.get("/notices/admin").get_data(as_text=True)
    assert "发送失败的通知" in page and "HTTP 400" in page and "王建国" in page and "短信" in page
    response = client.post(f"/notices/admin/deliveries/{delivery.id}/retry")
    assert response.status_code == 303
    assert fresh(delivery).state == DeliveryState.PENDING
    assert run_once().sent == [delivery.id]
    assert "没有发送失败的通知" in client.get("/notices/admin").get_data(as_text=True)


def test_after_the_last_retry_the_delivery_fails_and_keeps_its_reason(channels, app, monkeypatch):
    monkeypatch.setitem(app.config, "NOTICE_MAX_ATTEMPTS", 3)
    delivery = sms_to_lead()
    channels.statuses = [503, 503, 503, 503]
    moment = datetime.now(UTC) + timedelta(seconds=1)
    for _ in range(3):
        run_once(now=moment)
        moment += timedelta(hours=7)
    d = fresh(delivery)
    assert (d.state, d.attempts) == (DeliveryState.FAILED, 3) and "HTTP 503" in d.last_error
    assert run_once(now=moment).handled == 0 and len(channels.requests) == 3


def test_quiet_hours_hold_until_they_end(channels):
    delivery = sms_to_lead(quiet_on=True, quiet_start="22:00", quiet_end="07:00")
    night = datetime(2026, 3, 2, 22, 30, tzinfo=CST)  # a Monday evening
    d = fresh(delivery)
    d.next_attempt_at = night
    db.session.commit()
    assert run_once(now=night).deferred == [delivery.id]
    d = fresh(delivery)
    assert (d.state, d.attempts) == (DeliveryState.PENDING, 0)  # waiting is not a failed attempt
    assert d.next_attempt_at == datetime(2026, 3, 3, 7, 0, tzinfo=CST)
    assert run_once(now=datetime(2026, 3, 3, 6, 59, tzinfo=CST)).handled == 0
    assert channels.requests == []
    assert run_once(now=datetime(2026, 3, 3, 7, 0, tzinfo=CST)).sent == [delivery.id]


@pytest.mark.parametrize(("start", "end", "at", "until"), [
    ("22:00", "07:00", (23, 59), (1, 7, 0)),  # spans midnight: ends tomorrow
    ("22:00", "07:00", (0, 30), (0, 7, 0)),  # after midnight: ends today
    ("22:00", "07:00", (7, 0), None),  # the end itself is outside
    ("22:00", "07:00", (21, 59), None),
    ("12:00", "14:00", (12, 0), (0, 14, 0)),  # a lunch break
    ("12:00", "14:00", (14, 1), None),
])
def test_quiet_until_reads_china_time(start, end, at, until):
    setting = NoticeSetting(quiet_start=notices.parse_clock(start), quiet_end=notices.parse_clock(end))
    now = datetime(2026, 5, 6, *at, tzinfo=CST)
    expected = None if until is None else datetime(2026, 5, 6 + until[0], until[1], until[2], tzinfo=CST)
    assert quiet_until(setting, now.astimezone(UTC)) == expected


def test_group_robots_get_their_shapes_and_mention_the_mobile(channels):
    sms_to_lead(sms_on=False, wecom_on=True, wecom_key="wecom-key-1234", dingtalk_on=True,
                dingtalk_token="ding-token-5678", dingtalk_secret="SECabc12345")
    outcome = run_once()
    assert len(outcome.sent) == 2
    wecom = next(r for r in channels.requests if r.path == "/wecom")
    assert wecom.query == {"key": ["wecom-key-1234"]}
    assert wecom.body["msgtype"] == "text" and "待您审批" in wecom.body["text"]["content"]
    assert wecom.body["text"]["mentioned_mobile_list"] == ["13900000001"]
    ding = next(r for r in channels.requests if r.path == "/dingtalk")
    assert ding.query["access_token"] == ["ding-token-5678"]
    stamp = ding.query["timestamp"][0]
    expected = base64.b64encode(hmac.new(b"SECabc12345", f"{stamp}\nSECabc12345".encode(), hashlib.sha256).digest())
    assert ding.query["sign"] == [expected.decode()]
    assert ding.body["at"] == {"atMobiles": ["13900000001"], "isAtAll": False}


@pytest.mark.parametrize(("errcode", "state"), [(45009, DeliveryState.PENDING), (93000, DeliveryState.FAILED)])
def test_a_robot_busy_is_retried_and_a_bad_webhook_fails(channels, errcode, state):
    delivery = sms_to_lead(sms_on=False, wecom_on=True, wecom_key="wecom-key-1234")
    channels.robot_answer = {"errcode": errcode, "errmsg": "nope"}
    run_once()
    d = fresh(delivery)
    assert d.state == state and f"errcode {errcode}" in d.last_error


# ---- a worker killed in the middle of a send (SQLite file, subprocesses) -------------------------------

def _wait_for(condition, what: str, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.05)


def _states(app) -> dict[str, str]:
    with app.app_context():
        rows = db.session.execute(select(NoticeDelivery.dedupe_key, NoticeDelivery.state)).all()
        db.scoped.remove()
    return {k: s.value for k, s in rows}


def _worker(env: dict[str, str]) -> subprocess.Popen:
    flask = str(Path(sys.executable).parent / "flask")
    return subprocess.Popen([flask, "--app", "finance", "worker", "--interval", "0.1", "--batch", "1"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.slow  # worker subprocesses, one killed mid-send
def test_a_worker_killed_mid_send_loses_nothing_and_sends_nothing_twice(tmp_path, provider):  # noqa: F811
    url = f"sqlite:///{tmp_path / 'kill.db'}"
    upgrade(url)
    app = create_app(app_config(url, tmp_path))
    with app.app_context():
        seed_base(PASSWORD)
        notices.save_settings(f.user("dy_shuji"), notices.SettingsInput(sms_on=True, mobile="13900000001"))
        for _ in range(3):  # three hand-offs to the village lead: three deliveries
            req = f.draft("1200.00")
            requests.submit(f.user("dy_baozhang"), req, client_key=uuid.uuid4().hex)
        db.session.commit()
        db.scoped.remove()
    keys = sorted(_states(app))
    assert len(keys) == 3
    env = {**os.environ, "DATABASE_URL": url, "SANZI_INSTANCE": str(tmp_path), "SECRET_KEY": "kill-test",
           "SANZI_SMS_URL": provider.url + "/sms", "SANZI_NOTICE_FILE": "", "SANZI_NOTICE_LEASE_SECONDS": "2",
           "SANZI_NOTICE_SEND_TIMEOUT": "5",  # the lease: 1.5 × batch (1) × timeout
           "SANZI_NOTICE_BACKOFF_SECONDS": "1"}
    provider.hold = threading.Event()
    provider.hold_first = 2  # the provider sends the 2nd SMS, then holds its answer back
    first = _worker(env)
    try:
        assert provider.holding.wait(60), "the worker never reached the second send"
        first.send_signal(signal.SIGKILL)  # in the middle of the send: the SMS went out, no answer yet
        first.wait(30)
    finally:
        if first.poll() is None:
            first.kill()
    provider.hold.set()
    states = _states(app)
    assert sorted(states.values()) == ["pending", "sending", "sent"]  # one done, one in flight, one waiting
    in_flight = next(k for k, s in states.items() if s == "sending")
    second = _worker(env)  # restarted: it takes the in-flight one again once its lease has run out
    try:
        _wait_for(lambda: set(_states(app).values()) == {"sent"}, "every delivery to be sent")
    finally:
        second.terminate()
        second.wait(30)
    per_key = Counter(r.key for r in provider.requests)
    assert per_key[in_flight] == 2  # sent again after the restart, with the same dedupe key ...
    assert all(per_key[k] == 1 for k in keys if k != in_flight)  # ... the others exactly once
    assert set(per_key) == set(keys)
    assert sorted(r.key for r in provider.sms()) == keys  # three SMS, none twice
    app.extensions[Database.key][0].dispose()


# ---- two workers on PostgreSQL ---------------------------------------------------------------------------

@pytest.fixture
def pg_app(tmp_path, provider):  # noqa: F811
    require_pg()
    url = pg.create_database()
    upgrade(url)
    config = app_config(url, tmp_path)
    point_channels_at(config, provider)
    app = create_app(config)
    with app.app_context():
        seed_base(PASSWORD)
        db.session.commit()
        db.scoped.remove()
    try:
        yield app
    finally:
        app.extensions[Database.key][0].dispose()
        pg.drop_database(url)


def _fill_outbox(app, n: int) -> None:
    with app.app_context():
        lead = f.user("dy_shuji")
        notices.save_settings(lead, notices.SettingsInput(sms_on=True, mobile="13900000001"))
        village = f.unit("HL-YC-01")
        for i in range(n):
            enqueue(NoticeKind.ALERT, key=f"race-{i}", village=village, recipients=[lead], link="/")
        db.session.commit()
        db.scoped.remove()


@pytest.mark.slow  # a PostgreSQL race between two workers
@pytest.mark.postgres
def test_two_workers_on_postgresql_never_send_one_delivery_twice(pg_app, provider):  # noqa: F811
    _fill_outbox(pg_app, 40)
    provider.delay_until_second = True  # the first send waits for a second one: both workers are mid-send
    outcomes: dict[str, object] = {}
    barrier = threading.Barrier(2)

    def work(name: str) -> None:
        with pg_app.app_context():
            barrier.wait(10)
            outcomes[name] = run_once(owner=name, batch=1)
            db.scoped.remove()

    threads = [threading.Thread(target=work, args=(name,)) for name in ("worker-a", "worker-b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert set(outcomes) == {"worker-a", "worker-b"}
    sent_a, sent_b = outcomes["worker-a"].sent, outcomes["worker-b"].sent  # type: ignore[attr-defined]
    assert sent_a and sent_b and not set(sent_a) & set(sent_b)  # both worked, on different deliveries
    assert len(sent_a) + len(sent_b) == 40
    keys = [r.key for r in provider.requests]
    assert len(keys) == len(set(keys)) == 40  # every delivery reached the provider exactly once
    assert set(_states(pg_app).values()) == {"sent"}


@pytest.mark.slow  # PostgreSQL row locks across two connections
@pytest.mark.postgres
def test_a_claim_skips_rows_another_worker_has_locked_instead_of_waiting(pg_app):
    _fill_outbox(pg_app, 6)
    engine = pg_app.extensions[Database.key][0]
    with engine.connect() as other:
        tx = other.begin()
        locked = other.execute(text("SELECT id FROM notice_delivery ORDER BY id LIMIT 3 FOR UPDATE")).scalars().all()
        with pg_app.app_context():
            other_claim = claim("worker-b", datetime.now(UTC) + timedelta(seconds=1), 10, 60)
            db.scoped.remove()
        tx.rollback()
    assert len(locked) == 3 and len(other_claim) == 3 and not set(locked) & set(other_claim)


def test_a_stopping_worker_gives_back_what_it_claimed_but_did_not_send(channels, monkeypatch):
    from finance.notices import worker

    first = sms_to_lead()
    req = f.draft("900.00")
    requests.submit(f.user("dy_baozhang"), req, client_key=uuid.uuid4().hex)
    db.session.commit()
    stop = threading.Event()
    real = worker._send

    def send_then_stop(*args, **kwargs):
        real(*args, **kwargs)
        stop.set()  # SIGTERM arrives during the first send

    monkeypatch.setattr(worker, "_send", send_then_stop)
    outcome = worker.run_once(owner="stopping", batch=10, stop=stop)
    assert outcome.sent == [first.id]
    rest = db.session.execute(select(NoticeDelivery).where(NoticeDelivery.id != first.id)
                              .execution_options(populate_existing=True)).scalars().all()
    assert rest and all((d.state, d.attempts, d.lease_owner) == (DeliveryState.PENDING, 0, None) for d in rest)

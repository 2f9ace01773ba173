"""Login, logout, throttling, CSRF, deactivation, password rehash and change, session cookies, SECRET_KEY."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from finance import create_app
from finance.auth import services
from finance.auth.models import User
from finance.config import ConfigError
from finance.db import Database, utcnow
from finance.ratelimit import RateLimit
from tests import factories as f
from tests.conftest import PASSWORD

WRONG = "用户名或密码不正确"


def failures(username: str) -> int:
    from finance.extensions import db

    return db.session.execute(select(func.coalesce(func.sum(RateLimit.count), 0)).where(
        RateLimit.scope == "user", RateLimit.key == username)).scalar_one()


def test_login_success_when_password_is_right(client):
    r = client.login("dy_baozhang")
    assert r.status_code == 302 and r.headers["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert "李秀英" in home.get_data(as_text=True)


def test_login_follows_only_local_next(client):
    client.get("/login")
    r = client.post("/login?next=//evil.example/x", data={"username": "dy_baozhang", "password": PASSWORD})
    assert r.headers["Location"] == "/"
    client.post("/logout")
    r = client.post("/login?next=/account/password", data={"username": "dy_baozhang", "password": PASSWORD})
    assert r.headers["Location"] == "/account/password"


def test_pages_need_login(client):
    r = client.get("/")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")


def test_wrong_password_and_unknown_user_get_the_same_answer(client):
    wrong = client.login("dy_baozhang", "not-the-password")
    unknown = client.login("nobody_here", "not-the-password")
    assert wrong.status_code == unknown.status_code == 200
    assert WRONG in wrong.get_data(as_text=True)
    assert WRONG in unknown.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still logged out
    assert failures("dy_baozhang") == 1 and failures("nobody_here") == 1


def test_throttled_after_five_failures_until_the_back_off_passes(client, db, app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_BACKOFF_BASE_SECONDS", 60)  # no wait runs out on a slow machine
    for _ in range(5):
        assert client.login("dy_shuji", "wrong-password").status_code == 200
    r = client.login("dy_shuji")  # even the right password, from a browser that never signed in as them
    assert r.status_code == 429
    page = r.get_data(as_text=True)
    assert "尝试次数过多" in page and "秒后再试" in page
    assert "Too Many" not in page and "exceeded" not in page
    assert client.get("/").status_code == 302
    # Another account is not affected.
    assert client.login("dy_jianwei").status_code == 302
    client.post("/logout")
    # Once the back-off has passed, the right password works again and clears the count.
    db.execute(update(RateLimit).where(RateLimit.scope == "user", RateLimit.key == "dy_shuji")
               .values(blocked_until=utcnow() - timedelta(seconds=1)))
    db.commit()
    assert client.login("dy_shuji").status_code == 302
    assert failures("dy_shuji") == 0


def test_each_failure_past_the_free_ones_doubles_the_wait(app, db):
    from finance.auth import throttle

    with app.test_request_context():
        waits = []
        for _ in range(9):
            attempt = throttle.admit("dy_shuji", "192.0.2.1", None)
            row = db.get(RateLimit, ("user", "dy_shuji"))
            waits.append(round((row.blocked_until - utcnow()).total_seconds()) if row.blocked_until else 0)
            db.execute(update(RateLimit).where(RateLimit.scope == "user")
                       .values(blocked_until=None))  # as if the wait were over
        assert waits == [0, 0, 0, 0, 1, 2, 4, 8, 16]
        assert attempt.keys
        assert throttle.backoff(40) == timedelta(seconds=900)


def test_login_without_csrf_token_is_400_and_changes_nothing(client):
    r = client.post("/login", data={"username": "dy_baozhang", "password": "wrong"}, csrf=False)
    assert r.status_code == 400
    assert "请求无效" in r.get_data(as_text=True)
    assert failures("dy_baozhang") == 0
    r = client.post("/login", data={"username": "dy_baozhang", "password": PASSWORD}, csrf=False)
    assert r.status_code == 400
    assert client.get("/").status_code == 302


def test_password_change_without_csrf_token_is_400_and_changes_nothing(client):
    client.login("dy_baozhang")
    before = f.user("dy_baozhang").password_hash
    r = client.post("/account/password", data={"current": PASSWORD, "new": "new-password-1",
                                               "confirm": "new-password-1"}, csrf=False)
    assert r.status_code == 400
    assert f.user("dy_baozhang").password_hash == before


def test_logout_needs_post(client):
    client.login("dy_baozhang")
    assert client.get("/logout").status_code == 405
    assert client.get("/").status_code == 200
    assert client.post("/logout").status_code == 302
    assert client.get("/").status_code == 302


def test_deactivated_user_cannot_log_in(client, db):
    services.set_active(f.user("dy_jianwei"), False, by=f.user("hl_admin"))
    db.commit()
    r = client.login("dy_jianwei")
    assert r.status_code == 200 and WRONG in r.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_deactivation_ends_a_running_session_on_its_next_request(make_client, db):
    victim, admin = make_client(), make_client()
    victim.login("dy_jianwei")
    assert victim.get("/").status_code == 200
    admin.login("hl_admin")
    r = admin.post(f"/admin/users/{f.user('dy_jianwei').id}/active", data={"active": "0"})
    assert r.status_code == 303
    assert victim.get("/").status_code == 302  # sent to the login page
    # Reactivated, the old session stays ended; a new login works.
    admin.post(f"/admin/users/{f.user('dy_jianwei').id}/active", data={"active": "1"})
    assert victim.get("/").status_code == 302
    assert victim.login("dy_jianwei").status_code == 302


def test_password_is_rehashed_on_login_when_argon2_parameters_change(app, client, monkeypatch):
    client.login("dy_baozhang")
    first = f.user("dy_baozhang").password_hash
    assert "m=1024,t=1,p=1" in first
    client.post("/logout")
    monkeypatch.setitem(app.config, "ARGON2_PARAMS", (2, 2048, 1))
    assert client.login("dy_baozhang").status_code == 302
    second = f.user("dy_baozhang").password_hash
    assert "m=2048,t=2,p=1" in second
    assert second != first
    client.post("/logout")
    assert client.login("dy_baozhang").status_code == 302  # the new hash verifies
    assert f.user("dy_baozhang").password_hash == second  # and is not rehashed again


# OWASP password storage cheat sheet: Argon2id minimums, each as costly to an attacker as the others.
OWASP_MINIMUMS = {(1, 47104), (2, 19456), (3, 12288), (4, 9216), (5, 7168)}  # (time cost, memory KiB), p=1


def test_the_argon2_parameters_meet_an_owasp_minimum():
    time_cost, memory_kib, parallelism = services.ARGON2_PARAMS
    assert parallelism >= 1
    assert any(time_cost >= t and memory_kib >= m for t, m in OWASP_MINIMUMS)
    assert services.ARGON2_PARAMS == (2, 19456, 1)  # chosen with bench/argon2_bench.py (README)


def test_a_hash_with_the_old_default_parameters_is_upgraded_at_the_next_login(app, client, monkeypatch, db):
    from argon2 import PasswordHasher

    monkeypatch.delitem(app.config, "ARGON2_PARAMS")  # the deployed default, not the tests' fast one
    user = f.user("dy_jianwei")
    old = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4).hash(PASSWORD)  # before issue 16
    user.password_hash = old
    db.commit()
    assert "m=65536,t=3,p=4" in old

    assert client.login("dy_jianwei", "not-the-password").status_code == 200  # refused: nothing upgraded
    assert f.user("dy_jianwei").password_hash == old
    assert client.login("dy_jianwei").status_code == 302
    upgraded = f.user("dy_jianwei").password_hash
    assert upgraded.startswith("$argon2id$") and "m=19456,t=2,p=1" in upgraded
    assert PasswordHasher().verify(upgraded, PASSWORD)
    client.post("/logout")
    assert client.login("dy_jianwei").status_code == 302
    assert f.user("dy_jianwei").password_hash == upgraded  # already current: not hashed again


def test_change_password_ends_other_sessions_and_keeps_this_one(make_client):
    phone, laptop = make_client(), make_client()
    phone.login("dy_baozhang")
    laptop.login("dy_baozhang")
    r = phone.post("/account/password", data={"current": PASSWORD, "new": "a-new-password",
                                              "confirm": "a-new-password"})
    assert r.status_code == 303
    assert phone.get("/").status_code == 200
    assert laptop.get("/").status_code == 302
    assert laptop.login("dy_baozhang", PASSWORD).status_code == 200  # the old password is gone
    assert laptop.login("dy_baozhang", "a-new-password").status_code == 302


@pytest.mark.parametrize(
    ("current", "new", "confirm", "message"),
    [
        ("wrong-password", "a-new-password", "a-new-password", "当前密码不正确"),
        (PASSWORD, "short", "short", "新密码至少需要 8 位"),
        (PASSWORD, "a-new-password", "another-password", "两次输入的新密码不一致"),
    ],
)
def test_change_password_refuses_bad_input(client, current, new, confirm, message):
    client.login("dy_baozhang")
    before = f.user("dy_baozhang").password_hash
    r = client.post("/account/password", data={"current": current, "new": new, "confirm": confirm})
    assert r.status_code == 422
    assert message in r.get_data(as_text=True)
    assert f.user("dy_baozhang").password_hash == before


def test_session_cookie_is_httponly_and_samesite_lax(client):
    r = client.login("dy_baozhang")
    cookie = next(h for h in r.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http in development


def test_session_cookie_is_secure_in_production(monkeypatch, tmp_path):
    monkeypatch.setenv("SANZI_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "production-secret-for-the-test")
    monkeypatch.setenv("SANZI_PUBLIC_BASE_URL", "https://sanzi.example.gov.cn")
    prod = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "INSTANCE_PATH": str(tmp_path)})
    try:
        assert prod.config["SECRET_KEY"] == "production-secret-for-the-test"
        r = prod.test_client().get("/login")  # the CSRF token goes into the session
        cookie = next(h for h in r.headers.getlist("Set-Cookie") if h.startswith("session="))
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    finally:
        prod.extensions[Database.key][0].dispose()


def test_secret_key_is_required_in_production(monkeypatch, tmp_path):
    monkeypatch.setenv("SANZI_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "INSTANCE_PATH": str(tmp_path)})
    assert not (tmp_path / "secret_key").exists()


def test_local_secret_key_is_generated_once_into_instance(monkeypatch, tmp_path):
    monkeypatch.delenv("SANZI_ENV", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    config = {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "INSTANCE_PATH": str(tmp_path)}
    first = create_app(config).config["SECRET_KEY"]
    second = create_app(config).config["SECRET_KEY"]
    assert first == second and len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_user_loader_refuses_stale_or_malformed_tokens(app, db):
    from flask import session

    from finance.auth import sessions

    user: User = f.user("dy_baozhang")
    with app.test_request_context():
        sessions.start(user)
        assert services.load_user(f"{user.id}:{user.session_version}") is user
        session.pop(sessions.SESSION_KEY)
        assert services.load_user(f"{user.id}:{user.session_version}") is None  # not signed in here
    assert services.load_user(f"{user.id}:{user.session_version + 1}") is None
    assert services.load_user("garbage") is None
    assert services.load_user("999999:1") is None

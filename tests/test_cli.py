"""The command line: `flask --app finance create-user` and `seed-demo`."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

import audit
from audit.models import Event
from finance.auth import services
from finance.auth.models import User
from finance.roles import Role
from tests import factories as f


def run(app, *args: str, input: str | None = None):
    return app.test_cli_runner().invoke(args=list(args), input=input)


def users(db) -> int:
    return db.execute(select(func.count(User.id))).scalar_one()


def test_create_user_reads_the_password_from_stdin(app, db):
    r = run(app, "create-user", "--username", "yc_shenhe2", "--display-name", "钱晓", "--role", "agency_reviewer",
            "--org", "HL-YC", "--password-stdin", input="a-long-password\n")
    assert r.exit_code == 0, r.output
    assert "created yc_shenhe2" in r.output and "a-long-password" not in r.output
    user = f.user("yc_shenhe2")
    assert [(a.role, a.org_unit.code) for a in user.assignments] == [(Role.AGENCY_REVIEWER, "HL-YC")]
    with app.test_request_context():
        assert services.authenticate("yc_shenhe2", "a-long-password") is user
    event = db.execute(select(Event).where(Event.chain_id == audit.SYSTEM_CHAIN, Event.action == "user_create")
                       .order_by(Event.seq.desc()).limit(1)).scalar_one()
    assert event.subject_id == str(user.id) and event.actor_id is None


def test_create_user_prompts_for_the_password_twice(app, db):
    r = run(app, "create-user", "--username", "prompted", "--display-name", "提示", "--role", "liaison",
            "--org", "HL-YC-01", input="password-one\npassword-one\n")
    assert r.exit_code == 0, r.output
    assert f.user("prompted").display_name == "提示"


def test_create_user_refuses_an_unknown_org_unit(app, db):
    before = users(db)
    r = run(app, "create-user", "--username", "lost", "--display-name", "迷路", "--role", "accountant",
            "--org", "NOWHERE", "--password-stdin", input="a-long-password\n")
    assert r.exit_code == 1 and "no org unit with code NOWHERE" in r.output
    assert users(db) == before


def test_create_user_refuses_bad_input_and_changes_nothing(app, db):
    before = users(db)
    short = run(app, "create-user", "--username", "shorty", "--display-name", "短", "--role", "accountant",
                "--org", "HL-YC-01", "--password-stdin", input="short\n")
    assert short.exit_code == 1 and "密码至少需要 8 位" in short.output
    level = run(app, "create-user", "--username", "wrong_level", "--display-name", "错级", "--role", "cashier",
                "--org", "HL-YC-01", "--password-stdin", input="a-long-password\n")
    assert level.exit_code == 1 and "只能设置在" in level.output
    taken = run(app, "create-user", "--username", "dy_baozhang", "--display-name", "重名", "--role", "accountant",
                "--org", "HL-YC-01", "--password-stdin", input="a-long-password\n")
    assert taken.exit_code == 1 and "已被使用" in taken.output
    role = run(app, "create-user", "--username", "norole", "--display-name", "无", "--role", "king",
               "--org", "HL-YC-01", "--password-stdin", input="a-long-password\n")
    assert role.exit_code == 2
    assert users(db) == before


def test_seed_demo_refuses_a_database_with_data(app, db):
    r = run(app, "seed-demo")
    assert r.exit_code == 1 and "empty database only" in r.output


def test_seed_demo_if_empty_prints_the_logins_of_an_existing_demo(app, db):
    before = users(db)
    r = run(app, "seed-demo", "--if-empty")
    assert r.exit_code == 0, r.output
    assert "dy_baozhang" in r.output and "李秀英" in r.output and "村报账员" in r.output
    assert "hl_admin" in r.output and "sanzi2026" in r.output
    assert users(db) == before


@pytest.mark.slow  # the whole demo, photos drawn
def test_seed_demo_fills_an_empty_database_and_prints_working_logins(tmp_path):
    from finance import create_app
    from finance.db import Database
    from finance.migrate import upgrade
    from tests.conftest import FAST_ARGON2

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    upgrade(url)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path),
                      "UPLOAD_DIR": str(tmp_path / "uploads"), "AUDIT_KEY_FILE": str(tmp_path / "key.pem"),
                      "ARGON2_PARAMS": FAST_ARGON2})
    with app.app_context():  # the flask command pushes one; the test runner does not
        r = run(app, "seed-demo", "--password", "demo-pass-1")
        assert r.exit_code == 0, r.output
        assert "演示账号（密码均为 demo-pass-1）" in r.output and "hl_admin" in r.output
        with app.test_request_context():
            assert services.authenticate("dy_baozhang", "demo-pass-1") is not None
        assert run(app, "seed-demo").exit_code == 1
    app.extensions[Database.key][0].dispose()

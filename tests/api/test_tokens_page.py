"""The /account/tokens page: make a token (shown once, stored hashed), list it with its last use, revoke
it; an admin makes tokens for a system account of their units and for no one else. Each change is an
event on the system chain."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

import audit
from finance.api import tokens
from finance.api.models import ApiToken
from tests import factories as f

SECRET_RE = re.compile(r'<code class="secret-value">(sz_[A-Za-z0-9_-]+)</code>')


def test_a_token_is_shown_once_stored_hashed_and_works_until_revoked(client: Any, db: Any) -> None:
    client.login("dy_baozhang")
    r = client.post("/account/tokens", data={"name": "手机应用", "days": "30"})
    assert r.status_code == 200
    secret = SECRET_RE.search(r.get_data(as_text=True)).group(1)
    row = db.execute(select(ApiToken).where(ApiToken.name == "手机应用")).scalar_one()
    assert row.token_hash == tokens.digest(secret) and secret not in (row.prefix + row.token_hash)
    assert (row.expires_at - row.created_at).days == 30
    page = client.get("/account/tokens").get_data(as_text=True)
    assert "手机应用" in page and secret not in page and "从未使用" in page
    api = client.application.test_client()
    assert api.get("/api/v1/todo", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    assert "最近使用" in client.get("/account/tokens").get_data(as_text=True)
    r = client.post(f"/account/tokens/{row.id}/revoke")
    assert r.status_code == 303
    assert api.get("/api/v1/todo", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    events = db.execute(select(audit.Event).where(audit.Event.subject_type == "api_token",
                                                  audit.Event.subject_id == str(row.id))).scalars().all()
    assert [e.action for e in events] == ["api_token_create", "api_token_revoke"]
    assert all(e.chain_id == audit.SYSTEM_CHAIN for e in events)


def test_a_token_needs_a_name_and_a_valid_expiry(client: Any, db: Any) -> None:
    client.login("dy_baozhang")
    r = client.post("/account/tokens", data={"name": "", "days": "30"})
    assert r.status_code == 422 and "请填写令牌名称。" in r.get_data(as_text=True)
    r = client.post("/account/tokens", data={"name": "x", "days": "9999"})
    assert r.status_code == 422 and "有效期须在" in r.get_data(as_text=True)
    assert db.execute(select(ApiToken)).first() is None


def test_no_one_revokes_or_sees_another_users_token(client: Any, db: Any) -> None:
    owner = f.user("dy_baozhang")
    token, _secret = tokens.create_token(owner, "mine", 30, by=owner)
    db.commit()
    client.login("dy_shuji")
    assert client.post(f"/account/tokens/{token.id}/revoke").status_code == 404
    assert "mine" not in client.get("/account/tokens").get_data(as_text=True)
    assert db.get(ApiToken, token.id).revoked_at is None


def test_an_admin_makes_tokens_for_a_system_account_only(client: Any, db: Any) -> None:
    bank = f.user("yc_chuna")  # stands in for a bank's system account here
    person = f.user("dy_shuji")
    tokens.mark_system_account(bank)
    db.commit()
    client.login("hl_admin")
    page = client.get("/account/tokens").get_data(as_text=True)
    assert "系统账号" in page and "yc_chuna" in page and "dy_shuji" not in page
    r = client.post("/account/tokens", data={"name": "银行对账", "days": "90", "owner": str(bank.id)})
    assert r.status_code == 200
    made = db.execute(select(ApiToken).where(ApiToken.name == "银行对账")).scalar_one()
    assert made.user_id == bank.id and made.created_by_id == f.user("hl_admin").id
    assert client.post("/account/tokens", data={"name": "x", "days": "90", "owner": str(person.id)}).status_code == 404
    # The account's owner-side rules hold for a person: an admin is not given their tokens.
    assert not tokens.may_manage(f.user("hl_admin"), person)


def test_the_tokens_page_is_for_signed_in_users_only(client: Any) -> None:
    r = client.get("/account/tokens")
    assert r.status_code == 302 and "/login" in r.headers["Location"]

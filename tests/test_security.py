"""Issue 15, the outside review: each finding as a test that failed on c54e1ef, on SQLite and PostgreSQL.
The races of items 3 and 4 are in tests/test_security_races.py, the walk over every route (item 12) in
tests/test_hostile_params.py."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from audit.models import Event
from finance.extensions import db as fdb
from finance.payment_requests import services as requests
from finance.payments import services as payments
from finance.payments.models import Payment
from finance.payments.references import normalise_reference
from finance.workflow import State
from tests import factories as f


def events() -> int:
    return fdb.session.execute(select(func.count(Event.id))).scalar_one()


# --- 3. one bank transfer settles one request -----------------------------------------------------

@pytest.mark.parametrize("typed", ["prb1", "PRB 1", " PRB1 ", "ＰＲＢ１", "PRB-1", "prb\u200b1", "P R B\u30001",
                                   "PRB/1", "prb.1", "PRB\t1"])
def test_a_bank_reference_is_used_once_whatever_its_spelling(db: Any, typed: str) -> None:
    first, second = f.in_state(State.APPROVED), f.in_state(State.APPROVED)
    payments.record_payment(f.user("yc_chuna"), first, f.payment_input(first, bank_reference="PRB1"))
    fdb.session.commit()
    before = events()
    with pytest.raises(requests.RequestError) as exc:
        payments.record_payment(f.user("yc_chuna"), second, f.payment_input(second, bank_reference=typed))
    assert exc.value.errors == {"bank_reference": "该银行流水号已被使用过，请核对。"}
    assert events() == before and second.state == State.APPROVED


def test_a_bank_reference_is_stored_normalised(db: Any) -> None:
    req = f.in_state(State.APPROVED)
    payments.record_payment(f.user("yc_chuna"), req, f.payment_input(req, bank_reference=" nyh-2026 ０１ "))
    fdb.session.commit()
    pay = fdb.session.execute(select(Payment).where(Payment.request_id == req.id)).scalar_one()
    assert pay.bank_reference == pay.reference_key == "NYH202601"
    event = fdb.session.execute(select(Event).order_by(Event.id.desc()).limit(1)).scalar_one()
    assert '"bank_reference":"NYH202601"' in (event.after or "")


@pytest.mark.parametrize(("typed", "message"), [
    ("- -", "请填写银行流水号。"),
    ("X" * 65, "银行流水号最多 64 位。"),
    ("PRB一号", "银行流水号只能包含字母和数字。"),
    ("РRB1", "银行流水号只能包含字母和数字。"),  # a Cyrillic Р, which no normal form makes Latin
])
def test_a_bank_reference_that_is_not_letters_and_digits_is_refused(db: Any, typed: str, message: str) -> None:
    req = f.in_state(State.APPROVED)
    with pytest.raises(requests.RequestError) as exc:
        payments.record_payment(f.user("yc_chuna"), req, f.payment_input(req, bank_reference=typed))
    assert exc.value.errors == {"bank_reference": message}


def test_the_reference_normal_form() -> None:
    assert normalise_reference("ａｂｃ－１２３　４") == "ABC1234"
    assert normalise_reference("abc\u00a0\u2009\u200b12") == "ABC12"
    assert normalise_reference(None) == ""


# --- 6. logout ends the session on the server; login starts a new one -------------------------------

def test_logout_ends_the_session_server_side(client: Any, make_client: Any) -> None:
    assert client.login("dy_baozhang").status_code == 302
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief = make_client()
    thief.set_cookie("session", cookie.value)
    assert thief.get("/").status_code == 200  # a copy works while the session lives
    assert client.post("/logout").status_code == 302
    assert thief.get("/").status_code == 302  # and stops working at logout
    assert thief.get("/requests").status_code == 302
    again = make_client()
    again.set_cookie("session", cookie.value)
    assert again.get("/").status_code == 302


def test_login_clears_the_session_and_rotates_the_csrf_secret(client: Any) -> None:
    client.get("/login?lang=en")
    old_form_token = client.fetch_token()
    with client.session_transaction() as sess:
        sess["planted"] = "by whoever used this browser before"
        before = sess.get("csrf_token")
    assert before
    assert client.login("dy_baozhang").status_code == 302
    home = client.get("/")
    assert home.status_code == 200 and '<html lang="en">' in home.get_data(as_text=True)  # the language stays
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess.get("csrf_token") != before
    # A form token of the session before login no longer passes; the new one does.
    assert client.post("/logout", data={"csrf_token": old_form_token}).status_code == 400
    assert client.post("/logout").status_code == 302


# --- 7. after login, only the app's own pages ------------------------------------------------------

@pytest.mark.parametrize("hostile", [
    "/%09/evil.example", "/%0a/evil.example", "/%0d%0aSet-Cookie:%20x=1", "%09//evil.example",
    "//evil.example", "///evil.example", "/\\evil.example", "/%5Cevil.example", "https://evil.example/",
    "http:evil.example", "javascript:alert(1)", "%20//evil.example", "/%E3%80%80/evil.example",
    "/%2F%2Fevil.example", "/no-such-page", "/logout", "/login?next=//evil.example", "/" + "a" * 3000,
    "/%ff%fe", "/requests/%0a1",
])
def test_login_next_goes_only_to_the_apps_own_pages(client: Any, hostile: str) -> None:
    client.get("/login")
    r = client.post(f"/login?next={hostile}", data={"username": "dy_baozhang", "password": "password123"})
    assert r.status_code == 302
    assert r.headers["Location"] == "/"


def test_login_next_with_a_nul_is_a_400_not_a_500(client: Any) -> None:
    client.get("/login")
    r = client.post("/login?next=/%00", data={"username": "dy_baozhang", "password": "password123"})
    assert r.status_code == 400  # no request may carry a NUL (item 12)


@pytest.mark.parametrize("target", ["/requests?state=pending", "/account/password", "/requests/1",
                                    "/oversight/requests?village=3&min=10"])
def test_login_next_keeps_a_page_of_the_app(client: Any, target: str) -> None:
    from urllib.parse import quote

    client.get("/login")
    r = client.post(f"/login?next={quote(target)}", data={"username": "dy_baozhang", "password": "password123"})
    assert r.headers["Location"] == target


# --- 8. login throttling, common passwords, passwords an admin set ---------------------------------

def personal_failures(scope: str, key: str) -> int:
    from finance.ratelimit import RateLimit

    row = fdb.session.get(RateLimit, (scope, key))
    return row.count if row is not None else 0


def login_from(client: Any, username: str, password: str, addr: str) -> Any:
    client.csrf_token = None
    client.environ_base["REMOTE_ADDR"] = addr
    return client.post("/login", data={"username": username, "password": password})


def test_a_login_failure_is_counted_before_the_password_is_checked(client: Any, monkeypatch: Any) -> None:
    from finance.auth import services as accounts

    def crash(*_args: Any) -> None:
        raise RuntimeError("the password check died half way")

    monkeypatch.setattr(accounts, "authenticate", crash)
    with pytest.raises(RuntimeError):
        client.login("dy_shuji", "any-guess")
    assert personal_failures("user", "dy_shuji") == 1  # counted, and committed, before the check


def test_a_client_spraying_many_usernames_is_stopped(client: Any, make_client: Any, app: Any) -> None:
    limit = app.config["LOGIN_CLIENT_LIMIT"]
    for n in range(limit):
        assert login_from(client, f"nobody_{n}", "guess-password", "198.51.100.7").status_code == 200
    r = login_from(client, "dy_shuji", "guess-password", "198.51.100.7")
    assert r.status_code == 429 and "秒后再试" in r.get_data(as_text=True)
    assert login_from(make_client(), "dy_shuji", "password123", "198.51.100.8").status_code == 302


def test_the_global_limit_stops_spraying_from_many_addresses(client: Any, make_client: Any, app: Any,
                                                             monkeypatch: Any) -> None:
    owner = make_client()
    assert login_from(owner, "dy_shuji", "password123", "203.0.113.1").status_code == 302
    owner.post("/logout")
    monkeypatch.setitem(app.config, "LOGIN_GLOBAL_LIMIT", 10)
    for n in range(10):
        assert login_from(client, f"user_{n}", "guess-password", f"192.0.2.{n + 1}").status_code == 200
    assert login_from(client, "dy_jianwei", "password123", "192.0.2.200").status_code == 429
    # A browser that signed in before still gets in.
    assert login_from(owner, "dy_shuji", "password123", "203.0.113.1").status_code == 302


def test_guessing_slows_the_attacker_and_never_locks_the_owner_out(client: Any, make_client: Any, app: Any,
                                                                    monkeypatch: Any) -> None:
    monkeypatch.setitem(app.config, "LOGIN_BACKOFF_BASE_SECONDS", 60)  # no wait runs out on a slow machine
    owner = make_client()
    assert login_from(owner, "yc_shenhe", "password123", "203.0.113.5").status_code == 302
    owner.post("/logout")
    statuses = [login_from(client, "yc_shenhe", f"guess-{n}", "198.51.100.9").status_code for n in range(12)]
    assert statuses[:5] == [200] * 5 and set(statuses[5:]) == {429}
    # The attacker now waits, even with the right password ...
    assert login_from(client, "yc_shenhe", "password123", "198.51.100.9").status_code == 429
    # ... and the owner, on the phone they signed in from before, does not.
    assert login_from(owner, "yc_shenhe", "password123", "203.0.113.5").status_code == 302


def test_a_browser_that_signed_in_before_has_its_own_back_off(make_client: Any, app: Any, monkeypatch: Any) -> None:
    monkeypatch.setitem(app.config, "LOGIN_BACKOFF_BASE_SECONDS", 60)
    owner = make_client()
    assert login_from(owner, "yc_shenhe", "password123", "203.0.113.5").status_code == 302
    owner.post("/logout")
    statuses = [login_from(owner, "yc_shenhe", "typo-password", "203.0.113.5").status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]  # a stolen device cookie does not buy unlimited guesses


@pytest.mark.parametrize("weak", ["Password123", "Qwerty123!", "sanzi2026", "Sanzi-wangbao", "dy_baozhang88",
                                  "李秀英12345678", "5201314520", "13912345678", "aaaaaaaaaa", "iloveyou2026",
                                  "123456789a"])
def test_common_and_guessable_passwords_are_refused(client: Any, weak: str) -> None:
    client.login("dy_baozhang")
    before = f.user("dy_baozhang").password_hash
    r = client.post("/account/password", data={"current": "password123", "new": weak, "confirm": weak})
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert "太常见" in page or "容易猜到" in page
    assert f.user("dy_baozhang").password_hash == before


def test_the_common_password_list_ships_with_the_package() -> None:
    from finance.auth.passwords import common_passwords

    words = common_passwords()
    assert len(words) >= 10_000 and {"123456", "password", "qwerty", "5201314"} <= words


def test_an_admin_cannot_set_a_common_password(client: Any) -> None:
    client.login("hl_admin")
    r = client.post("/admin/users/new", data={"username": "weak_one", "display_name": "弱密码", "phone": "",
                                              "password": "password1", "role": "accountant",
                                              "org_unit": f.unit("HL-YC-01").id})
    assert r.status_code == 422 and "太常见" in r.get_data(as_text=True)


def test_a_password_an_admin_set_must_be_changed_at_first_login(client: Any, make_client: Any) -> None:
    client.login("hl_admin")
    r = client.post("/admin/users/new", data={"username": "xin_kuaiji", "display_name": "辛会计", "phone": "",
                                              "password": "temp-Xk-4821", "role": "accountant",
                                              "org_unit": f.unit("HL-YC-01").id})
    assert r.status_code == 303 and f.user("xin_kuaiji").must_change_password
    newcomer = make_client()
    assert newcomer.login("xin_kuaiji", "temp-Xk-4821").headers["Location"] == "/account/password"
    for path in ("/", "/requests", "/requests/new", "/documents/disclosure"):
        assert newcomer.get(path).headers.get("Location") == "/account/password", path
    r = newcomer.post("/requests/new", data={"payee_name": "某人", "amount": "100"})
    assert r.status_code == 303 and r.headers["Location"] == "/account/password"
    same = newcomer.post("/account/password", data={"current": "temp-Xk-4821", "new": "temp-Xk-4821",
                                                    "confirm": "temp-Xk-4821"})
    assert "不能与当前密码相同" in same.get_data(as_text=True)
    r = newcomer.post("/account/password", data={"current": "temp-Xk-4821", "new": "my-own-Hx-7310",
                                                 "confirm": "my-own-Hx-7310"})
    assert r.status_code == 303 and not f.user("xin_kuaiji").must_change_password
    assert newcomer.get("/").status_code == 200


# --- 9. images: a pixel cap at upload, reduced decoding for copies ----------------------------------

def png_of(size: tuple[int, int]) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("1", size).save(buf, "PNG")  # a bitmap of `size`, in a file of a few KiB
    return buf.getvalue()


@pytest.mark.parametrize("size", [(7500, 6000), (10000, 10000), (20000, 20000)])
def test_images_above_the_pixel_cap_are_refused_at_upload(client: Any, size: tuple[int, int]) -> None:
    from finance.payment_requests.models import Attachment

    data = png_of(size)
    assert len(data) < 2 * 1024 * 1024
    req = f.draft(with_attachments=False)
    client.login("dy_baozhang")
    import io

    r = client.post(f"/requests/{req.id}/attachments", data={"kind": "invoice", "file": (io.BytesIO(data), "a.png")},
                    follow_redirects=True)
    page = r.get_data(as_text=True)
    assert "图片像素太多（超过 40 百万像素）" in page
    assert fdb.session.execute(select(func.count(Attachment.id)).where(Attachment.request_id == req.id)
                               ).scalar_one() == 0


def test_an_image_under_the_cap_is_accepted(db: Any) -> None:
    req = f.draft(with_attachments=False)
    att = requests.add_attachment(f.user("dy_baozhang"), req, requests.AttachmentKind.INVOICE, "a.png",
                                  png_of((6000, 6000)))
    assert att.content_type == "image/png"


def test_display_copies_of_a_big_photo_are_decoded_at_reduced_scale(db: Any, monkeypatch: Any) -> None:
    import io

    from PIL import Image

    from finance import storage

    buf = io.BytesIO()
    Image.new("L", (6000, 4000), 128).save(buf, "JPEG", quality=60)
    stored = storage.save(buf.getvalue())
    decoded: list[tuple[int, int]] = []
    real_thumbnail = Image.Image.thumbnail

    def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
        decoded.append(self.size)  # after draft(): the scale the JPEG decoder will decode at
        return real_thumbnail(self, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "thumbnail", spy)
    display = storage.display_path(stored.sha256, stored.content_type)
    thumb = storage.thumbnail_path(stored.sha256, stored.content_type)
    assert display.name.endswith(".display.jpg") and thumb.name.endswith(".thumb.jpg")
    assert all(w * h <= 6000 * 4000 // 4 for w, h in decoded) and len(decoded) == 2
    with Image.open(display) as img:
        assert max(img.size) == storage.DISPLAY_EDGE


def test_an_oversized_image_stored_before_the_cap_is_never_decoded(db: Any) -> None:
    from finance import storage

    data = png_of((9000, 9000))
    import hashlib

    digest = hashlib.sha256(data).hexdigest()
    path = storage.path_for(digest)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    assert storage.display_path(digest, "image/png") == path
    assert storage.thumbnail_path(digest, "image/png") == path


# --- 10. no stored copies of private pages; uploaded files never shown from the app's origin ---------

@pytest.mark.parametrize(("who", "paths"), [
    ("dy_baozhang", ["/", "/requests", "/requests/new", "/account/password", "/documents/disclosure"]),
    ("yc_lianqing", ["/oversight/", "/oversight/requests", "/documents/trail-report", "/requests"]),
    ("hl_admin", ["/admin/", "/admin/users", "/admin/users/new"]),
])
def test_private_pages_are_never_stored(client: Any, who: str, paths: list[str]) -> None:
    client.login(who)
    for path in paths:
        r = client.get(path)
        assert r.status_code == 200, path
        assert r.headers.get("Cache-Control") == "no-store", path
        assert "Expires" not in r.headers
    static = client.get("/static/css/app.css")
    assert "no-store" not in static.headers.get("Cache-Control", "")
    static.close()


def upload(client: Any, req: Any, data: bytes, name: str, kind: str = "contract") -> Any:
    import io

    from finance.payment_requests.models import Attachment

    r = client.post(f"/requests/{req.id}/attachments", data={"kind": kind, "file": (io.BytesIO(data), name)})
    assert r.status_code == 303
    return fdb.session.execute(select(Attachment).where(Attachment.request_id == req.id)
                               .order_by(Attachment.id.desc()).limit(1)).scalar_one()


def test_uploaded_pdfs_are_downloaded_not_shown_from_the_apps_origin(client: Any, make_client: Any) -> None:
    req = f.draft(with_attachments=False)
    client.login("dy_baozhang")
    att = upload(client, req, f.pdf_bytes(), "合同.pdf")
    liaison = make_client()
    liaison.login("yc_lianqing")
    for who, url in ((client, f"/requests/attachments/{att.id}"),
                     (client, f"/requests/attachments/{att.id}?original=1"),
                     (liaison, f"/oversight/attachments/{att.id}")):
        r = who.get(url)
        assert r.status_code == 200 and r.mimetype == "application/pdf"
        assert r.headers["Content-Disposition"].startswith("attachment;"), url
        assert "sandbox" in r.headers["Content-Security-Policy"]
        assert r.headers["Cache-Control"] == "no-store" and r.headers["X-Content-Type-Options"] == "nosniff"
    photo = upload(client, req, f.jpeg_bytes(), "发票.jpg", kind="invoice")
    r = client.get(f"/requests/attachments/{photo.id}")
    assert r.headers["Content-Disposition"].startswith("inline;") and "sandbox" in r.headers["Content-Security-Policy"]


def test_chinese_file_names_are_kept_in_content_disposition(client: Any) -> None:
    from urllib.parse import quote

    req = f.draft(with_attachments=False)
    client.login("dy_baozhang")
    att = upload(client, req, f.pdf_bytes(), "采购合同（东岳村）.pdf")
    header = client.get(f"/requests/attachments/{att.id}").headers["Content-Disposition"]
    assert f"filename*=UTF-8''{quote('采购合同（东岳村）.pdf', safe='')}" in header
    assert f'filename="sanzi-attachment-{att.id}.pdf"' in header  # a readable ASCII name for old clients
    named = upload(client, req, f.jpeg_bytes(color="red"), "invoice 2026-01 发票.jpg", kind="invoice")
    header = client.get(f"/requests/attachments/{named.id}").headers["Content-Disposition"]
    assert 'filename="invoice-2026-01.jpg"' in header


# --- 11. HSTS, the public base URL, request ids, client addresses behind proxies -------------------

def production_app(monkeypatch: Any, tmp_path: Any, **env: str) -> Any:
    from finance import create_app

    monkeypatch.setenv("SANZI_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "production-secret-for-the-test")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}", "INSTANCE_PATH": str(tmp_path)})


def test_production_sends_hsts(monkeypatch: Any, tmp_path: Any, client: Any) -> None:
    from finance.db import Database

    prod = production_app(monkeypatch, tmp_path, SANZI_PUBLIC_BASE_URL="https://sanzi.example.gov.cn")
    try:
        r = prod.test_client().get("/oversight/public-key.pem")
        assert r.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    finally:
        prod.extensions[Database.key][0].dispose()
    assert "Strict-Transport-Security" not in client.get("/login").headers  # plain http in development


@pytest.mark.parametrize("base", [None, "", "http://sanzi.example.gov.cn", "https://sanzi.example.gov.cn/x?y=1",
                                  "sanzi.example.gov.cn", "https://user:pw@sanzi.example.gov.cn"])
def test_production_requires_a_public_base_url(monkeypatch: Any, tmp_path: Any, base: str | None) -> None:
    from finance.config import ConfigError

    monkeypatch.delenv("SANZI_PUBLIC_BASE_URL", raising=False)
    with pytest.raises(ConfigError):
        production_app(monkeypatch, tmp_path, **({"SANZI_PUBLIC_BASE_URL": base} if base is not None else {}))


def test_printed_urls_never_follow_the_host_header(app: Any, db: Any, monkeypatch: Any) -> None:
    from finance.documents import services as documents

    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://sanzi.example.gov.cn")
    with app.test_request_context("/", headers={"Host": "evil.example"}):
        assert documents.verification_url("tok").startswith("https://sanzi.example.gov.cn/v/tok")
        assert documents.public_disclosure_url(f.unit("HL-YC-01"), 2026, 1).startswith(
            "https://sanzi.example.gov.cn/gongkai/HL-YC-01/2026-01")
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", None)
    monkeypatch.setitem(app.config, "PRODUCTION", True)
    with app.test_request_context("/", headers={"Host": "evil.example"}), pytest.raises(RuntimeError):
        documents.verification_url("tok")


def newest_event() -> Event:
    return fdb.session.execute(select(Event).order_by(Event.id.desc()).limit(1)).scalar_one()


@pytest.mark.parametrize(("given", "kept"), [
    ("req-2026-abcdef12", True), ("a" * 64, True), ("a" * 65, False), ("short", False), ("x" * 300, False),
    ("abc def 12345", False), ("abcd\u00e9fgh1234", False), ("<script>alert(1)</script>", False), ("", False),
])
def test_a_request_id_is_taken_only_in_a_strict_format(client: Any, given: str, kept: bool) -> None:
    import re

    req = f.in_state(State.PENDING)
    client.login("yc_lianqing")
    r = client.get(f"/oversight/attachments/{req.attachments[0].id}", headers={"X-Request-Id": given})
    assert r.status_code == 200
    recorded = newest_event().http_request_id
    assert recorded == given if kept else re.fullmatch(r"[0-9a-f]{32}", recorded or "")


def test_the_client_address_comes_from_the_trusted_proxies_only(client: Any, app: Any, monkeypatch: Any) -> None:
    req = f.in_state(State.PENDING)
    client.login("yc_lianqing")
    url = f"/oversight/attachments/{req.attachments[0].id}"
    client.get(url, headers={"X-Forwarded-For": "203.0.113.9"})
    assert newest_event().client_addr == "127.0.0.1"  # no proxy trusted: the header is the client's word
    monkeypatch.setitem(app.config, "TRUSTED_PROXIES", 1)
    client.get(url, headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.9"})
    assert newest_event().client_addr == "203.0.113.9"  # the address the one trusted proxy saw
    client.get(url, headers={"X-Forwarded-For": "not-an-address-" + "x" * 80})
    assert newest_event().client_addr is None  # never text of any length in the trail


# --- 12. bounded parameters (the walk over every route is tests/test_hostile_params.py) ---------------

def test_out_of_range_parameters_are_answered_with_a_message(client: Any, make_client: Any) -> None:
    client.login("dy_baozhang")
    # a filter that cannot be used is said under its field and left out of the search (payment_requests.filters)
    r = client.get("/requests?date_to=9999-12-31")
    assert r.status_code == 200 and "日期须在 2000-01-01 至 2099-12-31 之间" in r.get_data(as_text=True)
    assert client.get("/requests/99999999999999999999").status_code == 404
    for cursor in ("2026-01-01T00:00:00_1", "99999999999999999-1", "1767225600000000-99999999999999999999"):
        assert client.get(f"/?after={cursor}").status_code == 200  # a bad cursor is the first page (keyset)
        assert client.get(f"/requests?after={cursor}").status_code == 200
    liaison = make_client()
    liaison.login("yc_lianqing")
    r = liaison.get("/oversight/requests?amount_min=1e30")
    assert r.status_code == 200 and "金额" in r.get_data(as_text=True)
    assert liaison.get("/oversight/chains/village:HL-YC-01?page=99999999999999999999").status_code == 200
    r = liaison.get("/documents/trail-report?village=HL-YC-01&start=2026-01-01&end=9999-12-31")
    assert r.status_code == 400 and "日期须在" in r.get_data(as_text=True)
    assert liaison.get("/documents/trail-report?village=99999999999999999999").status_code == 404
    assert liaison.get("/oversight/requests?payee=a%00b").status_code == 400


# --- 14. admin powers: deactivation scoped to the admin's units, no self-granted roles --------------

def second_district() -> dict[str, Any]:
    from finance.auth import services as accounts
    from finance.orgs import services as orgs
    from finance.roles import OrgKind, Role

    qt = orgs.create_unit(code="QT", name="清丰县", kind=OrgKind.DISTRICT, parent=None)
    town = orgs.create_unit(code="QT-GC", name="古城乡", kind=OrgKind.TOWNSHIP, parent=qt)
    shared = accounts.create_user(username="liang_shared", display_name="梁兼任", password="password123",
                                  role=Role.AGENCY_REVIEWER, org_unit=f.unit("HL-YC"))
    accounts.assign_role(shared, Role.CASHIER, town)
    fdb.session.commit()
    return {"district": qt, "township": town, "shared": shared}


def test_an_admin_cannot_deactivate_a_user_holding_roles_outside_their_units(client: Any) -> None:
    other = second_district()
    shared = other["shared"]
    client.login("hl_admin")
    r = client.post(f"/admin/users/{shared.id}/active", data={"active": "0"}, follow_redirects=True)
    assert "管辖范围以外还有角色" in r.get_data(as_text=True)
    fdb.session.expire_all()
    assert f.user("liang_shared").active
    # A user whose roles all lie in the district: still theirs to deactivate.
    client.post(f"/admin/users/{f.user('dy_jianwei').id}/active", data={"active": "0"})
    fdb.session.expire_all()
    assert not f.user("dy_jianwei").active


@pytest.mark.parametrize(("role", "unit"), [("village_lead", "HL-YC-01"), ("village_supervisor", "HL-YC-01"),
                                            ("agency_reviewer", "HL-YC"), ("township_head", "HL-YC"),
                                            ("cashier", "HL-YC"), ("accountant", "HL-YC-01")])
def test_an_admin_cannot_grant_themself_an_approval_or_cashier_role(client: Any, role: str, unit: str) -> None:
    admin = f.user("hl_admin")
    before = len(admin.assignments)
    client.login("hl_admin")
    r = client.post(f"/admin/users/{admin.id}/roles", data={"role": role, "org_unit": f.unit(unit).id},
                    follow_redirects=True)
    assert "不能给自己授予" in r.get_data(as_text=True)
    fdb.session.expire_all()
    assert len(f.user("hl_admin").assignments) == before


def test_another_admin_may_grant_the_role(db: Any) -> None:
    from finance.auth import services as accounts
    from finance.roles import Role

    second = accounts.create_user(username="hl_admin2", display_name="赵二", password="Another-admin-88",
                                  role=Role.ADMIN, org_unit=f.unit("HL"))
    accounts.assign_role(f.user("hl_admin"), Role.TOWNSHIP_HEAD, f.unit("HL-YC"), by=second)
    assert Role.TOWNSHIP_HEAD in {a.role for a in f.user("hl_admin").assignments}


def test_role_changes_are_events_on_the_system_chain(client: Any) -> None:
    import json

    import audit

    target = f.user("dy_jianwei")
    client.login("hl_admin")
    client.post(f"/admin/users/{target.id}/roles", data={"role": "liaison", "org_unit": f.unit("HL-YC-01").id})
    added = next(a for a in f.user("dy_jianwei").assignments if a.role.value == "liaison")
    client.post(f"/admin/users/{target.id}/roles/{added.id}/remove")
    client.post(f"/admin/users/{target.id}/active", data={"active": "0"})
    rows = fdb.session.execute(select(Event).where(Event.chain_id == audit.SYSTEM_CHAIN,
                                                   Event.subject_type == "user", Event.subject_id == str(target.id))
                               .order_by(Event.seq)).scalars().all()
    changes = [(e.action, e.actor_name, e.actor_role, json.loads(e.before or "null"), json.loads(e.after or "null"))
               for e in rows[-3:]]
    assert changes == [
        ("role_assign", "赵立新", "admin", None, {"role": "liaison", "org_unit": "HL-YC-01"}),
        ("role_remove", "赵立新", "admin", {"role": "liaison", "org_unit": "HL-YC-01"}, None),
        ("user_deactivate", "赵立新", "admin", {"active": True}, {"active": False}),
    ]


# --- 15. public pages: private persons' names masked ------------------------------------------------

def test_public_disclosure_masks_private_persons_and_keeps_organisations(client: Any) -> None:
    person = f.in_state(State.PAID, "800.00", payee_name="张桂兰", purpose="支付保洁劳务费")
    shop = f.in_state(State.PAID, "1200.00", payee_name="濮阳市华龙区兴农农资经营部")
    team = f.in_state(State.PAID, "900.00", payee_name="华龙建筑队")
    pays = {p.request_id: p.value_date for p in fdb.session.execute(select(Payment)).scalars()}
    day = pays[person.id]
    assert pays[shop.id] == pays[team.id] == day
    page = client.get(f"/gongkai/HL-YC-01/{day:%Y-%m}").get_data(as_text=True)
    assert "张*兰" in page and "张桂兰" not in page
    assert "濮阳市华龙区兴农农资经营部" in page and "华龙建筑队" in page


@pytest.mark.parametrize(("name", "shown"), [
    ("张桂兰", "张*兰"), ("王五", "王*"), ("欧阳小明", "欧**明"), ("John Smith", "J*** S****"), ("张建社", "张*社"),
    ("濮阳市华龙区兴农农资经营部", "濮阳市华龙区兴农农资经营部"), ("东岳村股份经济合作社", "东岳村股份经济合作社"),
    ("岳村镇东岳村村委会", "岳村镇东岳村村委会"), ("河南华龙建设工程有限公司", "河南华龙建设工程有限公司"),
    ("老王五金店", "老王五金店"), ("华龙第一砖厂", "华龙第一砖厂"), ("国网濮阳供电公司", "国网濮阳供电公司"),
    ("Acme Co., Ltd.", "Acme Co., Ltd."),
])
def test_the_name_mask(name: str, shown: str) -> None:
    from finance.documents.masking import mask_name

    assert mask_name(name) == shown


def test_the_verification_page_masks_a_private_payee(client: Any) -> None:
    from finance.documents import services as documents

    req = f.in_state(State.APPROVED, payee_name="李春花")
    token = documents.make_token(req, documents.newest_change(req))
    page = client.get(f"/v/{token}").get_data(as_text=True)
    assert "李*花" in page and "李春花" not in page


# --- 13. the trail report of any size; attachment churn limited; one print event per version ----------

@pytest.mark.slow  # 6,000 events and a placeholder PDF for each part
def test_the_trail_report_handles_any_number_of_events(client: Any, monkeypatch: Any) -> None:
    """6,000 events in one day: the report comes in parts, and the parts hold every event once, in order."""
    import audit
    from finance.documents import services as documents
    from finance.documents import views as documents_views
    from finance.timefmt import today_local

    for n in range(6000):
        audit.record(fdb.session, chain_id="village:HL-YC-01", action="attachment_add",
                     subject_type="payment_request", subject_id=n, actor=None)
    fdb.session.commit()
    monkeypatch.setattr(documents, "REPORT_PART_EVENTS", 2500)
    monkeypatch.setattr(documents_views, "render_pdf", lambda _html: b"%PDF-1.4 placeholder")  # PDFs: test_documents
    seen: list[list[int]] = []
    real = documents.trail_report

    def keep(*args: Any, **kwargs: Any) -> Any:
        context = real(*args, **kwargs)
        seen.append([r.seq for r in context["rows"]])
        return context

    monkeypatch.setattr(documents, "trail_report", keep)
    today = today_local().isoformat()
    client.login("yc_lianqing")
    url = f"/documents/trail-report?village=HL-YC-01&start={today}&end={today}"
    offer = client.get(url)
    assert offer.status_code == 200 and "分为 3 册" in offer.get_data(as_text=True)
    for part in (1, 2, 3):
        r = client.get(f"{url}&part={part}")
        assert r.status_code == 200 and r.mimetype == "application/pdf"
    exported = [s for part in seen for s in part]  # the offer made no report: three parts were made
    assert len(seen) == 3 and len(seen[0]) == len(seen[1]) == 2500 and len(exported) >= 6000
    assert exported == sorted(set(exported))  # each event once, in chain order


def test_attachment_churn_is_rate_limited(client: Any, app: Any, monkeypatch: Any) -> None:
    import io

    from finance.payment_requests.models import Attachment

    monkeypatch.setitem(app.config, "ATTACHMENT_CHANGES_PER_DAY", 6)
    req = f.draft(with_attachments=False)
    client.login("dy_baozhang")
    statuses = []
    for n in range(5):
        r = client.post(f"/requests/{req.id}/attachments",
                        data={"kind": "invoice", "file": (io.BytesIO(f.jpeg_bytes(color=f"#{n:06x}")), "a.jpg")})
        statuses.append(r.status_code)
        att = fdb.session.execute(select(Attachment.id).where(Attachment.request_id == req.id)).scalar()
        if att is not None:
            r = client.post(f"/requests/{req.id}/attachments/{att}/delete")
            statuses.append(r.status_code)
    assert statuses[:6] == [303] * 6 and set(statuses[6:]) == {429}
    before = events()
    r = client.post(f"/requests/{req.id}/attachments",
                    data={"kind": "invoice", "file": (io.BytesIO(f.jpeg_bytes(color="red")), "b.jpg")})
    assert r.status_code == 429 and "附件改动过于频繁" in r.get_data(as_text=True)
    assert events() == before


def test_repeated_prints_of_an_unchanged_document_add_one_event(client: Any, make_client: Any,
                                                               monkeypatch: Any) -> None:
    from finance.documents import views as documents_views

    monkeypatch.setattr(documents_views, "render_one_page", lambda _pages: b"%PDF-1.4 placeholder")
    monkeypatch.setattr(documents_views, "render_pdf", lambda _html: b"%PDF-1.4 placeholder")
    req = f.in_state(State.PENDING)

    def prints(action: str = "print_form") -> int:
        return fdb.session.execute(select(func.count(Event.id)).where(Event.action == action)).scalar_one()

    client.login("dy_shuji")
    for _ in range(5):
        assert client.get(f"/documents/requests/{req.id}/approval-form.pdf").status_code == 200
    assert prints() == 1
    other = make_client()
    other.login("dy_baozhang")
    other.get(f"/documents/requests/{req.id}/approval-form.pdf")
    assert prints() == 2  # one per user
    requests.approve(f.user("dy_shuji"), req, "同意")
    fdb.session.commit()
    client.get(f"/documents/requests/{req.id}/approval-form.pdf")
    client.get(f"/documents/requests/{req.id}/approval-form.pdf")
    assert prints() == 3  # one per version of the document
    from finance.timefmt import today_local

    month = today_local()
    village = f.unit("HL-YC-01").id
    for _ in range(3):
        client.get(f"/documents/disclosure/{village}/{month.year}/{month.month}.pdf")
    assert prints("print_disclosure") == 1


# --- 2. required attachments are checked again at every approval -------------------------------------

def test_an_approval_is_refused_while_a_required_attachment_is_missing(client: Any) -> None:
    """A pending request that lost its invoice (as the submit/delete race once left one): the approver
    is refused with a message, nothing changes, and the page shows what is missing."""
    from finance.attachment_kinds import AttachmentKind
    from finance.payment_requests.models import Attachment, RequestAction

    req = f.in_state(State.PENDING, "1200.00")
    fdb.session.execute(Attachment.__table__.delete().where(Attachment.request_id == req.id))
    fdb.session.commit()
    fdb.session.expire_all()
    events = fdb.session.execute(select(func.count(Event.id))).scalar_one()
    with pytest.raises(requests.RequestError) as err:
        requests.approve(f.user("dy_shuji"), req, "同意")
    assert "缺少必需的附件" in str(err.value) and "attachment_invoice" in err.value.errors
    fdb.session.rollback()
    fdb.session.expire_all()
    assert (req.state, req.step) == (State.PENDING, 1)
    assert fdb.session.execute(select(func.count(RequestAction.id)).where(
        RequestAction.request_id == req.id, RequestAction.action == "approve")).scalar_one() == 0
    assert fdb.session.execute(select(func.count(Event.id))).scalar_one() == events
    client.login("dy_shuji")
    page = client.get(f"/requests/{req.id}").get_data(as_text=True)
    assert "缺少必需的附件，不能批准" in page
    assert f"缺少附件：{AttachmentKind.requirement_label('invoice')}。" in page
    r = client.post(f"/requests/{req.id}/approve", data={"comment": "同意", "version": req.version,
                                                         "client_key": "k" * 32})
    assert r.status_code == 422 and "缺少必需的附件" in r.get_data(as_text=True)
    assert fdb.session.get(type(req), req.id).state == State.PENDING


def test_a_complete_pending_request_shows_nothing_missing(client: Any) -> None:
    req = f.in_state(State.PENDING, "20000.00")
    client.login("dy_shuji")
    assert "缺少必需的附件" not in client.get(f"/requests/{req.id}").get_data(as_text=True)


# --- 5. liaisons read the history of their township's policies and role assignments -------------------

def test_a_liaison_reads_the_policy_and_role_history_of_their_township(client: Any) -> None:
    from finance.approval_policy import services as policies
    from finance.approval_policy.rules import DEFAULT_RULES, Rules, StepRule
    from finance.auth import services as accounts
    from finance.roles import Role

    admin = f.user("hl_admin")
    longer = Rules(steps=(*DEFAULT_RULES.steps, StepRule(Role.TOWNSHIP_HEAD, subjects=("1601",))),
                   attachments=DEFAULT_RULES.attachments)
    policies.publish_policy(f.unit("HL-YC"), longer, by=admin)
    policies.publish_policy(f.unit("HL-MK"), longer, by=admin)
    accounts.assign_role(f.user("xy_jianwei"), Role.AGENCY_REVIEWER, f.unit("HL-YC"), by=admin)
    accounts.set_active(f.user("dy_jianwei"), False, by=admin)
    accounts.assign_role(f.user("mk_shuji"), Role.TOWNSHIP_LEADER, f.unit("HL-MK"), by=admin)
    fdb.session.commit()

    client.login("yc_lianqing")
    home = client.get("/oversight/").get_data(as_text=True)
    assert 'href="/oversight/system"' in home  # in the navigation and on the liaison's index
    page = client.get("/oversight/system").get_data(as_text=True)
    assert "审批规则与角色变更" in page and "系统台账校验通过" in page
    assert page.count("发布审批流程") == 2  # the seeded version and the new one, of 岳村镇 only
    assert "HL-YC · 第 2 版" in page and "HL-MK · 第 2 版" not in page
    assert "杨玉梅" in page and "分配角色" in page  # the new reviewer
    assert "张桂兰" in page and "停用账号" in page  # the deactivated supervisor
    assert "郭永强" not in page and "孟轲" not in page  # another township's changes are not shown
    assert "system #" in page  # each entry names its place on the system chain


def test_the_system_history_is_for_liaisons_only_and_scoped(client: Any, make_client: Any) -> None:
    client.login("dy_baozhang")
    assert client.get("/oversight/system").status_code == 404
    assert 'href="/oversight/system"' not in client.get("/").get_data(as_text=True)
    other = make_client()
    other.login("mk_lianqing")
    page = other.get("/oversight/system").get_data(as_text=True)
    assert "郭永强" in page and "王建国" not in page  # 孟轲乡's people, not 岳村镇's

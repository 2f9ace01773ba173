"""static/js/request-form.js on the real request form (/requests/new): the draft survives a closed tab, the
invoice photo is stored shrunk, and a send whose answer was lost is retried without a second request.
Needs the request pages (marked e2e_story like the story: runs once they are merged)."""

from __future__ import annotations

import re
from io import BytesIO

import pytest
from PIL import Image
from sqlalchemy import select

from tests.browser.support import check_page, photo_jpeg

pytestmark = pytest.mark.e2e_story

PAYEE = "濮阳市华龙区兴农农资经营部"


@pytest.fixture
def accountant(live, phone):
    if "/requests/new" not in {r.rule for r in live.app.url_map.iter_rules()}:
        pytest.skip("the request form (/requests/new) is not in this branch yet")
    me = phone()
    me.login("dy_baozhang")
    me.goto("/requests/new")
    return me


def requests_to(live, payee: str) -> list:
    from finance.extensions import db
    from finance.payment_requests.models import PaymentRequest

    with live.app.app_context():
        try:
            query = select(PaymentRequest).where(PaymentRequest.payee_name == payee)
            rows = db.session.execute(query).scalars()
            return [(r.id, [(a.kind.value, a.content_type, a.sha256) for a in r.attachments]) for r in rows]
        finally:
            db.scoped.remove()


def stored_image_size(live, sha256: str) -> tuple[int, int]:
    from finance import storage

    with live.app.app_context():
        data = storage.path_for(sha256).read_bytes()
    with Image.open(BytesIO(data)) as image:
        return image.size


def fill(page, payee: str, amount: str = "860.00") -> None:
    page.fill("main [name=payee_name]", payee)
    page.fill("main [name=payee_bank]", "中国农业银行濮阳华龙支行")
    page.fill("main [name=payee_account]", "6228 4800 1111 2222 333")
    page.fill("main [name=amount]", amount)
    page.fill("main [name=purpose]", "购买办公用品：打印纸、墨盒")


def test_the_draft_on_the_real_form_survives_a_closed_tab(accountant, live):
    me = accountant
    fill(me.page, PAYEE + "（草稿）")
    me.page.wait_for_function("() => Object.keys(localStorage).some(k => k.startsWith('sanzi:draft:'))")
    me.page.close()
    me.page = me.context.new_page()
    me.goto("/requests/new")
    assert me.page.input_value("main [name=payee_name]") == PAYEE + "（草稿）"
    assert me.page.input_value("main [name=amount]") == "860.00"
    assert me.page.locator(".draft-note").is_visible()
    check_page(me, "draft-restored")
    assert requests_to(live, PAYEE + "（草稿）") == []  # kept on the phone only, nothing sent


def test_the_invoice_photo_is_stored_shrunk_to_2400_px(accountant, live):
    me = accountant
    payee = PAYEE + "（照片）"
    fill(me.page, payee)
    me.page.select_option("main [name=kind]", "invoice")
    me.page.set_input_files("main input[type=file][name=file]", files=[
        {"name": "IMG_20240601_101500.jpg", "mimeType": "image/jpeg", "buffer": photo_jpeg(3000, 4000)}])
    me.responses.clear()
    with me.page.expect_navigation(url=re.compile(r"/requests/\d+$"), timeout=60_000):
        me.page.get_by_role("button", name="保存草稿").click()
    [(request_id, attachments)] = requests_to(live, payee)
    [(kind, content_type, sha256)] = attachments
    assert (kind, content_type) == ("invoice", "image/jpeg")
    assert stored_image_size(live, sha256) == (1800, 2400)
    assert me.page.evaluate("() => Object.keys(localStorage).filter(k => k.startsWith('sanzi:draft:'))") == []
    check_page(me, "saved-with-photo")


def test_a_lost_answer_is_retried_without_a_second_request(accountant, live):
    me = accountant
    payee = PAYEE + "（重试）"
    fill(me.page, payee)
    attempts = []

    def lose_the_first_answer(route):
        attempts.append(1)
        if len(attempts) == 1:
            route.fetch(max_redirects=0)  # the server saves the draft ...
            route.abort("internetdisconnected")  # ... and the answer is lost on the way back
        else:
            route.continue_()

    me.page.route("**/requests/new", lose_the_first_answer)
    me.page.get_by_role("button", name="保存草稿").click()
    me.page.get_by_role("button", name="重试").wait_for()
    assert len(requests_to(live, payee)) == 1
    me.shot("lost-answer")
    with me.page.expect_navigation(url=re.compile(r"/requests/\d+$")):
        me.page.get_by_role("button", name="重试").click()
    [(request_id, _)] = requests_to(live, payee)  # still one
    assert me.page.url.endswith(f"/requests/{request_id}")


def test_the_real_form_works_without_javascript(live, phone):
    if "/requests/new" not in {r.rule for r in live.app.url_map.iter_rules()}:
        pytest.skip("the request form (/requests/new) is not in this branch yet")
    me = phone(javascript=False)
    me.login("dy_baozhang")
    me.goto("/requests/new")
    payee = PAYEE + "（无脚本）"
    fill(me.page, payee)
    me.page.select_option("main [name=kind]", "invoice")
    me.page.set_input_files("main input[type=file][name=file]", files=[
        {"name": "IMG_1.jpg", "mimeType": "image/jpeg", "buffer": photo_jpeg(3000, 4000)}])
    me.click("保存草稿")
    assert re.search(r"/requests/\d+$", me.page.url)
    [(request_id, [(kind, _type, sha256)])] = requests_to(live, payee)
    assert kind == "invoice"
    assert stored_image_size(live, sha256) == (3000, 4000)  # no script to shrink it: the original is kept
    me.shot("saved-without-js")

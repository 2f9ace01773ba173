"""static/js/request-form.js in Chromium, on a stand-in of the request form (tests/browser/fixtures): photos
shrunk before upload, progress shown, the draft kept on the phone, a failed send retried without a second
record."""

from __future__ import annotations

import base64
import json
from urllib.parse import urlsplit

import pytest

from tests.browser.support import check_page, photo_jpeg

FORM = "/_test/page/request_form"
DRAFT_KEY = "sanzi:draft:7:/_test/submit"

SHRINK_JS = """
async ([b64, type, name]) => {
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  const file = new File([bytes], name, {type});
  const out = await SanziForm.shrink(file);
  let w = null, h = null;
  if (!out.type.startsWith('image/') || out === file) return {same: true};
  const bmp = await createImageBitmap(out);  // as the server's Pillow will see it: no EXIF left to apply
  w = bmp.width; h = bmp.height;
  return {same: out === file, type: out.type, name: out.name, before: file.size, after: out.size, w, h};
}
"""


def shrink(page, data: bytes, type_: str = "image/jpeg", name: str = "IMG_20240601.jpg") -> dict:
    return page.evaluate(SHRINK_JS, [base64.b64encode(data).decode(), type_, name])


@pytest.fixture
def form_page(phone):
    me = phone()
    me.goto(FORM)
    return me


def test_stand_in_form_passes_the_phone_checks_with_the_script(form_page):
    result = check_page(form_page, "form")
    assert any(p.startswith("/static/js/request-form.js") for p in result["parts"])
    assert form_page.page.evaluate("typeof SanziForm.shrink") == "function"


def test_script_is_small(live):
    from pathlib import Path

    script = Path(live.app.static_folder) / "js" / "request-form.js"
    assert script.stat().st_size < 6 * 1024


def test_a_large_photo_is_shrunk_to_a_2400_px_jpeg(form_page):
    original = photo_jpeg(3000, 4000)
    result = shrink(form_page.page, original)
    assert not result["same"]
    assert (result["w"], result["h"]) == (1800, 2400)
    assert result["type"] == "image/jpeg" and result["name"] == "IMG_20240601.jpg"
    assert result["after"] < result["before"] * 0.6  # legible: tests/browser/test_photo_legibility.py


def test_a_sideways_phone_photo_is_turned_upright_when_shrunk(form_page):
    # Stored 4000x3000 with EXIF "rotate 90": the phone shows it portrait, and so must the upload.
    result = shrink(form_page.page, photo_jpeg(4000, 3000, orientation=6), name="IMG_2.JPEG")
    assert (result["w"], result["h"]) == (1800, 2400)
    assert result["name"] == "IMG_2.jpg"


def test_a_png_screenshot_becomes_a_jpeg(form_page):
    from io import BytesIO

    from PIL import Image

    buf = BytesIO()
    Image.effect_noise((3200, 2400), 60).convert("RGB").save(buf, "PNG")
    result = shrink(form_page.page, buf.getvalue(), "image/png", "scan.png")
    got = (result["w"], result["h"], result["type"], result["name"])
    assert got == (2400, 1800, "image/jpeg", "scan.jpg")


def test_a_pdf_and_a_small_photo_are_kept_as_they_are(form_page):
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    assert shrink(form_page.page, pdf, "application/pdf", "contract.pdf")["same"]
    assert shrink(form_page.page, photo_jpeg(800, 600))["same"]


def test_the_original_is_kept_when_the_phone_cannot_shrink_it(form_page):
    page = form_page.page
    # A corrupt photo the browser cannot decode.
    assert shrink(page, b"\xff\xd8\xff\xe0 not really a jpeg")["same"]
    # A phone whose canvas gives nothing back (out of memory on a cheap device).
    page.evaluate("() => { HTMLCanvasElement.prototype.toBlob = function (cb) { cb(null); }; }")
    assert shrink(page, photo_jpeg(3000, 4000))["same"]


def fill(page, amount="12000.00"):
    page.fill("[name=payee_name]", "濮阳市华龙区建材商店")
    page.fill("[name=amount]", amount)
    page.fill("[name=purpose]", "村委会院墙维修材料款")
    page.select_option("[name=subject_id]", label="管理费用")


def test_upload_sends_the_shrunk_photo_and_shows_progress_on_a_slow_signal(form_page, live):
    page = form_page.page
    fill(page)
    photo = photo_jpeg(3000, 4000)
    page.set_input_files("[name=file]", files=[{"name": "IMG_0001.jpg", "mimeType": "image/jpeg",
                                                "buffer": photo}])
    cdp = form_page.context.new_cdp_session(page)
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 300,
                                                  "downloadThroughput": 60_000, "uploadThroughput": 40_000})
    before = len(live.received)
    page.get_by_role("button", name="保存并提交").click()
    page.wait_for_selector(".send-status progress")
    page.wait_for_function("() => document.querySelector('.send-status progress').value > 0")
    form_page.shot("uploading")
    assert page.get_by_role("button", name="保存并提交").is_disabled()  # no double tap while sending
    page.wait_for_url("**/_test/done/*", timeout=60_000)
    # The page the server answered with is shown as it came, with its one-time message (not fetched again).
    assert page.locator(".flash-success").inner_text() == "已保存。"
    assert page.title() == "已保存"
    assert len(live.received) == before + 1
    row = live.received[-1]
    assert row["form"]["action"] == "submit" and row["form"]["payee_name"] == "濮阳市华龙区建材商店"
    assert row["files"] == [{"filename": "IMG_0001.jpg", "type": "image/jpeg",
                             "size": row["files"][0]["size"], "dims": [1800, 2400]}]
    assert row["files"][0]["size"] < len(photo) * 0.6
    assert page.evaluate(f"localStorage.getItem('{DRAFT_KEY}')") is None  # saved: the draft is gone
    # Back goes to the form again, a fresh one, as after an ordinary post and redirect.
    page.go_back()
    page.wait_for_selector("main [name=payee_name]")
    assert urlsplit(page.url).path == FORM and page.input_value("[name=payee_name]") == ""


def test_the_draft_is_restored_after_the_tab_is_closed(phone, live):
    me = phone()
    me.goto(FORM)
    fill(me.page)
    me.page.wait_for_function(f"() => localStorage.getItem('{DRAFT_KEY}') !== null")
    me.page.close()  # the tab is closed, or the phone killed the browser

    me.page = me.context.new_page()
    me.goto(FORM)
    page = me.page
    assert page.input_value("[name=payee_name]") == "濮阳市华龙区建材商店"
    assert page.input_value("[name=amount]") == "12000.00"
    assert page.input_value("[name=purpose]") == "村委会院墙维修材料款"
    assert page.input_value("[name=subject_id]") == "3"
    assert "已恢复本机保存的草稿" in page.locator(".draft-note[role=status]").inner_text()
    check_page(me, "restored")

    # Someone else on the same phone does not see it.
    other = me.context.new_page()
    other.goto(live.url + FORM + "?user=8")
    assert other.input_value("[name=payee_name]") == ""
    assert other.locator(".draft-note").count() == 0

    page.get_by_role("button", name="放弃草稿").click()
    assert page.input_value("[name=payee_name]") == ""
    assert page.evaluate(f"localStorage.getItem('{DRAFT_KEY}')") is None


def test_a_failed_send_is_retried_without_creating_a_second_record(form_page, live):
    page = form_page.page
    fill(page)
    key = page.input_value("[name=client_key]")
    attempts = []

    def lose_the_first_answer(route):
        attempts.append(route.request.url)
        if len(attempts) == 1:
            route.fetch(max_redirects=0)  # the server gets it and saves it ...
            route.abort("internetdisconnected")  # ... but the answer never reaches the phone
        else:
            route.continue_()

    page.route("**/_test/submit*", lose_the_first_answer)
    page.get_by_role("button", name="保存草稿").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "网络不稳定" in alert.inner_text()
    form_page.shot("send-failed")
    saved = [r for r in live.received if r["form"]["client_key"] == key]
    assert len(saved) == 1
    assert page.evaluate(f"localStorage.getItem('{DRAFT_KEY}')") is not None  # still on the phone

    page.get_by_role("button", name="重试").click()
    page.wait_for_url("**/_test/done/*")
    assert len(attempts) == 2
    assert [r for r in live.received if r["form"]["client_key"] == key] == saved  # nothing twice
    assert urlsplit(page.url).path == f"/_test/done/{live.received.index(saved[0]) + 1}"


def test_form_errors_are_shown_in_place_and_the_draft_is_kept(form_page):
    page = form_page.page
    fill(page, amount="")
    page.get_by_role("button", name="保存草稿").click()
    page.locator(".error").wait_for()
    assert page.locator(".error").inner_text() == "请填写金额。"
    assert urlsplit(page.url).path == FORM
    assert page.input_value("[name=payee_name]") == "濮阳市华龙区建材商店"
    draft = json.loads(page.evaluate(f"localStorage.getItem('{DRAFT_KEY}')"))
    assert draft["v"]["purpose"] == "村委会院墙维修材料款"
    # The script works again on the form sent back: fixing the amount saves it.
    page.fill("[name=amount]", "800")
    page.get_by_role("button", name="保存草稿").click()
    page.wait_for_url("**/_test/done/*")
    assert page.evaluate(f"localStorage.getItem('{DRAFT_KEY}')") is None


def test_the_form_still_works_without_javascript(phone, live):
    me = phone(javascript=False)
    me.goto(FORM)
    me.page.fill("[name=payee_name]", "无脚本收款人")
    me.page.fill("[name=amount]", "50")
    me.click("保存草稿")
    assert urlsplit(me.page.url).path.startswith("/_test/done/")
    assert live.received[-1]["form"]["payee_name"] == "无脚本收款人"


def test_the_script_speaks_the_language_of_the_page(phone, live):
    """Its messages come from the page (templates/_form_script.html), so an English page gets English."""
    me = phone()
    me.goto(FORM + "?lang=en")
    fill(me.page)
    me.page.wait_for_function(f"() => localStorage.getItem('{DRAFT_KEY}') !== null")
    me.page.close()
    me.page = me.context.new_page()
    me.goto(FORM + "?lang=en")
    page = me.page
    note = page.locator(".draft-note[role=status]").inner_text()
    assert note.startswith("Restored the draft kept on this device (") and "Discard draft" in note

    page.route("**/_test/submit*", lambda route: route.abort("internetdisconnected"))
    page.locator("button[value=save]").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert alert.inner_text().startswith("The network is unstable")
    assert page.get_by_role("button", name="Try again").is_visible()

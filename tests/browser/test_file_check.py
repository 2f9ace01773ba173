"""A chosen file checked on the phone before anything is sent, in Chromium at 390x844 (issue 16, item 5):
static/js/file-check.js refuses a type or a size the server would refuse, takes the file off the picker and
says how to make it smaller; a photo over the limit is shrunk on the phone and sent. The server's check
stays (the last test)."""

from __future__ import annotations

import re
from io import BytesIO

import pytest
from PIL import Image

from tests.browser.request_support import MB, PAYEE, attachments_of, fill, open_request_form, pdf_contract, shot_of
from tests.browser.support import check_page

pytestmark = pytest.mark.e2e_story


@pytest.fixture
def accountant(live, phone):
    return lambda javascript=True, who="": open_request_form(phone, javascript, who)


def sent_files(page) -> list[str]:
    """What the form would send now: the names of the files still in its pickers."""
    return page.evaluate("() => [...document.querySelectorAll('main input[type=file]')]"
                         ".flatMap(i => [...i.files].map(f => f.name))")


def test_a_word_file_is_refused_on_the_phone_with_what_to_do(accountant):
    me = accountant()
    page = me.page
    page.set_input_files("#file-files", files=[
        {"name": "合同.docx", "buffer": b"PK\x03\x04 not a pdf",
         "mimeType": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}])
    alert = page.locator(".file-check .error")
    alert.wait_for()
    assert "“合同.docx”不能上传" in alert.inner_text() and "另存为 PDF" in alert.inner_text()
    assert sent_files(page) == []  # taken off the picker: nothing to send
    check_page(me, "word-refused")
    shot_of(me, "#attachments", "word-refused-part")


def test_a_pdf_over_the_limit_is_refused_before_it_is_sent(accountant, live):
    me = accountant()
    page = me.page
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    big = pdf_contract(11 * MB)
    page.set_input_files("#file-files", files=[{"name": "扫描合同.pdf", "mimeType": "application/pdf",
                                                 "buffer": big}])
    alert = page.locator(".file-check .error")
    alert.wait_for()
    text = alert.inner_text()
    assert "“扫描合同.pdf”有 11.0 MB，超过 10.0 MB 的上限，没有发送" in text
    assert "较低分辨率" in text and "分成几份" in text
    assert sent_files(page) == [] and posts == []
    check_page(me, "pdf-too-large")
    shot_of(me, "#attachments", "pdf-too-large-part")
    # the next choice, a smaller scan, is kept and the message goes
    page.set_input_files("#file-files", files=[{"name": "合同.pdf", "mimeType": "application/pdf",
                                                 "buffer": pdf_contract()}])
    page.wait_for_function("() => !document.querySelector('.file-check .error')")
    assert sent_files(page) == ["合同.pdf"]


def big_photo(megabytes: float) -> bytes:
    """A camera JPEG over `megabytes` (noise does not compress)."""
    image = Image.effect_noise((4000, 3000), 90).convert("RGB")
    out = BytesIO()
    image.save(out, "JPEG", quality=98)
    data = out.getvalue()
    assert len(data) > megabytes * MB, len(data)
    return data


def test_a_large_photo_is_shrunk_on_the_phone_and_sent(accountant, live, monkeypatch):
    me = accountant()
    page = me.page
    monkeypatch.setitem(live.app.config, "MAX_UPLOAD_BYTES", 3 * MB)  # a photo above the limit
    me.goto("/requests/new")
    payee = PAYEE + "（大照片）"
    fill(page, payee)
    photo = big_photo(3)
    page.set_input_files("#file-camera", files=[{"name": "IMG_big.jpg", "mimeType": "image/jpeg",
                                                  "buffer": photo}])
    note = page.locator(".file-check .hint")
    note.wait_for()
    assert re.fullmatch(r"照片有 \d+\.\d MB，发送前在手机上压缩为 \d\.\d MB。", note.inner_text())
    assert sent_files(page) == ["IMG_big.jpg"]
    check_page(me, "photo-shrunk")
    shot_of(me, "#attachments", "photo-shrunk-part")
    with page.expect_navigation(url=re.compile(r"/requests/\d+$"), timeout=60_000):
        page.get_by_role("button", name="保存草稿").click()
    assert attachments_of(live, payee) == [("invoice", "image/jpeg", "IMG_big.jpg")]


def test_a_photo_the_phone_cannot_shrink_is_refused_with_how_to_make_it_smaller(accountant, live, monkeypatch):
    me = accountant()
    page = me.page
    monkeypatch.setitem(live.app.config, "MAX_UPLOAD_BYTES", 3 * MB)
    me.goto("/requests/new")
    page.evaluate("() => { HTMLCanvasElement.prototype.toBlob = function (cb) { cb(null); }; }")  # out of memory
    page.set_input_files("#file-camera", files=[{"name": "IMG_big.jpg", "mimeType": "image/jpeg",
                                                  "buffer": big_photo(3)}])
    alert = page.locator(".file-check .error")
    alert.wait_for()
    assert "超过 3.0 MB 的上限" in alert.inner_text() and "照片尺寸（分辨率）调低" in alert.inner_text()
    assert sent_files(page) == []


def test_the_server_still_refuses_what_the_phone_did_not_check(accountant, live):
    me = accountant(javascript=False, who="nojs-refused")
    page = me.page
    fill(page, PAYEE + "（服务器检查）")
    page.set_input_files("#file-files", files=[{"name": "合同.docx", "mimeType": "application/msword",
                                                 "buffer": b"PK\x03\x04 not a pdf"}])
    me.click("保存草稿")
    assert "只能上传 JPG、PNG、WEBP 图片或 PDF 文件" in page.locator("main").inner_text()


def test_the_checks_speak_english_on_an_english_page(live, phone):
    me = phone(who="en")
    me.login("dy_baozhang")
    me.goto("/requests/new?lang=en")
    me.page.set_input_files("#file-files", files=[{"name": "contract.docx", "mimeType": "application/msword",
                                                    "buffer": b"PK\x03\x04"}])
    alert = me.page.locator(".file-check .error")
    alert.wait_for()
    assert alert.inner_text().startswith("\"contract.docx\" cannot be uploaded")
    assert not re.search(r"[\u4e00-\u9fff]", alert.inner_text())
    shot_of(me, "#attachments", "english-part")

"""The accountant's file pickers in Chromium at 390x844 (issue 16, items 4 and 5): a photo button that opens
the camera and a file button for the gallery and PDFs (a contract kept as PDF can be attached), both
working without JS; with JS a file is checked on the phone before anything is sent."""

from __future__ import annotations

import re

import pytest

from tests.browser.request_support import (
    PAYEE,
    attachments_of,
    fill,
    open_request_form,
    pdf_contract,
    request_id_of,
    shot_of,
)
from tests.browser.support import check_page, photo_jpeg

pytestmark = pytest.mark.e2e_story



@pytest.fixture
def accountant(live, phone):
    return lambda javascript=True, who="": open_request_form(phone, javascript, who)


def test_the_form_offers_the_camera_and_the_phones_files(accountant):
    me = accountant()
    page = me.page
    camera, files = page.locator("#file-camera"), page.locator("#file-files")
    assert camera.get_attribute("capture") == "environment" and camera.get_attribute("accept") == "image/*"
    assert files.get_attribute("capture") is None  # the gallery, the file manager, and PDFs
    assert "application/pdf" in files.get_attribute("accept")
    assert page.get_by_label("拍照").count() == 1 and page.get_by_label("选择文件").count() == 1
    assert page.locator("input[type=file][capture]").count() == 1  # no picker forces the camera alone
    check_page(me, "pickers")
    shot_of(me, "#attachments", "pickers-part")
    # both buttons are tall enough to tap, side by side on a 390 px phone
    a, b = (page.locator(f"label[for={i}]").bounding_box() for i in ("file-camera", "file-files"))
    assert a["height"] >= 44 and b["height"] >= 44 and abs(a["y"] - b["y"]) < 1 and a["x"] < b["x"]


def test_a_pdf_contract_and_a_photo_are_attached_without_javascript(accountant, live):
    me = accountant(javascript=False, who="nojs")
    page = me.page
    payee = PAYEE + "（无脚本）"
    fill(page, payee)
    page.select_option("main [name=kind]", "invoice")
    page.set_input_files("#file-camera", files=[
        {"name": "IMG_20240601.jpg", "mimeType": "image/jpeg", "buffer": photo_jpeg(1200, 1600)}])
    me.click("保存草稿")
    assert re.search(r"/requests/\d+$", page.url)
    request_id = request_id_of(live, payee)
    me.goto(f"/requests/{request_id}/edit")
    page.select_option("main [name=kind]", "contract")
    page.set_input_files("#file-files", files=[
        {"name": "施工合同.pdf", "mimeType": "application/pdf", "buffer": pdf_contract()}])
    shot_of(me, "#attachments", "contract-chosen")
    me.click("保存草稿")
    assert attachments_of(live, payee) == [("contract", "application/pdf", "施工合同.pdf"),
                                           ("invoice", "image/jpeg", "IMG_20240601.jpg")]
    me.shot("saved-with-contract")  # no check_page: its checks run scripts in the page


def test_a_photo_and_a_pdf_chosen_together_are_both_sent_by_the_script(accountant, live):
    me = accountant()
    page = me.page
    payee = PAYEE + "（两个）"
    fill(page, payee)
    page.select_option("main [name=kind]", "other")
    page.set_input_files("#file-camera", files=[
        {"name": "IMG_1.jpg", "mimeType": "image/jpeg", "buffer": photo_jpeg(3000, 4000)}])
    page.set_input_files("#file-files", files=[
        {"name": "验收单.pdf", "mimeType": "application/pdf", "buffer": pdf_contract()}])
    with page.expect_navigation(url=re.compile(r"/requests/\d+$"), timeout=60_000):
        page.get_by_role("button", name="保存草稿").click()
    assert attachments_of(live, payee) == [("other", "application/pdf", "验收单.pdf"),
                                           ("other", "image/jpeg", "IMG_1.jpg")]


def test_the_detail_page_upload_offers_both_pickers(accountant, live):
    me = accountant(javascript=False, who="detail")
    payee = PAYEE + "（详情页）"
    fill(me.page, payee)
    me.click("保存草稿")
    page = me.page
    assert page.locator("#upload-file-camera").get_attribute("capture") == "environment"
    assert page.locator("#upload-file-files").get_attribute("capture") is None
    page.select_option("#upload-kind", "contract")
    page.set_input_files("#upload-file-files", files=[
        {"name": "合同.pdf", "mimeType": "application/pdf", "buffer": pdf_contract()}])
    me.click("上传附件")
    assert page.locator(".flash-success").inner_text() == "附件已上传。"
    assert ("contract", "application/pdf", "合同.pdf") in attachments_of(live, payee)
    shot_of(me, "#attachments", "detail-upload")

"""Several files at once, the 附件类型 kept after a refused upload (issue 16 item 6), in Chromium at 390x844
on the draft's page: two PDFs chosen together, one the server refuses; the page comes back with 验收单
still chosen; then both good files go up as 验收单."""

from __future__ import annotations

import pytest

from finance.workflow import State
from tests.browser.phone_support import press, request_in
from tests.browser.request_support import attachments_of, pdf_contract
from tests.browser.support import check_page

pytestmark = pytest.mark.e2e_story

BROKEN = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\n" + b"% x\n" * 200  # no %%EOF: the server refuses it


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_several_files_go_up_and_the_kind_stays_after_a_refusal(phone, live, javascript):
    payee = "濮阳市华龙区验收材料商行" + ("（脚本）" if javascript else "（无脚本）")
    rid = request_in(live, State.DRAFT, "900.00", payee, with_attachments=False)
    me = phone(javascript=javascript, who="js" if javascript else "nojs")
    me.login("dy_baozhang")
    me.goto(f"/requests/{rid}")
    page = me.page
    page.select_option("#upload-kind", "acceptance")
    page.set_input_files("#upload-file-files", files=[
        {"name": "验收单1.pdf", "mimeType": "application/pdf", "buffer": pdf_contract(20_000)},
        {"name": "验收单2.pdf", "mimeType": "application/pdf", "buffer": BROKEN}])
    press(me, "上传附件", ".flash-error", javascript)
    assert "“验收单2.pdf”：PDF 文件不完整" in page.inner_text(".flash-error")  # which of the two
    assert page.input_value("#upload-kind") == "acceptance"  # not back to 发票
    assert attachments_of(live, payee) == []
    if javascript:
        check_page(me, "kind-kept")
    else:
        me.shot("kind-kept")
    page.set_input_files("#upload-file-files", files=[
        {"name": "验收单1.pdf", "mimeType": "application/pdf", "buffer": pdf_contract(20_000)},
        {"name": "验收单2.pdf", "mimeType": "application/pdf", "buffer": pdf_contract(30_000)}])
    press(me, "上传附件", ".flash-success", javascript)
    assert attachments_of(live, payee) == [("acceptance", "application/pdf", "验收单1.pdf"),
                                           ("acceptance", "application/pdf", "验收单2.pdf")]

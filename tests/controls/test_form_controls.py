"""The 支付审批单 shows the recusals and the warnings the approvers were shown (issue 11 item 7), on its
one A4 page; rendered to PNG to be looked at (test-artifacts/pdf/)."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from finance.controls import services as controls
from finance.extensions import db as fdb
from finance.payment_requests import services as requests
from finance.payment_requests.models import AttachmentKind
from finance.workflow import State
from tests import factories as f
from tests.controls.helpers import attach, draft, jpeg, slip_image, submit
from tests.controls.pdftext import pdf_pages
from tests.controls.test_chain import WANG_ACCOUNT

OUT = Path(__file__).resolve().parents[2] / "test-artifacts" / "pdf"


@pytest.mark.slow
def test_the_approval_form_shows_recusals_and_warnings(client, db):
    controls.set_own_identity(f.user("hl_admin"), f.user("dy_shuji"), controls.PersonInput(accounts=WANG_ACCOUNT))
    controls.add_negative_item(f.user("hl_admin"), f.unit("HL-YC"), controls.NegativeItemInput(
        item="礼品", keywords="慰问品 礼品", action="warn"))
    req = draft("3000.00", payee="王建国", account=WANG_ACCOUNT, purpose="代购重阳节慰问品垫付款")
    attach(req, jpeg(slip_image("个人劳务签收单 王建国 3000 元 慰问品")), kind=AttachmentKind.LABOUR_SLIP)
    submit(req)
    for name in f.approvers_for(req):
        requests.approve(f.user(name), req, "同意", client_key=uuid.uuid4().hex)
    assert req.state == State.APPROVED
    fdb.session.commit()
    client.login("dy_baozhang")
    r = client.get(f"/documents/requests/{req.id}/approval-form.pdf")
    assert r.status_code == 200
    pages = pdf_pages(r.data)
    assert len(pages) == 1
    page = pages[0]
    assert "审核提示与回避" in page
    assert "第1步村负责人须回避，改由包村领导办理。" in page
    assert "可能属于本镇负面清单“礼品”" in page and "收款人的银行账号属于本村（镇）干部王建国本人" in page
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "approval-form-controls.pdf").write_bytes(r.data)
    subprocess.run(["pdftoppm", "-r", "70", "-png", "-singlefile", str(OUT / "approval-form-controls.pdf"),
                    str(OUT / "approval-form-controls")], check=True)
    assert (OUT / "approval-form-controls.png").stat().st_size > 10_000

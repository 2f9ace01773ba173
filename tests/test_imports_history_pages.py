"""Imported history is marked 历史导入 in every list, page and PDF, and offers no action (EXCHANGE.md §4)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from finance.payment_requests.models import PaymentRequest
from tests.imports_helpers import run
from tests.test_documents import login, pdf_pages
from tests.test_imports_history import PAYMENT, history_file

MARK = "历史导入"


@pytest.fixture
def history(app, db, tmp_path):
    unpaid = {**PAYMENT, "number": "LS-UNPAID", "paid_at": None, "attachments": [], "invoices": []}
    r = run(app, "import", "history", str(history_file(tmp_path, PAYMENT, unpaid)))
    assert r.exit_code == 0, r.output
    return {n: db.execute(select(PaymentRequest).where(PaymentRequest.number == n)).scalar_one()
            for n in ("LS2025-000123", "LS-UNPAID")}


def row_of(html: str, number: str) -> str:
    at = html.index(number)
    return html[max(0, at - 1500):at + 200]


def test_the_request_list_marks_history(client, history):
    login(client, "dy_baozhang")
    html = client.get("/requests?payee=宏达建材").get_data(as_text=True)
    assert "LS2025-000123" in html and 'badge-history' in row_of(html, "LS2025-000123")


def test_the_request_page_marks_history_shows_the_earlier_record_and_offers_no_action(client, history):
    for username in ("dy_shuji", "yc_chuna", "dy_baozhang"):
        login(client, username)
        for req in history.values():
            html = client.get(f"/requests/{req.id}").get_data(as_text=True)
            assert MARK in html and "badge-history" in html
            assert "原系统经办人" in html and "李秀英" in html and "不在系统的人" in html
            assert 'id="actions"' not in html and "去办理" not in html
    # a forged post is refused with the reason, and changes nothing
    login(client, "yc_chuna")
    unpaid = history["LS-UNPAID"]
    r = client.post(f"/requests/{unpaid.id}/approve", data={"comment": "同意", "version": unpaid.version})
    assert r.status_code in (403, 409)


def test_the_liaison_list_page_and_export_mark_history(client, history):
    login(client, "yc_lianqing")
    html = client.get("/oversight/requests?payee=宏达建材").get_data(as_text=True)
    assert "LS2025-000123" in html and "badge-history" in row_of(html, "LS2025-000123")
    page = client.get(f"/oversight/requests/{history['LS2025-000123'].id}").get_data(as_text=True)
    assert MARK in page and "原系统经办人" in page
    csv = client.post("/oversight/requests/export", data={"payee": "宏达建材"}).get_data(as_text=True)
    line = next(x for x in csv.splitlines() if x.startswith("LS2025-000123"))
    assert f"（{MARK}）" in line


@pytest.mark.slow  # renders PDFs
def test_the_approval_form_and_the_disclosure_sheet_mark_history(client, history):
    login(client, "dy_baozhang")
    req = history["LS2025-000123"]
    r = client.get(f"/documents/requests/{req.id}/approval-form.pdf")
    assert r.status_code == 200
    (page,) = pdf_pages(r.data)
    assert MARK in page and "LS2025-000123" in page and "原系统经办人：李秀英" in page and "不在系统的人" in page
    village = req.village
    r = client.get(f"/documents/disclosure/{village.id}/2025/3.pdf")
    assert r.status_code == 200
    text = "".join(pdf_pages(r.data))
    assert re.search(r"村委会院墙维修材料款（历史导入）", text), text[:500]

"""The whole story of the browser test (tests/browser/test_story.py), through the API with a token of each
role: the accountant raises a 12,000 yuan request with an invoice photo and a contract and submits it; the
village lead returns it with a reason; the accountant revises and resubmits; the village lead, the
supervisor, the township reviewer and the township leader approve; the cashier pays with the bank's
receipt; the liaison reads the trail, finds the API's events marked with their token, and verifies it."""

from __future__ import annotations

from datetime import date
from typing import Any

from finance.payment_requests.models import PaymentRequest
from finance.workflow import State
from tests import factories as f

PAYEE_ACCOUNT = "6228 4800 1234 5678 901"


def fields(**extra: Any) -> dict[str, Any]:
    return {"payee_name": "濮阳市华龙区宏达建材商店", "payee_bank": "中国农业银行濮阳华龙支行",
            "payee_account": PAYEE_ACCOUNT, "amount": "12000", "purpose": "村内道路修补材料",
            "subject_id": f.subject().id, "fund_source": "村集体经营收入", "budget_line": "2026年度公益支出预算",
            **extra}


def test_the_whole_story_through_the_api_with_a_token_of_each_role(as_user: Any, db: Any) -> None:
    accountant = as_user("dy_baozhang")
    r = accountant.post("/requests", fields())
    assert r.status_code == 201, r.get_json()
    req = r.get_json()
    rid = req["id"]
    assert r.headers["Location"].endswith(f"/api/v1/requests/{rid}")
    assert req["amount"] == "12000.00" and req["state"] == "draft"
    assert req["amount_in_words"] == "壹万贰仟元整"
    assert set(req["missing"]) == {"attachment_invoice", "attachment_contract"}
    assert req["created_at"].endswith("+08:00")

    # Submitting without the files: 422 naming what is missing, nothing changed.
    r = accountant.post(f"/requests/{rid}/submit")
    assert r.status_code == 422 and r.headers["Content-Type"] == "application/problem+json"
    assert {e["field"] for e in r.get_json()["errors"]} == {"attachment_invoice", "attachment_contract"}

    for kind, name, data in (("invoice", "fapiao.jpg", f.jpeg_bytes()), ("contract", "hetong.pdf", f.pdf_bytes())):
        r = accountant.post(f"/requests/{rid}/attachments", data={"kind": kind, "file": (_io(data), name)},
                            content_type="multipart/form-data")
        assert r.status_code == 201, r.get_json()
        assert r.get_json()["items"][0]["kind"] == kind
    r = accountant.post(f"/requests/{rid}/submit")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["state"] == "pending"

    lead = as_user("dy_shuji")
    assert [i["id"] for i in lead.get("/todo").get_json()["items"]] == [rid]
    r = lead.post(f"/requests/{rid}/return", {"reason": "请补充验收单"})
    assert r.status_code == 200 and r.get_json()["state"] == "returned"

    r = accountant.put(f"/requests/{rid}", fields(purpose="村内道路修补材料（含验收）"))
    assert r.status_code == 200, r.get_json()
    r = accountant.post(f"/requests/{rid}/submit")
    assert r.get_json()["state"] == "pending" and r.get_json()["round"] == 2

    for who in ("dy_shuji", "dy_jianwei", "yc_shenhe", "yc_baocun"):
        approver = as_user(who)
        body = approver.get(f"/requests/{rid}").get_json()
        assert "approve" in body["may"], (who, body["may"])
        r = approver.post(f"/requests/{rid}/approve", {"comment": "同意", "version": body["version"]})
        assert r.status_code == 200, (who, r.get_json())
    assert r.get_json()["state"] == "approved"

    cashier = as_user("yc_chuna")
    village_account = f.unit("HL-YC-01").bank_account
    r = cashier.post(f"/requests/{rid}/pay", data={
        "bank_reference": "HX2026113000042", "value_date": date.today().isoformat(), "amount": "12000.00",
        "payee_name": "濮阳市华龙区宏达建材商店", "payee_account": PAYEE_ACCOUNT, "payer_account": village_account,
        "receipt": (_io(f.jpeg_bytes(color="lightblue")), "huidan.jpg")}, content_type="multipart/form-data")
    assert r.status_code == 200, r.get_json()
    paid = r.get_json()
    assert paid["state"] == "paid" and paid["payment"]["amount"] == "12000.00"
    assert paid["payment"]["bank_reference"] == "HX2026113000042"

    liaison = as_user("yc_lianqing")
    chains = liaison.get("/chains").get_json()["items"]
    chain = next(c for c in chains if c["chain_id"] == "village:HL-YC-01")
    assert chain["ok"] is True
    verification = liaison.get("/chains/village:HL-YC-01/verification").get_json()
    assert verification["ok"] is True and verification["failures"] == []
    events, after = [], 0
    while True:
        page = liaison.get(f"/chains/village:HL-YC-01/events?after={after}&limit=200").get_json()
        events += page["items"]
        if page["next"] is None:
            break
        after = int(page["next"])
    mine = [e for e in events if e["subject_type"] == "payment_request" and e["subject_id"] == str(rid)]
    assert [e["action"] for e in mine] == ["create", "attachment_add", "attachment_add", "submit", "return", "edit",
                                           "submit", "approve", "approve", "approve", "approve", "pay"]
    # Every one came through the API, and names the token it came with.
    assert all(e["request_id"].startswith("api-t") for e in mine)
    assert {e["actor"]["name"] for e in mine} >= {"李秀英", "王建国", "郑晓燕"}
    row = db.get(PaymentRequest, rid)
    assert row.state.value == "paid"


def _io(data: bytes) -> Any:
    import io

    return io.BytesIO(data)


def test_a_liaison_downloads_signed_checkpoints_that_verify_offline(as_user: Any, db: Any) -> None:
    import audit
    from finance.oversight.verification import trusted_keys

    f.in_state(State.PAID)
    liaison = as_user("yc_lianqing")
    r = liaison.post("/chains/village:HL-YC-01/checkpoints")
    assert r.status_code == 200, r.get_json()
    items = r.get_json()["items"]
    head = db.get(audit.ChainHead, "village:HL-YC-01")
    assert items[0]["size"] == head.seq  # signed after the download's own event
    assert all(audit.SignedCheckpoint.from_json(c).verify(trusted_keys()) for c in items)
    export = db.execute(audit_select()).scalars().all()
    assert export and export[-1].actor_name == "马德明"


def audit_select() -> Any:
    from sqlalchemy import select

    import audit

    return select(audit.Event).where(audit.Event.chain_id == "village:HL-YC-01",
                                     audit.Event.action == "liaison_export").order_by(audit.Event.seq)


def test_printing_the_approval_form_through_the_api_is_recorded(as_user: Any, db: Any, monkeypatch: Any) -> None:
    from sqlalchemy import select

    import audit
    from finance.documents import views as documents_views

    monkeypatch.setattr(documents_views, "render_one_page", lambda pages: pages(False).encode()[:0] + b"%PDF-1.4 x")
    req = f.in_state(State.PAID)
    r = as_user("yc_lianqing").get(f"/requests/{req.id}/approval-form.pdf")
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/pdf"
    assert r.data.startswith(b"%PDF")
    event = db.execute(select(audit.Event).where(audit.Event.action == "print_form",
                                                 audit.Event.subject_id == str(req.id))).scalar_one()
    assert event.http_request_id.startswith("api-t") and event.actor_name == "马德明"

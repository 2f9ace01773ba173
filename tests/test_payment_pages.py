"""The cashier's pages through the test client, on SQLite and PostgreSQL: the pay form, typed from the
bank receipt beside what was approved (issue 16 item 2), every check of the payment against it, the receipt
(kept after a refusal: item 11), a resent form, reconciliation."""

from __future__ import annotations

import io
import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from audit.models import Event
from finance.extensions import db
from finance.payment_requests.models import Attachment, PaymentRequest, RequestAction
from finance.payments import pending
from finance.payments.models import Payment
from finance.timefmt import today_local
from finance.workflow import State
from tests import factories as f


def counts() -> tuple[int, ...]:
    return tuple(
        db.session.execute(select(func.count()).select_from(m)).scalar_one()
        for m in (Payment, RequestAction, Attachment, Event)
    )


def reload(req: PaymentRequest) -> PaymentRequest:
    db.session.expire_all()
    return db.session.get(PaymentRequest, req.id)  # type: ignore[return-value]


def pay_form(client, req: PaymentRequest) -> tuple[str, dict[str, object]]:
    """The pay page, and what the cashier types off the bank receipt: a transfer that matches the approval,
    a bank reference and a receipt photo."""
    html = client.get(f"/payments/{req.id}/pay").get_data(as_text=True)

    def value(name: str) -> str:
        match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html) or re.search(
            rf'value="([^"]*)"[^>]*name="{name}"', html
        )
        assert match, name
        return match.group(1)

    data: dict[str, object] = {
        name: value(name)
        for name in ("value_date", "client_key", "version")
    }
    data.update(amount=f"{req.amount:.2f}", payee_name=req.payee_name, payee_account=req.payee_account,
                payer_account=req.village.bank_account)
    data["bank_reference"] = f"NYH{uuid.uuid4().hex[:14].upper()}"
    data["receipt"] = (io.BytesIO(f.jpeg_bytes(color="lightblue")), "huidan.jpg")
    return html, data


def post(client, req: PaymentRequest, data: dict[str, object]):
    return client.post(f"/payments/{req.id}/pay", data=data, content_type="multipart/form-data")


def test_pay_form_leaves_the_receipts_figures_to_type_and_shows_the_approval_beside_them(client):
    req = f.in_state(State.APPROVED, "23456.70")
    client.login("yc_chuna")
    html, data = pay_form(client, req)
    for name in ("amount", "payee_name", "payee_account", "payer_account", "bank_reference"):
        tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
        assert tag and 'value=""' in tag.group(0) or "value=" not in tag.group(0), name  # typed, not copied
    assert data["value_date"] == today_local().isoformat()
    assert f"批准：{req.payee_name}" in html and f"批准：{req.payee_account}" in html
    assert f"村集体账户：{req.village.bank_name} {req.village.bank_account}" in html
    assert "批准：¥23,456.70" in html and "贰万叁仟肆佰伍拾陆元柒角整" in html
    assert 'name="receipt"' in html and 'capture="environment"' in html and "确认支付" in html
    assert 'inputmode="decimal"' in html and 'type="date"' in html


def test_pay_records_the_payment_with_its_receipt(client):
    req = f.in_state(State.APPROVED)
    client.login("yc_chuna")
    _, data = pay_form(client, req)
    response = post(client, req, data)
    assert response.status_code == 303
    req = reload(req)
    assert req.state == State.PAID
    payment = db.session.execute(select(Payment).where(Payment.request_id == req.id)).scalar_one()
    assert payment.bank_reference == data["bank_reference"] and payment.amount == req.amount
    page = client.get(f"/requests/{req.id}").get_data(as_text=True)
    assert "支付已登记" in page and data["bank_reference"] in page and "查看回单" in page
    assert client.get(f"/requests/attachments/{payment.receipt_id}").status_code == 200
    assert "对账确认" not in page  # the cashier who paid never reconciles (finance.bank)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("amount", "1199.99", "实付金额与批准金额 1,200.00 元不一致"),
        ("amount", "12000", "实付金额与批准金额"),
        ("amount", "abc", "金额格式不正确"),
        ("amount", "-1200", "金额不能为负数"),
        ("payee_name", "濮阳市华龙区兴农农资经营部（个人）", "收款人与批准的收款人"),
        ("payee_account", "6228480012345678900", "收款账号与批准的账号不一致"),
        ("payer_account", "", "请填写付款账号"),
        ("bank_reference", "", "请填写银行流水号"),
        ("value_date", "", "请填写支付日期"),
        ("value_date", "2099-01-01", "支付日期不能晚于今天"),
        ("value_date", "01/02/2026", "日期格式不正确"),
    ],
)
def test_pay_form_refuses_what_differs_from_the_approval(client, field, value, message):
    req = f.in_state(State.APPROVED)
    client.login("yc_chuna")
    _, data = pay_form(client, req)
    data[field] = value
    before = counts()
    response = post(client, req, data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html and "已保留刚才上传的回单“huidan.jpg”" in html and 'name="pending_receipt"' in html
    assert counts() == before and reload(req).state == State.APPROVED
    if value:
        assert f'value="{value}"' in html  # what was typed stays in the form


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "请上传银行回单"),
        (b"", "请上传银行回单"),
        (b"plain text pretending to be a photo", "只能上传"),
    ],
)
def test_pay_needs_a_real_receipt(client, content, message):
    req = f.in_state(State.APPROVED)
    client.login("yc_chuna")
    _, data = pay_form(client, req)
    if content is None:
        del data["receipt"]
    else:
        data["receipt"] = (io.BytesIO(content), "huidan.jpg")
    before = counts()
    response = post(client, req, data)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert counts() == before


def test_bank_reference_is_used_once(client):
    paid = f.in_state(State.PAID)
    used = db.session.execute(
        select(Payment.bank_reference).where(Payment.request_id == paid.id)
    ).scalar_one()
    req = f.in_state(State.APPROVED, "800.00")
    client.login("yc_chuna")
    _, data = pay_form(client, req)
    data["bank_reference"] = used
    before = counts()
    response = post(client, req, data)
    assert response.status_code == 422
    assert "该银行流水号已被使用过" in response.get_data(as_text=True)
    assert counts() == before and reload(req).state == State.APPROVED


def test_same_pay_form_sent_twice_pays_once(client):
    req = f.in_state(State.APPROVED)
    client.login("yc_chuna")
    _, data = pay_form(client, req)
    before = counts()
    for _ in range(2):
        payload = dict(data, receipt=(io.BytesIO(f.jpeg_bytes(color="lightblue")), "huidan.jpg"))
        response = post(client, req, payload)
        assert response.status_code == 303
    after = counts()
    assert after[0] == before[0] + 1 and after[1] == before[1] + 1
    assert reload(req).state == State.PAID


def test_second_payment_with_a_new_form_is_refused(client):
    req = f.in_state(State.PAID)
    client.login("yc_chuna")
    before = counts()
    get = client.get(f"/payments/{req.id}/pay")
    assert get.status_code == 303
    response = post(client, req, {"client_key": uuid.uuid4().hex, "bank_reference": "X1", "amount": "1200"})
    assert response.status_code == 409
    assert counts() == before


@pytest.mark.parametrize("who", ["dy_baozhang", "dy_shuji", "yc_shenhe", "yc_lianqing"])
def test_only_the_cashier_may_pay(make_client, who):
    req = f.in_state(State.APPROVED)
    client = make_client()
    client.login(who)
    before = counts()
    assert client.get(f"/payments/{req.id}/pay").status_code == 403
    response = post(
        client, req, {"client_key": uuid.uuid4().hex, "bank_reference": "ABC", "amount": "1200.00"}
    )
    assert response.status_code == 403
    assert counts() == before


def test_other_townships_cashier_gets_404(client):
    req = f.in_state(State.APPROVED)
    client.login("mk_chuna")
    before = counts()
    assert client.get(f"/payments/{req.id}/pay").status_code == 404
    assert post(client, req, {"client_key": uuid.uuid4().hex}).status_code == 404
    assert counts() == before


def test_pay_page_of_a_request_not_yet_approved_sends_back(client):
    req = f.in_state(State.PENDING)
    client.login("yc_chuna")
    response = client.get(f"/payments/{req.id}/pay", follow_redirects=True)
    assert "不能登记支付" in response.get_data(as_text=True)


def test_the_cashier_has_no_reconcile_button_and_no_route(client, make_client):
    """已对账 is reached only through a confirmed statement match (finance.bank): the cashier's manual
    button and its route are gone; the agency reviewer is sent to the reconciliation page."""
    req = f.in_state(State.PAID)
    client.login("yc_chuna")
    page = client.get(f"/requests/{req.id}").get_data(as_text=True)
    assert "对账确认" not in page and "/reconcile" not in page
    before = counts()
    assert client.post(f"/payments/{req.id}/reconcile", data={"client_key": uuid.uuid4().hex}).status_code == 404
    assert counts() == before
    assert reload(req).state == State.PAID
    reviewer = make_client()
    reviewer.login("yc_shenhe")
    page = reviewer.get(f"/requests/{req.id}").get_data(as_text=True)
    assert "/bank/HL-YC-01/reconcile" in page


def test_cashier_todo_lists_approved_requests(client):
    req = f.in_state(State.APPROVED, "3300.00", payee_name="待支付的收款人")
    old = req.waiting_since
    req.waiting_since = old - timedelta(days=2)
    db.session.commit()
    client.login("yc_chuna")
    html = client.get("/").get_data(as_text=True)
    assert "待支付的收款人" in html and "待代理中心出纳支付" in html and "已等待 2 天" in html


def kept_token(html: str) -> str:
    match = re.search(r'name="pending_receipt" value="([^"]+)"', html)
    assert match, "no receipt kept"
    return match.group(1)


def test_the_receipt_of_a_refused_form_is_kept_and_used_by_the_next_send(client):
    """Issue 16 item 11: after a mistake the bank-receipt photo is not chosen again."""
    req = f.in_state(State.APPROVED)
    client.login("yc_chuna")
    _, data = pay_form(client, req)
    photo = f.jpeg_bytes(color="lightblue")
    first = post(client, req, dict(data, amount="1199.00", receipt=(io.BytesIO(photo), "回单.jpg")))
    assert first.status_code == 422
    html = first.get_data(as_text=True)
    assert "已保留刚才上传的回单“回单.jpg”" in html and "不用重新选择" in html
    before = counts()
    again = {k: v for k, v in data.items() if k != "receipt"}
    response = post(client, req, dict(again, pending_receipt=kept_token(html)))
    assert response.status_code == 303
    assert reload(req).state == State.PAID and counts()[0] == before[0] + 1
    payment = db.session.execute(select(Payment).where(Payment.request_id == req.id)).scalar_one()
    assert payment.receipt is not None and payment.receipt.sha256 == f.storage_digest(photo)
    assert payment.receipt.filename == "回单.jpg"


def test_a_kept_receipt_serves_only_its_cashier_and_request(make_client):
    req, other = f.in_state(State.APPROVED), f.in_state(State.APPROVED, "900.00")
    client = make_client()
    client.login("yc_chuna")
    _, data = pay_form(client, req)
    html = post(client, req, dict(data, amount="1.00")).get_data(as_text=True)
    token = kept_token(html)
    _, other_data = pay_form(client, other)
    other_data.pop("receipt")
    refused = post(client, other, dict(other_data, pending_receipt=token))  # another request's token
    assert refused.status_code == 422 and "请上传银行回单" in refused.get_data(as_text=True)
    forged = post(client, other, dict(other_data, pending_receipt=token[:-3] + "abc"))
    assert forged.status_code == 422 and reload(other).state == State.APPROVED
    cashier = f.user("yc_chuna")
    assert pending.take(token, cashier.id, req.id) is not None
    assert pending.take(token, cashier.id + 1, req.id) is None  # another person's send
    assert reload(req).state == State.APPROVED

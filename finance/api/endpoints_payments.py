"""The cashier's side through the API: record the bank transfer of an approved request (with the bank's
receipt). The service is the payment page's. 已对账 is reached only through a match with the bank statement
that the agency confirms (finance.bank), never by the cashier's word."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask_login import current_user
from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from finance.api.endpoints_requests import RequestOut, Version, load, request_out
from finance.api.framework import api
from finance.api.schemas import MoneyIn, Schema
from finance.payments import services
from finance.payments.references import MAX_REFERENCE

TAG = api.tag("payments", "支付")


class PayForm(Schema):
    """The transfer as the bank made it; amount, payee and account must equal what was approved."""

    bank_reference: str = Field(min_length=1, max_length=MAX_REFERENCE, description="银行流水号")
    value_date: date = Field(description="支付日期")
    amount: MoneyIn
    payee_name: str = Field(max_length=100)
    payee_account: str = Field(max_length=40)
    payer_account: str = Field(max_length=40)
    version: SkipJsonSchema[None] | Version = None  # a form field is text: absent, never "null"


@api.operation("POST", "/requests/<int:request_id>/pay", summary="登记支付（附银行回单）", tag=TAG, form=PayForm,
               files=("receipt",), response=RequestOut, errors=(403, 409),
               description="multipart/form-data：转账信息与 receipt（银行回单）。"
                           "金额、收款人和账号须与批准的一致；银行流水号只能使用一次。")
def pay_request(request_id: int, form: PayForm, files: dict[str, list[tuple[str, bytes]]]) -> RequestOut:
    """multipart/form-data: the transfer's fields and `receipt`, the bank's receipt (回单)."""
    req = load(request_id)
    name, data = files["receipt"][0]
    payment = services.PaymentInput(
        bank_reference=form.bank_reference.strip(), value_date=form.value_date, amount=Decimal(form.amount),
        payee_name=form.payee_name.strip(), payee_account=form.payee_account.strip(),
        payer_account=form.payer_account.strip(), receipt_filename=name, receipt_data=data)
    services.record_payment(current_user, req, payment, version=form.version)
    return request_out(req)

"""The cashier's payment form: what the bank transfer was, parsed from text; the service checks it against
what was approved."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, StringField

from finance.money import AmountError, parse_amount
from finance.payment_requests.forms import ACCEPT, new_key, parse_date
from finance.payments.services import PaymentInput
from finance.timefmt import today_local


class PaymentForm(FlaskForm):
    bank_reference = StringField(
        _l("银行流水号"),
        render_kw={
            "autocomplete": "off",
            "maxlength": 64,
            "autocapitalize": "characters",
            "spellcheck": "false",
        },
    )
    value_date = StringField(_l("支付日期"), render_kw={"type": "date"})
    amount = StringField(_l("实付金额（元）"), render_kw={"inputmode": "decimal", "autocomplete": "off"})
    payee_name = StringField(_l("收款人"), render_kw={"autocomplete": "off", "maxlength": 100})
    payee_account = StringField(
        _l("收款账号"), render_kw={"inputmode": "numeric", "autocomplete": "off", "maxlength": 40}
    )
    payer_account = StringField(
        _l("付款账号（村集体账户）"),
        render_kw={"inputmode": "numeric", "autocomplete": "off", "maxlength": 40},
    )
    receipt = FileField(_l("银行回单"), render_kw={"accept": ACCEPT, "capture": "environment"})
    client_key = HiddenField()
    version = HiddenField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in (
            "bank_reference",
            "value_date",
            "amount",
            "payee_name",
            "payee_account",
            "payer_account",
            "receipt",
        ):
            getattr(self, name).flags.required = True
        if not self.client_key.data:
            self.client_key.data = new_key()

    def fill_from(self, req: Any) -> None:
        """A fresh form: the cashier types the amount, payee and accounts off the bank receipt (issue 16
        item 2). Pre-filled with what was approved, the check "must match the receipt" would compare
        the approval with itself; the approved values are shown beside the fields instead."""
        for name in TYPED_FROM_RECEIPT:
            getattr(self, name).data = ""
        self.value_date.data = today_local().isoformat()
        self.version.data = str(req.version)

    def parse(self, receipt_name: str, receipt_data: bytes) -> tuple[PaymentInput, dict[str, str]]:
        errors: dict[str, str] = {}
        amount = None
        try:
            amount = parse_amount(self.amount.data, current_app.config["MAX_AMOUNT"])
        except AmountError as exc:
            errors["amount"] = str(exc)
        value_date = None
        try:
            value_date = parse_date(self.value_date.data)
        except ValueError as exc:
            errors["value_date"] = str(exc)
        reference = (self.bank_reference.data or "").strip()  # its rules are the service's
        data = PaymentInput(
            bank_reference=reference,
            value_date=value_date,
            amount=amount,
            payee_name=(self.payee_name.data or "").strip(),
            payee_account=(self.payee_account.data or "").strip(),
            payer_account=(self.payer_account.data or "").strip(),
            receipt_filename=receipt_name,
            receipt_data=receipt_data,
        )
        return data, errors

    def add_errors(self, errors: dict[str, str]) -> dict[str, str]:
        rest = {}
        for name, message in errors.items():
            field = getattr(self, name, None) if name in FIELDS else None
            if field is not None:
                field.errors = [*list(field.errors or []), message]
            else:
                rest[name] = message
        return rest


TYPED_FROM_RECEIPT = ("bank_reference", "amount", "payee_name", "payee_account", "payer_account")
FIELDS = ("bank_reference", "value_date", "amount", "payee_name", "payee_account", "payer_account", "receipt")

"""The request form: what the accountant types, parsed from text (amounts to Decimal, never a float;
dates; whole numbers) and turned into a `RequestInput` for the services, which enforce the rules
(lengths, ranges, completeness). A text that does not parse gets its message here; the rules' messages
are the services'."""

from __future__ import annotations

import re
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import select
from wtforms import HiddenField, SelectField, StringField, TextAreaField

from finance.attachment_kinds import AttachmentKind
from finance.extensions import db
from finance.money import AmountError, parse_amount
from finance.orgs.models import AccountSubject
from finance.params import check_day, parse_id
from finance.payment_requests.models import MAX_LENGTH
from finance.payment_requests.services import SUBMIT_NEEDS, RequestInput

KEY_RE = re.compile(r"^[0-9a-f]{16,64}$")
ACCEPT = "image/*,application/pdf"
TEXT_FIELDS = tuple(MAX_LENGTH)
FIELD_NAMES = (*TEXT_FIELDS, "amount", "subject_id", "meeting_date", "meeting_attendance", "meeting_amount",
               "file")


def new_key() -> str:
    """A fresh idempotency key for one rendering of a form."""
    return uuid.uuid4().hex


def clean_key(value: str | None) -> str | None:
    """The client_key a form carried, or None when it is missing or not one of ours."""
    value = (value or "").strip().lower()
    return value if KEY_RE.match(value) else None


def kind_choices() -> list[tuple[str, str]]:
    return [(k.value, k.label) for k in AttachmentKind.uploadable()]


def parse_date(text: str | None) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ValueError(_("日期格式不正确，请用日期选择器选择。")) from None
    return check_day(day)  # BadParam (a ValueError) outside the years the app handles


class RequestForm(FlaskForm):
    payee_name = StringField(_l("收款人"), render_kw={"autocomplete": "off", "maxlength": MAX_LENGTH["payee_name"]})
    payee_bank = StringField(_l("收款人开户行"),
                             render_kw={"autocomplete": "off", "maxlength": MAX_LENGTH["payee_bank"]})
    payee_account = StringField(
        _l("收款人银行账号"),
        render_kw={"inputmode": "numeric", "autocomplete": "off", "maxlength": MAX_LENGTH["payee_account"]},
    )
    amount = StringField(
        _l("金额（元）"), render_kw={"inputmode": "decimal", "autocomplete": "off", "placeholder": "0.00"}
    )
    purpose = TextAreaField(_l("资金用途 / 事由"), render_kw={"rows": 3, "maxlength": MAX_LENGTH["purpose"]})
    subject_id = SelectField(_l("会计科目"), choices=[], validate_choice=False)
    fund_source = StringField(_l("资金来源"), render_kw={"maxlength": MAX_LENGTH["fund_source"]})
    budget_line = StringField(_l("预算情况"), render_kw={"maxlength": MAX_LENGTH["budget_line"]})
    meeting_date = StringField(_l("决议会议日期"), render_kw={"type": "date"})
    meeting_attendance = StringField(
        _l("参会人数"), render_kw={"inputmode": "numeric", "autocomplete": "off"}
    )
    meeting_amount = StringField(
        _l("决议金额（元）"), render_kw={"inputmode": "decimal", "autocomplete": "off"}
    )
    client_key = HiddenField()
    version = HiddenField()
    kind = SelectField(_l("附件类型"), choices=[], validate_choice=False)
    file = FileField(_l("拍照或选择文件"), render_kw={"accept": ACCEPT})  # shown by _macros file_picker

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        subjects = db.session.execute(
            select(AccountSubject).where(AccountSubject.active.is_(True)).order_by(AccountSubject.code)
        ).scalars()
        self.subject_id.choices = [("", _("请选择会计科目"))] + [
            (str(s.id), f"{s.code} {s.name}") for s in subjects
        ]
        self.kind.choices = kind_choices()
        for name in SUBMIT_NEEDS:  # marked with * ; checked by the service when submitting
            getattr(self, name).flags.required = True
        if not self.client_key.data:
            self.client_key.data = new_key()

    def fill_from(self, req: Any) -> None:
        """Show a saved request in the form."""
        for name in TEXT_FIELDS:
            getattr(self, name).data = getattr(req, name) or ""
        self.amount.data = f"{req.amount:.2f}" if req.amount is not None else ""
        self.subject_id.data = str(req.subject_id) if req.subject_id else ""
        self.meeting_date.data = req.meeting_date.isoformat() if req.meeting_date else ""
        self.meeting_attendance.data = str(req.meeting_attendance) if req.meeting_attendance else ""
        self.meeting_amount.data = f"{req.meeting_amount:.2f}" if req.meeting_amount is not None else ""
        self.version.data = str(req.version)

    def add_errors(self, errors: dict[str, str]) -> dict[str, str]:
        """Put service errors under their fields; returns those that belong to no field."""
        rest = {}
        for name, message in errors.items():
            field = getattr(self, name, None) if name in FIELD_NAMES else None
            if field is not None:
                field.errors = [*list(field.errors or []), message]
            else:
                rest[name] = message
        return rest

    def parse(self) -> tuple[RequestInput, dict[str, str]]:
        """The typed values as a RequestInput, and field -> message for what does not parse. Blank
        fields are allowed in a draft; lengths, ranges and what a submission needs are the service's."""
        errors: dict[str, str] = {}
        text = {name: (getattr(self, name).data or "").strip() for name in TEXT_FIELDS}
        maximum: Decimal = current_app.config["MAX_AMOUNT"]
        amount = meeting_amount = None
        if (self.amount.data or "").strip():
            try:
                amount = parse_amount(self.amount.data, maximum)
            except AmountError as exc:
                errors["amount"] = str(exc)
        if (self.meeting_amount.data or "").strip():
            try:
                meeting_amount = parse_amount(self.meeting_amount.data, maximum * 100)
            except AmountError as exc:
                errors["meeting_amount"] = str(exc)
        subject_id = None
        if self.subject_id.data:
            subject_id = parse_id(self.subject_id.data)
            if subject_id is None:
                errors["subject_id"] = _("请选择有效的会计科目。")
        meeting_date = None
        try:
            meeting_date = parse_date(self.meeting_date.data)
        except ValueError as exc:
            errors["meeting_date"] = str(exc)
        attendance = None
        raw = (self.meeting_attendance.data or "").strip()
        if raw:
            if not raw.isdigit():
                errors["meeting_attendance"] = _("参会人数请填写正整数。")
            else:
                attendance = int(raw)
        data = RequestInput(
            payee_name=text["payee_name"],
            payee_bank=text["payee_bank"],
            payee_account=" ".join(text["payee_account"].split()),
            amount=amount,
            purpose=text["purpose"],
            subject_id=subject_id,
            fund_source=text["fund_source"],
            budget_line=text["budget_line"],
            meeting_date=meeting_date,
            meeting_attendance=attendance,
            meeting_amount=meeting_amount,
        )
        return data, errors

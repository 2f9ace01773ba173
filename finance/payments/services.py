"""The cashier's side: recording the bank transfer of an approved request, through the request's one
state-change path (`payment_requests.services.transition`), which checks the replay key, the page version,
the table and the separation of duties. Reconciling is not the cashier's: it is a confirmed match of a bank
statement line (finance.bank.services)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import select

from finance import audit_keys, storage, trail
from finance.attachment_kinds import AttachmentKind
from finance.auth.models import User
from finance.bank.queries import village_account_numbers
from finance.controls.chain import originals_missing
from finance.db import utcnow
from finance.extensions import db
from finance.oversight.services import active_hold
from finance.payment_requests import services as requests
from finance.payment_requests.models import PaymentRequest, RequestAction
from finance.payments.models import Payment
from finance.payments.references import normalise_reference, reference_error
from finance.roles import Role
from finance.timefmt import today_local
from finance.workflow import TABLE, Action


@dataclass
class PaymentInput:
    bank_reference: str
    value_date: date | None
    amount: Decimal | None
    payee_name: str
    payee_account: str
    payer_account: str
    receipt_filename: str = ""
    receipt_data: bytes = b""


def _norm_account(value: str) -> str:
    return "".join(value.split())


def check_payment(req: PaymentRequest, data: PaymentInput) -> dict[str, str]:
    """What is wrong with a payment against what was approved, field -> message."""
    errors: dict[str, str] = {}
    if (hold := active_hold(req)) is not None:
        errors["hold"] = _("廉情联络员已暂缓支付：%(reason)s。问询答复或解除暂缓后才能支付。", reason=hold.reason)
    if message := reference_error(data.bank_reference):
        errors["bank_reference"] = message
    elif reference_used(data.bank_reference):
        errors["bank_reference"] = _("该银行流水号已被使用过，请核对。")
    if data.value_date is None:
        errors["value_date"] = _("请填写支付日期。")
    elif data.value_date > today_local() + timedelta(days=1):
        errors["value_date"] = _("支付日期不能晚于今天。")
    elif req.submitted_at is not None and data.value_date < req.submitted_at.date() - timedelta(days=1):
        errors["value_date"] = _("支付日期不能早于申请提交日期。")
    if data.amount is None:
        errors["amount"] = _("请填写实付金额。")
    elif data.amount != req.amount:
        errors["amount"] = _("实付金额与批准金额 %(a)s 元不一致。", a=format(req.amount, ",.2f"))
    if (data.payee_name or "").strip() != req.payee_name:
        errors["payee_name"] = _("收款人与批准的收款人“%(p)s”不一致。", p=req.payee_name)
    if _norm_account(data.payee_account or "") != _norm_account(req.payee_account):
        errors["payee_account"] = _("收款账号与批准的账号不一致。")
    payer = _norm_account(data.payer_account or "")
    if not payer:
        errors["payer_account"] = _("请填写付款账号。")
    elif len(payer) > 40 or not payer.isdigit():
        errors["payer_account"] = _("付款账号只能是数字，最多 40 位。")
    elif payer not in village_account_numbers(req.village):
        errors["payer_account"] = _("付款账号不是本村的银行账户；只能从本村自己的账户付款。")
    if not data.receipt_data:
        errors["receipt"] = _("请上传银行回单。")
    if originals_missing(req):  # the township's control policy (issue 11)
        errors["originals"] = _("本镇规定代理中心确认“原件已收”后才能支付，请等待审核会计确认。")
    return errors


def reference_used(reference: str) -> bool:
    """Has a payment been recorded with this reference, in any of its spellings?"""
    key = normalise_reference(reference)
    return db.session.execute(select(Payment.id).where(Payment.reference_key == key)).first() is not None


def record_payment(user: User, req: PaymentRequest, data: PaymentInput, client_key: str | None = None,
                   version: int | None = None) -> RequestAction | None:
    """Record the transfer and move the request to paid. Paid amount, payee and account must equal
    what was approved; a bank reference is used once; a form sent twice pays once."""
    payment: Payment | None = None

    def mutate() -> None:
        nonlocal payment
        errors = check_payment(req, data)
        if errors:
            raise requests.RequestError(_("支付信息有误，请核对标红的项目。"), errors)
        try:
            stored = storage.save(data.receipt_data)
        except storage.StorageError as exc:
            raise requests.RequestError(str(exc), {"receipt": str(exc)}) from None
        # The receipt is part of this one change: the `pay` event names it (no `attachment_add` of its own).
        receipt = requests.attach(user, req, AttachmentKind.RECEIPT, data.receipt_filename, stored, Role.CASHIER,
                                  record=False)
        extra["attachment"] = requests.attachment_summary(receipt)
        assert data.value_date is not None and data.amount is not None
        reference = normalise_reference(data.bank_reference)
        payment = Payment(request=req, bank_reference=reference, reference_key=reference, value_date=data.value_date,
                          amount=data.amount, payee_name=req.payee_name, payee_account=req.payee_account,
                          payer_account=_norm_account(data.payer_account), cashier_id=user.id,
                          receipt=receipt, created_at=utcnow())
        db.session.add(payment)
        extra["payment"] = payment_snapshot(payment)
        sha.append(stored.sha256)

    extra: dict[str, object] = {}
    sha: list[str] = []
    try:
        row = requests.transition(user, req, Action.PAY, client_key=client_key, version=version, mutate=mutate,
                                  extra_after=extra, attachments=sha)  # filled in by mutate()
    except requests.AlreadyHandled:
        # Lost a race. If the request is still waiting for payment, what was taken is the bank
        # reference (another request paid with it at the same moment): that is the user's to correct.
        if (req.state, Action.PAY) in TABLE and reference_used(data.bank_reference):
            message = _("该银行流水号已被使用过，请核对。")
            raise requests.RequestError(message, {"bank_reference": message}) from None
        raise
    audit_keys.checkpoint(trail.chain_for(req.village))  # a signed checkpoint after every payment
    return row


def payment_snapshot(payment: Payment) -> dict[str, object]:
    return {
        "bank_reference": payment.bank_reference,
        "value_date": payment.value_date,
        "amount": payment.amount,
        "payee_name": payment.payee_name,
        "payee_account": payment.payee_account,
        "payer_account": payment.payer_account,
    }

"""receipt_as_invoice: a business payee paid on a receipt or a slip instead of a 发票.

Signal: the payee is a business (finance.controls.normalise.is_business: 公司, 经营部, 商店, 厂 …) and the
request carries no 发票 (no invoice attachment, no invoice facts): a 财政或内部收据, a 签收单, other
vouchers or nothing. Not flagged: banks, 信用社 and public bodies, which issue no 发票 for what they are
paid. Red."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _

from finance.attachment_kinds import AttachmentKind
from finance.controls.normalise import is_business
from finance.flags.data import Data
from finance.flags.detectors.common import has_word
from finance.flags.engine import Detector, Finding, request_evidence
from finance.flags.models import Colour, FlagType

NO_INVOICE_PAYEES = ("银行", "信用社", "信用合作", "财政", "税务", "社会保险", "医疗保障", "人民法院")


def detect(data: Data) -> Iterable[Finding]:
    for r in data.focused():
        if not is_business(r.payee_name) or has_word(r.payee_name, NO_INVOICE_PAYEES):
            continue
        kinds = data.kinds(r.id)
        if AttachmentKind.INVOICE.value in kinds or data.invoices(r.id):
            continue
        vouchers = sorted(AttachmentKind.label_of(k) for k in kinds
                          if (kind := AttachmentKind.parse(k)) is not None and kind.voucher)
        what = "、".join(vouchers) if vouchers else _("没有票据")
        yield Finding(FlagType.RECEIPT_AS_INVOICE, Colour.RED, r.village_id, f"receipt_as_invoice:{r.id}",
                      _("收款人“%(payee)s”是企业或个体商户，应附发票，实附：%(what)s", payee=r.payee_name, what=what),
                      [r], {"requests": [request_evidence(r)], "vouchers": vouchers},
                      amount=r.amount, occurred_at=r.at)


DETECTOR = Detector(FlagType.RECEIPT_AS_INVOICE, "收款人是企业或个体商户，却以收据、签收单代替发票入账。", detect)

"""seller_payee_mismatch: the invoice's seller is not the payee.

Signal: a business payee (is_business) whose request's invoice facts name other sellers only (name_key,
neither inside the other). A person repaid against a shop's invoice (代垫) is not flagged. Red."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _

from finance.controls.normalise import is_business
from finance.flags.data import Data
from finance.flags.detectors.common import same_name
from finance.flags.engine import Detector, Finding, request_evidence
from finance.flags.models import Colour, FlagType


def detect(data: Data) -> Iterable[Finding]:
    for r in data.focused():
        invoices = data.invoices(r.id)
        if not invoices or not is_business(r.payee_name):
            continue
        if any(same_name(i.seller_key, r.name_key) for i in invoices):
            continue
        sellers = sorted({i.seller for i in invoices})
        yield Finding(FlagType.SELLER_PAYEE_MISMATCH, Colour.RED, r.village_id, f"seller_payee_mismatch:{r.id}",
                      _("发票销售方“%(seller)s”与收款人“%(payee)s”不一致", seller="、".join(sellers),
                        payee=r.payee_name),
                      [r], {"requests": [request_evidence(r)], "sellers": sellers,
                            "invoices": [{"number": i.number, "seller": i.seller, "amount": str(i.amount),
                                          "attachment_id": i.attachment_id} for i in invoices]},
                      amount=r.amount, occurred_at=r.at)


DETECTOR = Detector(FlagType.SELLER_PAYEE_MISMATCH, "收款人是企业，但发票的销售方是另一家。", detect)

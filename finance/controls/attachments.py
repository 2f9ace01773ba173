"""Attachment kinds as the controls see them: the four 票据 (vouchers) of issue 11."""

from __future__ import annotations

from collections.abc import Iterable

from finance.payment_requests.models import AttachmentKind

# Any of these meets a routing policy's "invoice" requirement (the rule predates the split and means
# "a voucher"); a business payee needs the first (a 发票) and its facts.
VOUCHER_KINDS = frozenset({AttachmentKind.INVOICE, AttachmentKind.FISCAL_RECEIPT, AttachmentKind.LABOUR_SLIP,
                           AttachmentKind.OTHER_VOUCHER})
POLICY_VOUCHER = "invoice"


def kinds_present(kinds: Iterable[str]) -> set[str]:
    """The attachment kinds a request has, as a routing policy's requirements name them: a voucher of any
    kind counts as the policy's "invoice"."""
    have = {str(k) for k in kinds}
    if have & {k.value for k in VOUCHER_KINDS}:
        have.add(POLICY_VOUCHER)
    return have

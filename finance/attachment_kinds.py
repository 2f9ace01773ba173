"""What an attachment is, and its name. A leaf module: requests, policies and the trail all use it.

The 票据 (vouchers) are four kinds since issue 11: 发票 (增值税发票, 数电票: its facts are typed beside
the photo), 财政或内部收据, 个人劳务签收单 and 其他凭证. A routing policy's requirement "invoice" predates the
split and means "a voucher": any of the four meets it (`kinds_present`). Rows of the old 发票或收款收据 became
其他凭证 in migration 0008 (what they were is not known)."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from flask_babel import lazy_gettext as _l


class AttachmentKind(StrEnum):
    INVOICE = "invoice"  # 发票, with its facts (finance/controls)
    FISCAL_RECEIPT = "fiscal_receipt"  # 财政或内部收据
    LABOUR_SLIP = "labour_slip"  # 个人劳务签收单
    OTHER_VOUCHER = "other_voucher"  # 其他凭证
    CONTRACT = "contract"
    ACCEPTANCE = "acceptance"
    MINUTES = "minutes"
    RECEIPT = "receipt"  # the bank's receipt, attached by the cashier with the payment
    OTHER = "other"

    @property
    def label(self) -> str:
        return str(_LABELS[self])

    @property
    def voucher(self) -> bool:
        """One of the four 票据: it meets a policy's voucher requirement."""
        return self in VOUCHER_KINDS

    @classmethod
    def uploadable(cls) -> tuple[AttachmentKind, ...]:
        """The kinds an accountant attaches (the receipt is the cashier's, part of the payment)."""
        return tuple(k for k in cls if k is not cls.RECEIPT)

    @classmethod
    def requirable(cls) -> tuple[AttachmentKind, ...]:
        """The kinds a policy may require: the voucher requirement stands for all four 票据."""
        return tuple(k for k in cls.uploadable() if k is cls.INVOICE or not k.voucher)

    @classmethod
    def parse(cls, value: str | None) -> AttachmentKind | None:
        return next((k for k in cls if k.value == value), None)

    @classmethod
    def label_of(cls, value: str) -> str:
        """The name of a stored kind (the value itself when the app no longer knows it)."""
        kind = cls.parse(value)
        return kind.label if kind is not None else value

    @classmethod
    def requirement_label(cls, value: str) -> str:
        """The name of what a policy requires: its voucher requirement is met by any 票据."""
        return str(_VOUCHER_REQUIREMENT) if value == POLICY_VOUCHER else cls.label_of(value)


VOUCHER_KINDS = frozenset({AttachmentKind.INVOICE, AttachmentKind.FISCAL_RECEIPT, AttachmentKind.LABOUR_SLIP,
                           AttachmentKind.OTHER_VOUCHER})
POLICY_VOUCHER = AttachmentKind.INVOICE.value  # a policy's requirement that any 票据 meets


def kinds_present(kinds: Iterable[str]) -> set[str]:
    """The attachment kinds a request has, as a policy's requirements name them: a voucher of any kind
    counts as the policy's voucher requirement."""
    have = {str(k) for k in kinds}
    if have & {k.value for k in VOUCHER_KINDS}:
        have.add(POLICY_VOUCHER)
    return have


_LABELS = {
    AttachmentKind.INVOICE: _l("发票"),
    AttachmentKind.FISCAL_RECEIPT: _l("财政或内部收据"),
    AttachmentKind.LABOUR_SLIP: _l("个人劳务签收单"),
    AttachmentKind.OTHER_VOUCHER: _l("其他凭证"),
    AttachmentKind.CONTRACT: _l("合同"),
    AttachmentKind.ACCEPTANCE: _l("验收单"),
    AttachmentKind.MINUTES: _l("四议两公开会议记录"),
    AttachmentKind.RECEIPT: _l("银行回单"),
    AttachmentKind.OTHER: _l("其他材料"),
}
_VOUCHER_REQUIREMENT = _l("发票或收款收据")

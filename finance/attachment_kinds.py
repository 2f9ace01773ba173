"""What an attachment is, and its name. A leaf module: requests, policies and the trail all use it."""

from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l


class AttachmentKind(StrEnum):
    INVOICE = "invoice"
    CONTRACT = "contract"
    ACCEPTANCE = "acceptance"
    MINUTES = "minutes"
    RECEIPT = "receipt"  # the bank's receipt, attached by the cashier with the payment
    OTHER = "other"

    @property
    def label(self) -> str:
        return str(_LABELS[self])

    @classmethod
    def uploadable(cls) -> tuple[AttachmentKind, ...]:
        """The kinds an accountant attaches, and so the kinds a policy may require (the receipt is the
        cashier's, part of the payment)."""
        return tuple(k for k in cls if k is not cls.RECEIPT)

    @classmethod
    def parse(cls, value: str | None) -> AttachmentKind | None:
        return next((k for k in cls if k.value == value), None)

    @classmethod
    def label_of(cls, value: str) -> str:
        """The name of a stored kind (the value itself when the app no longer knows it)."""
        kind = cls.parse(value)
        return kind.label if kind is not None else value


_LABELS = {
    AttachmentKind.INVOICE: _l("发票或收款收据"),
    AttachmentKind.CONTRACT: _l("合同"),
    AttachmentKind.ACCEPTANCE: _l("验收单"),
    AttachmentKind.MINUTES: _l("四议两公开会议记录"),
    AttachmentKind.RECEIPT: _l("银行回单"),
    AttachmentKind.OTHER: _l("其他材料"),
}

"""Every detector, in the order the workbench lists their types. Adding a flag type: a module in
finance/flags/detectors/ with its DETECTOR, and a line here."""

from __future__ import annotations

from finance.flags.detectors import (
    duplicate_invoice,
    fast_approval,
    just_under_band,
    negative_list,
    night_approval,
    payee_concentration,
    receipt_as_invoice,
    related_payee,
    self_payee,
    seller_payee_mismatch,
    shared_account,
    split_payment,
)
from finance.flags.engine import Detector

DETECTORS: tuple[Detector, ...] = (
    split_payment.DETECTOR,
    duplicate_invoice.DETECTOR,
    shared_account.DETECTOR,
    related_payee.DETECTOR,
    self_payee.DETECTOR,
    receipt_as_invoice.DETECTOR,
    seller_payee_mismatch.DETECTOR,
    negative_list.DETECTOR,
    fast_approval.DETECTOR,
    night_approval.DETECTOR,
    just_under_band.DETECTOR,
    payee_concentration.DETECTOR,
)


def detectors(*, preventive_only: bool = False, statements_only: bool = False) -> tuple[Detector, ...]:
    return tuple(d for d in DETECTORS
                 if (d.preventive or not preventive_only) and (d.statements or not statements_only))

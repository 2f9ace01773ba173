"""payer_account_mismatch: a payment made from an account that is not the village's.

Signal: the payer account recorded with the payment (the cashier's, or imported history's as written),
normalised (normalise_account), is none of the village's own accounts (its org unit's account and the
accounts the bank package keeps for it). A village whose own account is not known raises nothing. Red: a
collective's money left through someone else's account (坐支, 截留, a private account)."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from finance.controls.normalise import normalise_account
from finance.extensions import db
from finance.flags.data import Data, chunks
from finance.flags.engine import Detector, Finding, request_evidence
from finance.flags.models import Colour, FlagType
from finance.payments.models import Payment


def detect(data: Data) -> Iterable[Finding]:
    focus = [r for r in data.focused() if r.state in ("paid", "reconciled")]
    if not focus:
        return
    payers: dict[int, tuple[str, str]] = {}
    for chunk in chunks([r.id for r in focus]):
        for rid, payer, reference in db.session.execute(
                select(Payment.request_id, Payment.payer_account, Payment.bank_reference)
                .where(Payment.request_id.in_(chunk))):
            payers[rid] = (payer or "", reference or "")
    own = data.own_accounts()
    for r in focus:
        payer, reference = payers.get(r.id, ("", ""))
        key = normalise_account(payer)
        mine = own.get(r.village_id, set())
        if not key or not mine or key in mine:
            continue
        yield Finding(FlagType.PAYER_ACCOUNT_MISMATCH, Colour.RED, r.village_id, f"payer_account_mismatch:{r.id}",
                      _("付款账户 %(payer)s 不是%(village)s的账户（%(own)s）", payer=key,
                        village=data.village(r.village_id).name, own="、".join(sorted(mine))),
                      [r], {"requests": [request_evidence(r)], "payer_account": key, "own_accounts": sorted(mine),
                            "bank_reference": reference},
                      amount=r.amount, occurred_at=r.at)


DETECTOR = Detector(FlagType.PAYER_ACCOUNT_MISMATCH,
                    _l("付款账户不是本村的账户（按规范化账号比对）。"),
                    detect, preventive=False)

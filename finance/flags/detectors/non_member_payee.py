"""non_member_payee: a 补贴 or 分红 payee who is not on the village's member roll (成员名册, EXCHANGE.md §5b),
or who had moved out or died before the payment.

Signal: a counted request whose purpose or subject names a member payout (补贴, 分红, 补助 …: the flag
policy's `member_payout_words`), to a person (not a business), whose standing on the village's roll on the
payment day (finance.orgs.members.Roll: by 身份证号 when the payment has one, else by name) is not_on_roll,
deceased or moved_out. A village without a roll raises nothing (the roll is missing, not the payee); wages
to cadres (应付工资) are not payouts. Red."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from finance.controls.normalise import is_business
from finance.flags.data import Data
from finance.flags.detectors.common import has_word, is_salary
from finance.flags.engine import Detector, Finding, request_evidence
from finance.flags.models import Colour, FlagType
from finance.orgs.members import Roll
from finance.timefmt import to_local


def detect(data: Data) -> Iterable[Finding]:
    candidates = []
    for r in data.focused():
        rules = data.rules(r.village_id)
        words = rules.member_payout_words
        if is_salary(r, rules) or is_business(r.payee_name):
            continue
        if has_word(r.purpose, words) is None and not (r.subject_name and has_word(r.subject_name, words)):
            continue
        candidates.append(r)
    if not candidates:
        return
    roll = Roll.of({r.village_id for r in candidates})
    paid_on = data.paid_dates([r.id for r in candidates])
    for r in candidates:
        day = paid_on.get(r.id) or to_local(r.at).date()
        standing = roll.standing(r.village_id, r.payee_name, r.payee_id_number, on=day)
        if standing.status == "not_on_roll":
            why = _("不在本村成员名册上")
        elif standing.status == "deceased":
            why = _("已于 %(since)s 登记死亡", since=standing.since.isoformat() if standing.since else "")
        elif standing.status == "moved_out":
            why = _("已于 %(since)s 迁出", since=standing.since.isoformat() if standing.since else "")
        else:
            continue
        yield Finding(FlagType.NON_MEMBER_PAYEE, Colour.RED, r.village_id, f"non_member_payee:{r.id}",
                      _("%(purpose)s的收款人“%(payee)s”%(why)s", purpose=r.purpose[:30], payee=r.payee_name, why=why),
                      [r], {"requests": [request_evidence(r)], "standing": standing.status,
                            "since": standing.since.isoformat() if standing.since else None,
                            "paid_on": day.isoformat()},
                      amount=r.amount, occurred_at=r.at)


DETECTOR = Detector(FlagType.NON_MEMBER_PAYEE,
                    _l("补贴、分红的收款人不在成员名册上，或付款前已登记死亡、迁出。"),
                    detect)

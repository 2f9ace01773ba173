"""self_payee: the payee is the requester or an approver of the same request.

Signal: the payee's normalised account or 身份证号 is the requester's or an approver's own (their 本人
register line), or the payee's cleaned name equals that person's name (a person, not a business). Not
flagged: wages and payouts (补贴, 误工 …: a cadre's pay, approved with the payroll), and the requester's
代垫 (an advance repaid against a third party's invoice). Red."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _

from finance.controls.normalise import is_business, normalise_name
from finance.flags.data import Data
from finance.flags.detectors.common import is_payout, same_name
from finance.flags.engine import Detector, Finding, request_evidence
from finance.flags.models import Colour, FlagType


def detect(data: Data) -> Iterable[Finding]:
    for r in data.focused():
        rules = data.rules(r.village_id)
        if is_payout(r, rules):
            continue
        accounts, ids = data.own_identity()
        person = not is_business(r.payee_name)
        payee = normalise_name(r.payee_name)
        people = [(r.requester_id, "requester")] + [(a.actor_id, a.role) for a in data.approvals(r.id)]
        for user_id, role in people:
            via = None
            if r.account_key and r.account_key in accounts.get(user_id, ()):
                via = "account"
            elif r.payee_id_number and r.payee_id_number in ids.get(user_id, ()):
                via = "id_number"
            elif person and len(payee) >= 2 and payee == normalise_name(data.user_name(user_id)):
                via = "name"
            if via is None:
                continue
            if role == "requester" and any(not same_name(i.seller_key, r.name_key) for i in data.invoices(r.id)):
                continue  # 代垫: repaid against another seller's invoice
            who = _("申请人") if role == "requester" else _("审批人")
            yield Finding(FlagType.SELF_PAYEE, Colour.RED, r.village_id, f"self_payee:{r.id}",
                          _("收款人“%(payee)s”是本申请的%(who)s%(name)s本人", payee=r.payee_name, who=who,
                            name=data.user_name(user_id)),
                          [r], {"requests": [request_evidence(r)], "user_id": user_id, "role": role, "via": via},
                          amount=r.amount, occurred_at=r.at)
            break


DETECTOR = Detector(FlagType.SELF_PAYEE, "收款人是本申请的申请人或审批人本人（按账号、身份证号或姓名）。", detect)

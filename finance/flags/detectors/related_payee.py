"""related_payee: the payee is in the related-persons register of an official of the village or its
township (村干部及近亲属, EXCHANGE.md §3).

Signal: the payee's normalised account or 身份证号 is an account or ID of an active register line of
someone holding a role at the village or its township. Never by name or surname. Not flagged: wages
(the official's own salary) and 分红 (every member's share); the requester or an approver paid himself is
self_payee's. Red."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _

from finance.controls.models import Relation
from finance.flags.data import Data, RegisterLine
from finance.flags.detectors.common import has_word, is_salary
from finance.flags.engine import Detector, Finding, request_evidence
from finance.flags.models import Colour, FlagType


def detect(data: Data) -> Iterable[Finding]:
    by_account, by_id = data.register()
    if not by_account and not by_id:
        return
    for r in data.focused():
        rules = data.rules(r.village_id)
        if is_salary(r, rules) or has_word(r.purpose, ("分红",)):
            continue
        hits: list[tuple[RegisterLine, str]] = []
        if r.account_key:
            hits += [(line, "account") for line in by_account.get(r.account_key, [])]
        if r.payee_id_number:
            hits += [(line, "id_number") for line in by_id.get(r.payee_id_number, [])]
        if not hits:
            continue
        officials = data.officials(r.village_id)
        actors = {r.requester_id} | {a.actor_id for a in data.approvals(r.id)}
        hits = [(line, via) for line, via in hits if line.official_id in officials
                and not (line.relation is Relation.SELF and line.official_id in actors)]
        if not hits:
            continue
        line, via = hits[0]
        official = data.user_name(line.official_id)
        via_text = _("身份证号") if via == "id_number" else _("银行账号")
        if line.relation is Relation.SELF:
            summary = _("收款人“%(payee)s”的%(via)s属于本村（镇）干部%(official)s本人",
                        payee=r.payee_name, via=via_text, official=official)
        else:
            summary = _("收款人“%(payee)s”的%(via)s属于干部%(official)s的%(relation)s“%(name)s”（关联人登记）",
                        payee=r.payee_name, via=via_text, official=official, relation=line.relation.label,
                        name=line.name)
        yield Finding(FlagType.RELATED_PAYEE, Colour.RED, r.village_id, f"related_payee:{r.id}", summary, [r],
                      {"requests": [request_evidence(r)],
                       "register": [{"person_id": h.person_id, "official_id": h.official_id,
                                     "official": data.user_name(h.official_id), "name": h.name,
                                     "relation": h.relation.value, "via": v} for h, v in hits]},
                      amount=r.amount, occurred_at=r.at)


DETECTOR = Detector(FlagType.RELATED_PAYEE,
                    "收款人的银行账号或身份证号出现在本村或本镇干部的关联人登记中（从不按姓氏比对）。", detect)

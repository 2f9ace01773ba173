"""payee_concentration: one payee takes most of a village's works in a year (a ranked signal).

Signal: a village's works payments of a calendar year (subject 154 在建工程, or a works word in the
purpose: 工程, 施工, 维修 …), at least `concentration_min_payments` of them and `concentration_min_total`
yuan; one payee (account, else name) takes at least `concentration_share` of the amount, over at least
`concentration_min_matters` separate matters (a contract's instalments are one matter: a village with one
works contract a year is not flagged). Ranked by that
share. Yellow (a supplier may simply be the only one near)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from flask_babel import gettext as _

from finance.flags.data import Data, Req
from finance.flags.detectors.common import has_word
from finance.flags.engine import Detector, Finding, money, request_evidence, total
from finance.flags.models import Colour, FlagType
from finance.flags.policy import FlagRules
from finance.timefmt import to_local


def is_works(r: Req, rules: FlagRules) -> bool:
    if r.subject_code and any(r.subject_code.startswith(s) for s in rules.works_subjects):
        return True
    if r.subject_name and "在建工程" in r.subject_name:
        return True
    return has_word(r.purpose, rules.works_words) is not None


def detect(data: Data) -> Iterable[Finding]:
    focus_years = {(r.village_id, to_local(r.at).year) for r in data.focused()}
    for village_id, rows in data.by_village().items():
        rules = data.rules(village_id)
        by_year: dict[int, list[Req]] = defaultdict(list)
        for r in rows:
            if is_works(r, rules):
                by_year[to_local(r.at).year].append(r)
        for year, works in by_year.items():
            if (village_id, year) not in focus_years or len(works) < rules.concentration_min_payments:
                continue
            whole = total(works)
            if whole < rules.concentration_min_total:
                continue
            by_payee: dict[str, list[Req]] = defaultdict(list)
            for r in works:
                by_payee[r.account_key or r.name_key].append(r)
            payee, mine = max(by_payee.items(), key=lambda kv: total(kv[1]))
            share = total(mine) / whole
            matters = {r.contract_id or r.resolution_id or -r.id for r in mine}
            if share < rules.concentration_share or len(matters) < rules.concentration_min_matters:
                continue
            percent = (share * 100).quantize(Decimal("1"))
            yield Finding(FlagType.PAYEE_CONCENTRATION, Colour.YELLOW, village_id,
                          f"payee_concentration:{village_id}:{year}",
                          _("%(year)d 年本村工程款 %(whole)s 元中 %(percent)s%% 付给“%(payee)s”（%(n)d 笔）", year=year,
                            whole=money(whole), percent=percent, payee=mine[0].payee_name, n=len(mine)),
                          mine, {"year": year, "share": str(share.quantize(Decimal("0.001"))),
                                 "works_total": str(whole),
                                 "payees": len(by_payee), "requests": [request_evidence(r) for r in mine]},
                          amount=total(mine), occurred_at=max(r.at for r in mine))


DETECTOR = Detector(FlagType.PAYEE_CONCENTRATION, "一个村一年的工程款大部分付给同一收款人（按占比排序）。", detect,
                    preventive=False)

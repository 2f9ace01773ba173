"""paid_without_statement: a request marked paid whose transfer the village's statements do not show.

Signal: a paid request (live or imported history) of a village whose imported statements cover its payment
day and the days after it (by default the bank's grace of 5 days), that the bank did not match to a line,
and that no outflow line fits by the bank's rules (reference, or amount + payee account + date within ±3
days). A village without statements raises nothing. Red (a payment recorded that never left, or left from
elsewhere)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from finance.bank.queries import DATE_WINDOW
from finance.flags.data import Data, load_requests
from finance.flags.engine import Detector, Finding, money, request_evidence
from finance.flags.models import Colour, FlagType
from finance.flags.statements import covered_villages, fits, payments_of, seen_payments
from finance.payment_requests.models import PaymentRequest

GRACE = timedelta(days=5)  # as the bank's default `paid_grace_days`


def detect(data: Data) -> Iterable[Finding]:
    if data.full:
        covered = covered_villages(None)
        paid = payments_of(set(covered))
    else:
        # the new requests' payments, and the payments dated around the new statement lines
        line_days = data.line_days()
        villages = {data.reqs[i].village_id for i in data.focus if i in data.reqs} | set(line_days)
        covered = covered_villages(villages)
        paid = payments_of(set(covered), request_ids=set(data.focus)) if data.focus else {}
        for vid, (low, high) in line_days.items():
            if vid in covered:
                for p in payments_of({vid}, low - GRACE - DATE_WINDOW, high + DATE_WINDOW).get(vid, []):
                    if all(p.payment_id != q.payment_id for q in paid.get(vid, [])):
                        paid.setdefault(vid, []).append(p)
    if not covered or not paid:
        return
    days = [p.value_date for ps in paid.values() for p in ps]
    matched, lines = seen_payments(set(paid), {p.payment_id for ps in paid.values() for p in ps},
                                   None if data.full else min(days), None if data.full else max(days))
    missing = []
    for vid, payments in paid.items():
        first, last = covered[vid]
        for p in payments:
            if p.payment_id in matched or not (first <= p.value_date and p.value_date + GRACE <= last):
                continue
            if any(fits(line, p) for line in lines.get(vid, [])):
                continue
            missing.append(p)
    if not missing:
        return
    reqs = {r.id: r for r in load_requests(PaymentRequest.id.in_([p.request_id for p in missing]))}
    for p in missing:
        r = reqs.get(p.request_id)
        if r is None:
            continue
        yield Finding(FlagType.PAID_WITHOUT_STATEMENT, Colour.RED, p.village_id,
                      f"paid_without_statement:{p.request_id}",
                      _("申请 %(n)s 于 %(d)s 支付 %(a)s 元，但本村对账单中没有这笔流水", n=r.number,
                        d=p.value_date.isoformat(), a=money(p.amount)),
                      [r], {"requests": [request_evidence(r)], "paid_on": p.value_date.isoformat(),
                            "reference": p.reference, "statements_cover": [covered[p.village_id][0].isoformat(),
                                                                           covered[p.village_id][1].isoformat()]},
                      amount=p.amount, occurred_at=r.at)


DETECTOR = Detector(FlagType.PAID_WITHOUT_STATEMENT,
                    _l("申请已支付，但已导入的对账单覆盖其支付日期，却没有这笔流水。"),
                    detect, preventive=False, statements=True)

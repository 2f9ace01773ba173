"""unmatched_outflow: money left a village's account with no paid request for it.

Signal: a statement outflow (a payment line, not a bank charge) that the bank's matching left without a
match, and that no paid request fits by the bank's own rules either (its reference, or amount + payee
account + date within ±3 days: a request imported after the statement). Red."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from finance.bank.models import LineKind
from finance.flags.data import Data
from finance.flags.engine import Detector, Finding, money
from finance.flags.models import Colour, FlagType
from finance.flags.statements import fits, payments_of, unmatched_lines


def detect(data: Data) -> Iterable[Finding]:
    lines = unmatched_lines(data, LineKind.PAYMENT)
    if not lines:
        return
    paid = payments_of({line.village_id for line in lines})
    for line in lines:
        if any(fits(line, p) for p in paid.get(line.village_id, [])):
            continue
        who = line.counterparty_name or line.counterparty_account or "—"
        yield Finding(FlagType.UNMATCHED_OUTFLOW, Colour.RED, line.village_id, f"unmatched_outflow:{line.id}",
                      _("%(d)s 付给 %(who)s %(a)s 元（流水号 %(s)s），没有对应的已支付申请",
                        d=line.value_date.isoformat(), who=who, a=money(line.debit), s=line.serial),
                      [], {"lines": [line.evidence()]}, statement_lines=[line.serial], amount=line.debit,
                      occurred_at=line.at())


DETECTOR = Detector(FlagType.UNMATCHED_OUTFLOW,
                    _l("银行流水中的支出没有对应的已支付申请（银行对账未匹配，也没有符合流水号或金额、账号、日期的申请）。"),
                    detect, preventive=False, statements=True)

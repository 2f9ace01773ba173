"""unregistered_income: money came into a village's account and no receipt registers it.

Signal: a statement inflow (income, not interest) that the bank's matching left without a match, and that
no registered receipt (the bank's rule: amount, payer account, date within ±3 days) nor an imported
history receipt fits. Red (坐收坐支, 截留: income kept off the books)."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from finance.bank.models import LineKind
from finance.flags.data import Data
from finance.flags.engine import Detector, Finding, money
from finance.flags.models import Colour, FlagType
from finance.flags.statements import receipts_fit, unmatched_lines


def detect(data: Data) -> Iterable[Finding]:
    lines = unmatched_lines(data, LineKind.INCOME)
    registered = receipts_fit(lines)
    for line in lines:
        if line.id in registered:
            continue
        who = line.counterparty_name or line.counterparty_account or "—"
        yield Finding(FlagType.UNREGISTERED_INCOME, Colour.RED, line.village_id, f"unregistered_income:{line.id}",
                      _("%(d)s 收到 %(who)s %(a)s 元（流水号 %(s)s），没有收款登记", d=line.value_date.isoformat(),
                        who=who, a=money(line.credit), s=line.serial),
                      [], {"lines": [line.evidence()]}, statement_lines=[line.serial], amount=line.credit,
                      occurred_at=line.at())


DETECTOR = Detector(FlagType.UNREGISTERED_INCOME,
                    _l("银行流水中的收入没有对应的收款登记（含历史导入的收款）。"),
                    detect, preventive=False, statements=True)

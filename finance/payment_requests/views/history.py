"""What the pages and prints show of imported history (EXCHANGE.md §4): the earlier system's record of a
request, for `payment_requests/_history.html` and the approval form."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from finance.imports.reader import parse_datetime
from finance.payment_requests import history
from finance.payment_requests.models import HistoryRecord, PaymentRequest
from finance.payment_requests.views.blueprint import bp
from finance.roles import role_label


@dataclass(frozen=True)
class ShownApproval:
    role_label: str
    name: str
    at: datetime | None


@bp.app_template_global("history_of")
def history_of(req: PaymentRequest) -> HistoryRecord | None:
    return history.record_of(req)


@bp.app_template_global("history_approvals")
def history_approvals(record: HistoryRecord) -> list[ShownApproval]:
    return [ShownApproval(role_label(a.get("role")), a.get("name") or "",
                          parse_datetime(a["at"]) if a.get("at") else None) for a in history.approvals_of(record)]

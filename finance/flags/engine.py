"""The flag engine: what a detector is and what it finds.

A detector is a module of finance/flags/detectors/ with a `DETECTOR = Detector(...)`: its flag type, its
signal (a sentence, shown on the workbench's help), whether it runs at submit (preventive), and `detect`,
a function of the scan's data (finance.flags.data.Data) that yields `Finding`s. Detectors read; the scan
(finance.flags.scan) alone writes flags, once per finding `key`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from finance.flags.data import Data, Req
from finance.flags.models import Colour, FlagType


@dataclass
class Finding:
    kind: FlagType
    severity: Colour
    village_id: int
    key: str  # what makes it the same finding next time (type:subject)
    summary: str  # Chinese, for a liaison
    requests: list[Req] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)
    statement_lines: list[str] = field(default_factory=list)
    amount: Decimal | None = None
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class Detector:
    kind: FlagType
    signal: str  # what it looks for, in a sentence (documentation, shown on the workbench's help)
    detect: Callable[[Data], Iterable[Finding]]
    preventive: bool = True  # also run at submit, on the submitted request
    statements: bool = False  # reads bank statements (run after every statement import)


def money(value: Decimal) -> str:
    return f"{value:,.2f}"


def request_evidence(r: Req) -> dict[str, Any]:
    """A request as the evidence page lists it."""
    return {"id": r.id, "number": r.number, "village_id": r.village_id, "payee": r.payee_name,
            "account": r.payee_account, "amount": str(r.amount), "at": r.at.isoformat(), "purpose": r.purpose}


def total(rows: Iterable[Req]) -> Decimal:
    return sum((r.amount for r in rows), Decimal("0"))

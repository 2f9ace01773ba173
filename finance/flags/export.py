"""`flags export`: every flag as JSON Lines, in the format of EXCHANGE.md §6."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select

from finance.extensions import db
from finance.flags.models import RiskFlag
from finance.orgs.models import OrgUnit
from finance.timefmt import to_local

BATCH = 2000


def flag_record(flag: RiskFlag, village_code: str) -> dict[str, Any]:
    return {"id": flag.id, "type": flag.kind.value, "severity": flag.severity.value, "village": village_code,
            "requests": json.loads(flag.request_numbers), "statement_lines": json.loads(flag.statement_lines),
            "summary": flag.summary, "raised_at": to_local(flag.raised_at).isoformat(timespec="seconds"),
            "status": flag.status.value}


def export_lines() -> Iterator[str]:
    """One JSON object per line, by id, read in batches."""
    last = 0
    while True:
        rows = db.session.execute(select(RiskFlag, OrgUnit.code).join(OrgUnit, OrgUnit.id == RiskFlag.village_id)
                                  .where(RiskFlag.id > last).order_by(RiskFlag.id).limit(BATCH)).all()
        if not rows:
            return
        for flag, code in rows:
            yield json.dumps(flag_record(flag, code), ensure_ascii=False)
        last = rows[-1][0].id

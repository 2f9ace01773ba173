"""End to end as the evaluation runs it: import history (EXCHANGE.md §4) with frauds planted in it, the
register (§3) and the member roll (§5b), then `flags scan` and `flags export` (§6)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text

from tests.imports_helpers import run, write


def _payment(number: str, amount: str, payee: str, account: str, purpose: str, day: str, **extra: Any
             ) -> dict[str, Any]:
    record: dict[str, Any] = {
        "kind": "payment", "village": "HL-YC-01", "number": number, "requester": "李秀英",
        "submitted_at": f"{day}T09:10:00+08:00", "payee_name": payee, "payee_bank": "中国农业银行",
        "payee_account": account, "payee_id_number": None, "amount": amount, "purpose": purpose, "subject": "5401",
        "fund_source": "自有资金",
        "approvals": [{"role": "village_lead", "name": "王建国", "at": f"{day}T15:00:00+08:00"}],
        "paid_at": f"{day}T16:00:00+08:00", "bank_reference": f"REF{number}", "payer_account": "6228480000000000",
        "invoices": [], "attachments": []}
    record.update(extra)
    return record


def test_history_frauds_are_found_and_exported(app: Any, db: Any, tmp_path: Any) -> None:
    own = db.execute(text("SELECT bank_account FROM org_unit WHERE code = 'HL-YC-01'")).scalar_one()
    shop = "濮阳市华龙区宏达建材商店"
    records = [
        # a split: three parts just under 10,000 to one account in ten days
        *[_payment(f"LS-S{n}", a, shop, "6228480012345678901", "村委会院墙维修材料款", d, payer_account=own,
                   invoices=[{"number": f"2541200000001234{n}000", "date": d, "seller": shop, "amount": a}])
          for n, (a, d) in enumerate((("9800.00", "2025-03-02"), ("9700.00", "2025-03-06"),
                                      ("9750.00", "2025-03-11")))],
        # one invoice number twice, months apart
        _payment("LS-D1", "1200.00", "濮阳市华龙区文具店", "6228480012340000001", "办公用品", "2025-04-02",
                 payer_account=own, invoices=[{"number": "25412000000099990000", "date": "2025-04-01",
                                               "seller": "濮阳市华龙区文具店", "amount": "1200.00"}]),
        _payment("LS-D2", "1200.00", "濮阳市华龙区文具店", "6228480012340000001", "办公用品", "2025-08-02",
                 payer_account=own, invoices=[{"number": "25412000000099990000", "date": "2025-08-01",
                                               "seller": "濮阳市华龙区文具店", "amount": "1200.00"}]),
        # a business on a receipt, paid from someone else's account
        _payment("LS-R1", "3300.00", "濮阳市华龙区兴农农资经营部", "6228480012340000002", "购买化肥", "2025-05-06",
                 payer_account="6217000099998888777"),
        # a 负面清单 word
        _payment("LS-N1", "1600.00", "李四", "6228480012340000003", "春节购买烟酒慰问", "2025-01-20",
                 payer_account=own),
    ]
    path = write(tmp_path, "history.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    result = run(app, "import", "history", str(path))
    assert result.exit_code == 0, result.output
    assert run(app, "flags", "scan").exit_code == 0
    exported = [json.loads(line) for line in run(app, "flags", "export").output.splitlines()]
    by_type: dict[str, list[set[str]]] = {}
    for flag in exported:
        by_type.setdefault(flag["type"], []).append(set(flag["requests"]))
    assert {"LS-S0", "LS-S1", "LS-S2"} in by_type["split_payment"]
    assert {"LS-D1", "LS-D2"} in by_type["duplicate_invoice"]
    assert {"LS-R1"} in by_type["receipt_as_invoice"]
    assert {"LS-R1"} in by_type["payer_account_mismatch"]
    assert {"LS-N1"} in by_type["negative_list"]
    again = run(app, "flags", "scan")
    assert again.exit_code == 0 and "raised 0 flags" in again.output
    assert len(run(app, "flags", "export").output.splitlines()) == len(exported)

"""Demo history: payments of 2025 from the district's earlier system, and 东岳村's member roll, loaded
through the importers (EXCHANGE.md §4, §5b) as a district moving in would. The history has what the flags
look for: two payments to one shop on consecutive days each just under the 10,000 band, an invoice
number used twice, a subsidy paid to a member recorded dead before it."""

from __future__ import annotations

import json
from datetime import date, timedelta

from finance.controls.normalise import id_check_char
from finance.imports import history, members

VILLAGES = {"HL-YC-01": ("李秀英", "王建国", "张桂兰", "622848001234567801"),
            "HL-YC-02": ("刘春燕", "陈志强", "杨玉梅", "623059001122334402"),
            "HL-MK-01": ("黄丽娟", "郭永强", "何素芳", "621799008877665501"),
            "HL-MK-02": ("林小红", "罗海军", "高淑珍", "623059009988776602")}
PAYEES = [("濮阳市华龙区宏达建材商店", "中国农业银行濮阳华龙支行", "6228480012345678901", "5401",
           "村委会院墙维修材料款"),
          ("濮阳市华龙区兴农农资经营部", "濮阳农村商业银行岳村支行", "6230590011223344556", "5201", "集体果园化肥款"),
          ("华龙区平安保洁服务部", "中国邮政储蓄银行华龙区支行", "6217990088776655443", "5501", "村内道路保洁费"),
          ("濮阳市绿源苗木场", "中国农业银行濮阳华龙支行", "6228480099887766554", "1601", "主干道绿化苗木款")]


def _id(n: int) -> str:
    first = f"41092819{50 + n:02d}0{1 + n % 9}1{n % 10}0{n:02d}"[:17]
    return first + id_check_char(first)


def _payment(n: int, code: str, day: date, payee: int, amount: str, invoice: str) -> dict[str, object]:
    accountant, lead, supervisor, account = VILLAGES[code]
    name, bank, payee_account, subject, purpose = PAYEES[payee]
    at = f"{day.isoformat()}T09:{10 + n % 40:02d}:00+08:00"
    return {
        "kind": "payment", "village": code, "number": f"LS2025-{n:06d}", "requester": accountant,
        "submitted_at": at, "payee_name": name, "payee_bank": bank, "payee_account": payee_account,
        "payee_id_number": None, "amount": amount, "purpose": purpose, "subject": subject, "fund_source": "自有资金",
        "approvals": [{"role": "village_lead", "name": lead, "at": f"{day.isoformat()}T10:30:00+08:00"},
                      {"role": "village_supervisor", "name": supervisor, "at": f"{day.isoformat()}T15:00:00+08:00"}],
        "paid_at": f"{(day + timedelta(days=2)).isoformat()}T11:00:00+08:00",
        "bank_reference": f"HL{day:%Y%m%d}{n:06d}", "payer_account": account,
        "invoices": [{"number": invoice, "date": day.isoformat(), "seller": name, "amount": amount}],
    }


def history_lines() -> list[dict[str, object]]:
    lines = []
    n = 0
    for month in range(3, 11):
        for v, code in enumerate(VILLAGES):
            n += 1
            amount = f"{1200 + 530 * ((n * 7) % 13)}.00"
            lines.append(_payment(n, code, date(2025, month, 5 + v), (n + v) % len(PAYEES), amount,
                                  f"2541200000{n:010d}"))
    # what the flags find afterwards: a split under the 10,000 band, an invoice number used twice
    lines.append(_payment(n + 1, "HL-YC-01", date(2025, 11, 3), 0, "9800.00", "25412000000099990001"))
    lines.append(_payment(n + 2, "HL-YC-01", date(2025, 11, 4), 0, "9700.00", "25412000000099990002"))
    lines.append(_payment(n + 3, "HL-MK-01", date(2025, 11, 12), 1, "3600.00", "25412000000099990001"))
    subsidy = _payment(n + 4, "HL-YC-01", date(2025, 12, 1), 0, "600.00", "25412000000099990003")
    subsidy.update({"payee_name": "赵老汉", "payee_bank": "濮阳农村商业银行岳村支行",
                    "payee_account": "6230590011112222333", "payee_id_number": _id(3), "purpose": "高龄老人补贴",
                    "subject": "5501", "invoices": []})
    lines.append(subsidy)
    lines.append({"kind": "receipt", "village": "HL-YC-01", "number": "SK2025-000001",
                  "received_at": "2025-04-01T10:00:00+08:00", "payer_name": "张三",
                  "payer_account": "6217000011112222333",
                  "amount": "12000.00", "type": "租金", "receipt_number": "0001234", "account": "622848001234567801"})
    return lines


ROLL = [("王大山", 1, "在册", ""), ("李小河", 2, "迁出", "2025-06-30"), ("赵老汉", 3, "死亡", "2025-09-15"),
        ("张桂兰", 4, "在册", ""), ("王建国", 5, "在册", "")]


def seed_history() -> None:
    """The demo district's history and 东岳村's roll, through the importers (commits nothing)."""
    data = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in history_lines()).encode()
    history.run(data, "华龙区原系统支付记录2025.jsonl")
    roll = "单位编码,姓名,身份证号,状态,日期\n" + "".join(
        f"HL-YC-01,{name},{_id(n)},{status},{day}\n" for name, n, status, day in ROLL)
    members.run(roll.encode(), "东岳村成员名册.csv")

"""A realistic clean payment history for the flags (issue 12 item 6): what honest villages pay, month after
month, with the hard negatives a naive detector would flag:

  - the same cleaner paid monthly (保洁费), the power bill monthly to one supplier;
  - cadre salaries (应付工资) paid to the cadres themselves, who are in the register as 本人 and approve;
  - instalments of one contract (a works contract paid in three parts; small repairs paid in three parts
    of 9,000 under one 27,000 contract within a month);
  - a surname shared by most of a village (王), never compared;
  - one building-material shop serving every village under its one account and name (with variants);
  - night approvals during a flood emergency: one township, one night, several villages;
  - a year-end 分红 paid to many members on one day.

`generate()` writes the rows straight into the tables (bulk INSERTs; no audit events: the scan does not
read them), on top of the demo district (finance.demo.seed_base). Deterministic for a seed.

    python -m bench.flags_history --villages 40 --months 12      # burden on a fresh SQLite database

prints the flags raised per village-month (red, yellow) beside the targets (≤ 1 red, ≤ 3 yellow)."""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from finance.attachment_kinds import AttachmentKind
from finance.auth.models import RoleAssignment, User
from finance.controls.models import Contract, InvoiceFact, RelatedAccount, RelatedPerson, RequestControl
from finance.extensions import db
from finance.orgs.models import AccountSubject, OrgUnit
from finance.payment_requests.models import Attachment, PaymentRequest, RequestAction
from finance.payments.models import Payment
from finance.roles import OrgKind, Role
from finance.timefmt import CST

SURNAMES = "王" * 14 + "李张刘陈杨赵黄周吴"
GIVEN = "建国秀英桂兰志强玉梅春燕丽华振华国栋晓燕德明永强素芳海军淑珍文静建军志刚雪梅建华小红丽娟明亮红霞"
SHOP = "濮阳市华龙区宏达建材商店"
SHOP_VARIANTS = (SHOP, "宏达建材商店", "濮阳市华龙区宏达建材店")
SHOP_ACCOUNT = "6228480012345600001"
POWER = "国网河南省电力公司濮阳供电公司"
POWER_ACCOUNT = "4100150011000000001"
BUYS = ("购买水泥", "购买钢管", "购买办公用品", "购买灯具", "购买水管配件", "购买油漆", "购买铁锹扫帚", "购买电线")
LABOUR = ("清理河道务工费", "村内绿化务工费", "修剪树木务工费", "搬运物资劳务费", "防疫值守误工补贴")
CHUNK = 5000


@dataclass
class Generated:
    villages: list[int]
    requests: int
    start: date
    months: int


@dataclass(frozen=True)
class _V:
    """A village of the generated history and the people acting on its requests."""

    vid: int
    own: str
    lead: int
    supervisor: int
    accountant: int
    reviewer: int
    leader: int
    cashier: int


class Ids:
    def __init__(self, start: int) -> None:
        self.value = start

    def next(self) -> int:
        self.value += 1
        return self.value


def _max(column: Any) -> int:
    return int(db.session.execute(select(func.max(column))).scalar_one() or 0)


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, 2))


def _account(rng: random.Random) -> str:
    return "6217" + "".join(rng.choice("0123456789") for _ in range(15))


def _at(day: date, hour: float) -> datetime:
    local = datetime(day.year, day.month, day.day, tzinfo=CST) + timedelta(hours=hour)
    return local.astimezone(UTC)


def _daytime(at: datetime) -> datetime:
    """Move a time outside 8:00-18:00 China time to the next 8:30."""
    local = at.astimezone(CST)
    if 8 <= local.hour < 18:
        return at
    nxt = local.date() + timedelta(days=1 if local.hour >= 18 else 0)
    return _at(nxt, 8.5)


def generate(*, townships: int = 2, villages_per: int = 10, months: int = 12, per_month: int = 12,
             register_rows: int = 0, seed: int = 7, start: date | None = None, flood: bool = True) -> Generated:
    rng = random.Random(seed)
    start = start or (date.today().replace(day=1) - timedelta(days=31 * months)).replace(day=1)
    district = db.session.execute(select(OrgUnit).where(OrgUnit.kind == OrgKind.DISTRICT)).scalars().first()
    assert district is not None, "seed the demo district first (finance.demo.seed_base)"
    subjects = {code: sid for code, sid in db.session.execute(select(AccountSubject.code, AccountSubject.id))}
    unit_ids, user_ids = Ids(_max(OrgUnit.id)), Ids(_max(User.id))
    req_ids, act_ids, att_ids = Ids(_max(PaymentRequest.id)), Ids(_max(RequestAction.id)), Ids(_max(Attachment.id))
    inv_ids, pay_ids, con_ids = Ids(_max(InvoiceFact.id)), Ids(_max(Payment.id)), Ids(_max(Contract.id))
    person_ids = Ids(_max(RelatedPerson.id))
    rows: dict[Any, list[dict[str, Any]]] = {t: [] for t in (OrgUnit, User, RoleAssignment, PaymentRequest,
                                                           RequestAction, Attachment, InvoiceFact, Payment,
                                                           Contract, RequestControl, RelatedPerson, RelatedAccount)}
    now = datetime.now(UTC)
    run = hashlib.sha256(f"{seed}-{start}-{_max(OrgUnit.id)}".encode()).hexdigest()[:6].upper()

    def user(name: str, role: Role, unit: int) -> int:
        uid = user_ids.next()
        rows[User].append({"id": uid, "username": f"g{run.lower()}{uid}", "display_name": name, "password_hash": "!",
                           "active": True, "session_version": 1, "must_change_password": False, "created_at": now})
        rows[RoleAssignment].append({"user_id": uid, "role": role.value, "org_unit_id": unit, "created_at": now})
        return uid

    def register(official: int, name: str, relation: str, account: str) -> None:
        pid = person_ids.next()
        rows[RelatedPerson].append({"id": pid, "official_id": official, "name": name, "relation": relation,
                                    "id_number": None, "note": "", "active": True, "created_by_id": None,
                                    "created_at": now, "updated_at": now})
        rows[RelatedAccount].append({"person_id": pid, "account": account})

    villages: list[int] = []
    flood_night = date(start.year, 7, 20) if date(start.year, 7, 20) >= start else date(start.year + 1, 7, 20)
    count = 0
    for t in range(townships):
        tid = unit_ids.next()
        tcode = f"G{run}{t:02d}"
        rows[OrgUnit].append({"id": tid, "code": tcode, "name": f"生成{t + 1}镇", "kind": OrgKind.TOWNSHIP.value,
                              "parent_id": district.id, "path": f"{district.path}{tid}/", "created_at": now})
        reviewer = user(_name(rng), Role.AGENCY_REVIEWER, tid)
        leader = user(_name(rng), Role.TOWNSHIP_LEADER, tid)
        cashier = user(_name(rng), Role.CASHIER, tid)
        contractors = [(f"濮阳市{rng.choice('宏远鑫达恒泰华兴')}{rng.choice('建筑建设路桥')}工程有限公司{t}{n}",
                        _account(rng)) for n in range(4)]
        for vn in range(villages_per):
            vid = unit_ids.next()
            villages.append(vid)
            own = "6228480000" + f"{vid:09d}"
            rows[OrgUnit].append({"id": vid, "code": f"{tcode}-{vn:03d}", "name": f"生成{t + 1}镇{vn + 1}村",
                                  "kind": OrgKind.VILLAGE.value, "parent_id": tid,
                                  "path": f"{district.path}{tid}/{vid}/", "bank_name": "中国农业银行",
                                  "bank_account": own, "bank_account_name": "村股份经济合作社",
                                  "created_at": now})
            cadres = [(user(_name(rng), role, vid), role) for role in (Role.VILLAGE_LEAD, Role.VILLAGE_SUPERVISOR,
                                                                      Role.ACCOUNTANT)]
            names = {uid: r["display_name"] for r in rows[User] for uid in [r["id"]]}
            cadre_accounts = {}
            for uid, _role in cadres:
                cadre_accounts[uid] = _account(rng)
                register(uid, names[uid], "self", cadre_accounts[uid])
                for relation in ("spouse", "child", "sibling"):
                    register(uid, _name(rng), relation, _account(rng))
            lead, supervisor, accountant = (c[0] for c in cadres)
            cleaner = (_name(rng), _account(rng))
            villagers = [(_name(rng), _account(rng)) for _ in range(25)]
            members = [(_name(rng), _account(rng)) for _ in range(20)]

            v = _V(vid, own, lead, supervisor, accountant, reviewer, leader, cashier)

            def pay(v: _V, day: date, amount: Decimal, payee: str, account: str, purpose: str, subject: str,
                    voucher: AttachmentKind, *, invoice: bool = False, contract: int | None = None,
                    hour: float | None = None, night: bool = False) -> None:
                nonlocal count
                rid = req_ids.next()
                count += 1
                submitted = _at(day, hour if hour is not None else rng.uniform(8.5, 17.0))
                steps = [(v.lead, Role.VILLAGE_LEAD), (v.supervisor, Role.VILLAGE_SUPERVISOR),
                         (v.reviewer, Role.AGENCY_REVIEWER)]
                if amount >= 10000:
                    steps.append((v.leader, Role.TOWNSHIP_LEADER))
                number = f"G{run}{rid:07d}"
                rows[RequestAction].append({"id": act_ids.next(), "request_id": rid, "round": 1, "step": None,
                                            "action": "submit", "from_state": "draft", "to_state": "pending",
                                            "actor_id": v.accountant, "actor_role": Role.ACCOUNTANT.value,
                                            "comment": None, "client_key": None, "created_at": submitted})
                at = submitted
                for n, (actor, role) in enumerate(steps, start=1):
                    at = at + timedelta(minutes=rng.uniform(3, 15)) if night else _daytime(
                        at + timedelta(hours=rng.uniform(0.3, 20)))
                    rows[RequestAction].append({"id": act_ids.next(), "request_id": rid, "round": 1, "step": n,
                                                "action": "approve", "from_state": "pending",
                                                "to_state": "pending" if n < len(steps) else "approved",
                                                "actor_id": actor, "actor_role": role.value, "comment": "同意",
                                                "client_key": None, "created_at": at})
                paid = _daytime(at + timedelta(hours=rng.uniform(2, 40)))
                rows[RequestAction].append({"id": act_ids.next(), "request_id": rid, "round": 1, "step": None,
                                            "action": "pay", "from_state": "approved", "to_state": "paid",
                                            "actor_id": v.cashier, "actor_role": Role.CASHIER.value, "comment": None,
                                            "client_key": None, "created_at": paid})
                rows[PaymentRequest].append({
                    "id": rid, "number": number, "village_id": v.vid, "requester_id": v.accountant, "state": "paid",
                    "payee_name": payee, "payee_bank": "中国农业银行", "payee_account": account, "amount": amount,
                    "purpose": purpose, "subject_id": subjects.get(subject), "fund_source": "村集体经营收入",
                    "budget_line": "", "policy_id": None, "step": 0, "round": 1, "submitted_at": submitted,
                    "waiting_since": paid, "waiting_role": None, "created_at": submitted, "updated_at": paid,
                    "version": 1})
                att = att_ids.next()
                rows[Attachment].append({"id": att, "request_id": rid, "kind": voucher.value,
                                         "sha256": hashlib.sha256(f"{run}{rid}".encode()).hexdigest(),
                                         "filename": "v.jpg", "content_type": "image/jpeg", "size": 1000,
                                         "uploaded_by_id": v.accountant, "created_at": submitted})
                if invoice:
                    inv = f"2541200{rid:013d}"
                    rows[InvoiceFact].append({"id": inv_ids.next(), "attachment_id": att, "request_id": rid,
                                              "number": inv, "code": None, "dup_key": inv,
                                              "invoice_date": day, "seller": payee, "seller_key": payee,
                                              "amount": amount, "recorded_by_id": v.accountant,
                                              "created_at": submitted, "updated_at": submitted})
                if contract is not None:
                    rows[RequestControl].append({"request_id": rid, "resolution_id": None, "contract_id": contract,
                                                 "instalment": "progress", "payee_id_number": None,
                                                 "updated_at": submitted})
                rows[Payment].append({"id": pay_ids.next(), "request_id": rid, "bank_reference": f"B{run}{rid}",
                                      "reference_key": f"B{run}{rid}", "value_date": paid.astimezone(CST).date(),
                                      "amount": amount, "payee_name": payee, "payee_account": account,
                                      "payer_account": v.own, "cashier_id": v.cashier, "receipt_id": None,
                                      "created_at": paid, "reconciled_at": None})

            def contract_row(v: _V, counterparty: str, amount: Decimal, signed: date) -> int:
                cid = con_ids.next()
                rows[Contract].append({"id": cid, "village_id": v.vid, "resolution_id": None, "title": "工程合同",
                                       "counterparty": counterparty, "counterparty_key": counterparty,
                                       "amount": amount, "signed_on": signed, "starts_on": None, "ends_on": None,
                                       "file_sha256": "0" * 64, "file_type": "application/pdf",
                                       "created_by_id": v.accountant, "created_at": now})
                return cid

            works_month = rng.randrange(0, max(1, months - 3))
            for m in range(months):
                first = (start.replace(day=1) + timedelta(days=32 * m)).replace(day=1)

                def day_in(lo: int = 1, hi: int = 27, first: date = first) -> date:
                    d = first + timedelta(days=rng.randint(lo, hi) - 1)
                    return d + timedelta(days=2) if d.weekday() >= 5 else d

                pay(v, day_in(3, 8), Decimal("1500.00"), cleaner[0], cleaner[1], f"{first.month}月村内保洁费", "5401",
                    AttachmentKind.LABOUR_SLIP)
                pay(v, day_in(5, 12), Decimal(rng.randrange(300, 2500)), POWER, POWER_ACCOUNT,
                    f"{first.month}月村部及路灯电费", "5401", AttachmentKind.INVOICE, invoice=True)
                for uid, _role in cadres:
                    pay(v, day_in(10, 12), Decimal(rng.choice((2000, 2500, 3000, 3500))), names[uid],
                        cadre_accounts[uid],
                        f"{first.month}月村干部工资", "2301", AttachmentKind.LABOUR_SLIP)
                for _ in range(rng.randint(1, 3)):
                    pay(v, day_in(), Decimal(round(rng.lognormvariate(7.3, 0.7), -1) or 300), rng.choice(SHOP_VARIANTS),
                        SHOP_ACCOUNT, rng.choice(BUYS), "5401", AttachmentKind.INVOICE, invoice=True)
                for _ in range(max(0, per_month - 7)):
                    person = rng.choice(villagers)
                    pay(v, day_in(), Decimal(rng.randrange(20, 300) * 10), person[0], person[1], rng.choice(LABOUR),
                        "5401", AttachmentKind.LABOUR_SLIP)
                if m == works_month:
                    name, account = rng.choice(contractors)
                    total = Decimal(rng.randrange(60, 200) * 1000)
                    cid = contract_row(v, name, total, first)
                    for part, share in enumerate((Decimal("0.3"), Decimal("0.6"), Decimal("0.1"))):
                        pay(v, day_in() + timedelta(days=45 * part), (total * share).quantize(Decimal("0.01")), name,
                            account, f"村内道路硬化工程第{part + 1}期款", "1601", AttachmentKind.INVOICE, invoice=True,
                            contract=cid)
                if m == (works_month + 4) % months:
                    repairer = (_name(rng) + "维修部", _account(rng))
                    cid = contract_row(v, repairer[0], Decimal("27000.00"), first)
                    for part in range(3):
                        pay(v, day_in(2 + 8 * part, 3 + 8 * part), Decimal("9000.00"), repairer[0], repairer[1],
                            "村部屋顶维修分期款", "5401", AttachmentKind.INVOICE, invoice=True, contract=cid)
                if first.month == 12:
                    for member in members:
                        pay(v, date(first.year, 12, 28), Decimal("800.00"), member[0], member[1], "年终集体收益分红",
                            "5401", AttachmentKind.LABOUR_SLIP, hour=10.0)
                if flood and t == 0 and vn < 4 and first.year == flood_night.year and first.month == 7:
                    pay(v, flood_night, Decimal(rng.randrange(30, 80) * 100), SHOP, SHOP_ACCOUNT,
                        "购买编织袋、铁锹等物资",
                        "5401", AttachmentKind.INVOICE, invoice=True, hour=22.6 + vn * 0.3, night=True)
    extra = max(0, register_rows - len(rows[RelatedPerson]))
    officials = [r["user_id"] for r in rows[RoleAssignment]]
    for _ in range(extra):
        register(rng.choice(officials), _name(rng), rng.choice(("spouse", "child", "parent", "sibling")), _account(rng))
    for model, values in rows.items():
        table = model.__table__
        for i in range(0, len(values), CHUNK):
            db.session.execute(insert(table), values[i:i + CHUNK])
    db.session.flush()
    return Generated(villages, count, start, months)


def burden(villages: list[int]) -> Counter[tuple[int, str, str]]:
    """Flags by (village, YYYY-MM of what they are about, colour)."""
    from finance.flags.models import RiskFlag
    from finance.timefmt import to_local

    out: Counter[tuple[int, str, str]] = Counter()
    for vid, at, colour in db.session.execute(select(RiskFlag.village_id, RiskFlag.occurred_at, RiskFlag.severity)
                                              .where(RiskFlag.village_id.in_(villages))):
        out[(vid, to_local(at).strftime("%Y-%m") if at else "?", str(colour))] += 1
    return out


def main() -> int:
    from finance import create_app
    from finance.demo import seed_base
    from finance.flags.scan import scan
    from finance.migrate import upgrade

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--townships", type=int, default=2)
    parser.add_argument("--villages", type=int, default=20, help="villages per township")
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--per-month", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="sanzi-flags-"))
    url = f"sqlite:///{folder / 'history.db'}"
    upgrade(url)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "INSTANCE_PATH": str(folder),
                      "UPLOAD_DIR": str(folder / "uploads"), "AUDIT_KEY_FILE": str(folder / "key.pem")})
    with app.app_context():
        seed_base("bench-password-1")
        made = generate(townships=args.townships, villages_per=args.villages, months=args.months,
                        per_month=args.per_month, seed=args.seed)
        db.session.commit()
        started = time.perf_counter()
        result = scan()
        db.session.commit()
        print(f"{made.requests} requests in {len(made.villages)} villages over {made.months} months; scan "
              f"{time.perf_counter() - started:.1f} s, {len(result.raised)} flags")
        counts = burden(made.villages)
        by_kind = Counter((f.kind.value, f.severity.value) for f in result.raised)
        for (kind, colour), n in sorted(by_kind.items()):
            print(f"  {kind:24} {colour:6} {n}")
        worst_red = max((n for (v, m, c), n in counts.items() if c == "red"), default=0)
        worst_yellow = max((n for (v, m, c), n in counts.items() if c == "yellow"), default=0)
        print(f"worst village-month: {worst_red} red (target ≤ 1), {worst_yellow} yellow (target ≤ 3)")
        return 0 if worst_red <= 1 and worst_yellow <= 3 else 1


if __name__ == "__main__":
    sys.exit(main())

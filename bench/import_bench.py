"""Benchmark of the bulk imports (not a test), issue 13: a district moves in.

Generates 200 villages (in 20 townships), 1,000 people and 100,000 history payments (EXCHANGE.md §0, §1,
§2, §4), imports them on PostgreSQL through the `flask --app finance import` code path (the same format
modules and services, as one unit of work each), and reports records per second for the history import
beside a bare bulk INSERT of the same payment rows in the same run (SQLAlchemy Core executemany into a
copy of the payment_request table, no audit, no checks; the median of --baseline-runs). Then imports
every file a second time and shows that nothing is added (rows and events counted before and after).

    PYTHONPATH=$PWD .venv/bin/python bench/import_bench.py                       # 200 / 1,000 / 100,000
    PYTHONPATH=$PWD .venv/bin/python bench/import_bench.py --payments 10000      # a quicker run

The database is created on --pg-url and dropped at the end (unless --keep). Aim: >= 0.2 x the baseline.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import MetaData, Table, func, insert, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import audit  # noqa: E402
from finance import create_app  # noqa: E402
from finance.controls.normalise import id_check_char  # noqa: E402
from finance.extensions import db  # noqa: E402
from finance.imports import history, org_units, people, subjects  # noqa: E402
from finance.imports.services import Outcome  # noqa: E402
from finance.migrate import upgrade  # noqa: E402
from finance.payment_requests import history as history_writer  # noqa: E402
from finance.workflow import State  # noqa: E402

CHART = [("101", "现金", "资产", ""), ("102", "银行存款", "资产", ""), ("154", "在建工程", "资产", ""),
         ("202", "应付款", "负债", ""), ("211", "应付工资", "负债", ""), ("502", "经营支出", "损益", ""),
         ("541", "管理费用", "损益", ""), ("541001", "办公费", "损益", "541"), ("541002", "差旅费", "损益", "541"),
         ("551", "其他支出", "损益", "")]
SURNAMES = ("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
            "余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段漕钱汤尹黎易常武乔贺赖龚文")
GIVEN = "建国秀英桂兰志强玉梅丽华振华国栋晓燕德明丽娟永强素芳小红海军淑珍文静建军志刚雪梅建华春燕红梅"


PAYEES = ["宏达建材商店", "兴农农资经营部", "平安劳务队", "绿源苗木场", "顺通运输公司"]
PROFILE = ""


def log(message: str) -> None:
    print(message, flush=True)


def create_database(admin_url: str) -> tuple[str, str]:
    name = f"sanzi_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name, f"{admin_url.rsplit('/', 1)[0]}/{name}"


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def person_name(rng: random.Random, taken: set[str]) -> str:
    while True:
        given = GIVEN[rng.randrange(0, len(GIVEN), 2):][:2]
        name = rng.choice(SURNAMES) + given + (rng.choice("一二三四五六七八九") if rng.random() < 0.5 else "")
        if name not in taken:
            taken.add(name)
            return name


def id_number(n: int) -> str:
    first = f"41090219{50 + n % 50:02d}{1 + n % 12:02d}{1 + n % 28:02d}{n % 1000:03d}"
    return first + id_check_char(first)


def generate(folder: Path, villages: int, people_count: int, payments: int, seed: int = 7) -> dict[str, Any]:
    rng = random.Random(seed)
    townships = max(1, villages // 10)
    lines = ["科目编码,科目名称,类别,上级编码"] + [",".join(row) for row in CHART]
    (folder / "subjects.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    units = ["编码,名称,级别,上级编码,开户行,银行账号,账户名称", "BJ,北郊区,区,,,,"]
    village_codes: list[str] = []
    accounts: dict[str, str] = {}
    for t in range(townships):
        t_code = f"BJ-{t + 1:02d}"
        units.append(f"{t_code},第{t + 1}镇,{'乡' if t % 3 == 0 else '镇'},BJ,,,")
        for v in range(villages // townships):
            code = f"{t_code}-{v + 1:02d}"
            account = f"622848{t + 1:03d}{v + 1:03d}{rng.randrange(10**6):06d}"
            accounts[code] = account
            village_codes.append(code)
            units.append(f"{code},第{t + 1}镇{v + 1}村,村,{t_code},中国农业银行北郊支行,{account},"
                         f"{code}股份经济合作社")
    (folder / "org-units.csv").write_text("\n".join(units) + "\n", encoding="utf-8")
    taken: set[str] = set()
    rows = ["用户名,姓名,角色,单位编码,身份证号,手机号"]
    count = 0
    accountants: dict[str, str] = {}
    leads: dict[str, str] = {}
    for t in range(townships):
        t_code = f"BJ-{t + 1:02d}"
        for role in ("agency_reviewer", "township_leader", "township_head", "cashier"):
            count += 1
            rows.append(f"u{count:05d},{person_name(rng, taken)},{role},{t_code},{id_number(count)},139{count:08d}")
    roles = ("accountant", "village_lead", "village_supervisor", "liaison")
    while count < people_count:
        for code in village_codes:
            for role in roles:
                if count >= people_count:
                    break
                count += 1
                name = person_name(rng, taken)
                if role == "accountant":
                    accountants.setdefault(code, name)
                if role == "village_lead":
                    leads.setdefault(code, name)
                rows.append(f"u{count:05d},{name},{role},{code},{id_number(count)},139{count:08d}")
            if count >= people_count:
                break
        roles = ("accountant",)
    (folder / "people.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    start = datetime(2023, 1, 1, 8, 0, tzinfo=UTC)
    with (folder / "history.jsonl").open("w", encoding="utf-8") as out:
        for n in range(payments):
            code = village_codes[n % len(village_codes)]
            submitted = start + timedelta(minutes=17 * n)
            amount = Decimal(rng.randrange(5000, 8_000_000)) / 100
            payee = "北郊区" + rng.choice(PAYEES)
            record = {
                "kind": "payment", "village": code, "number": f"LS{submitted:%Y}-{n + 1:06d}",
                "requester": accountants.get(code, "某报账员"),
                "submitted_at": submitted.isoformat(), "payee_name": payee, "payee_bank": "中国农业银行北郊支行",
                "payee_account": f"6217{rng.randrange(10**15):015d}", "payee_id_number": None,
                "amount": f"{amount:.2f}", "purpose": "村内道路维修材料款",
                "subject": rng.choice(["502", "541001", "551"]),
                "fund_source": "自有资金",
                "approvals": [{"role": "village_lead", "name": leads.get(code, "某书记"),
                               "at": (submitted + timedelta(hours=1)).isoformat()},
                              {"role": "agency_reviewer", "name": "原审核会计",
                               "at": (submitted + timedelta(hours=5)).isoformat()}],
                "paid_at": (submitted + timedelta(days=2)).isoformat(), "bank_reference": f"ABC{n + 1:012d}",
                "payer_account": accounts[code],
                "invoices": [{"number": f"2541200000{n + 1:010d}", "date": submitted.date().isoformat(),
                              "seller": payee, "amount": f"{amount:.2f}"}],
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return {"villages": len(village_codes), "people": count, "payments": payments}


def run_import(runner: Any, path: Path, **kwargs: Any) -> tuple[Outcome, float]:
    data = path.read_bytes()
    began = time.perf_counter()
    outcome = runner(data, path.name, **kwargs)
    db.session.commit()
    return outcome, time.perf_counter() - began


def counts() -> dict[str, int]:
    tables = ["payment_request", "request_action", "payment", "invoice_fact", "history_record", "org_unit",
              "user_account", "role_assignment", "account_subject", "import_batch", "account_activation"]
    out = {t: int(db.session.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in tables}  # noqa: S608
    out["audit_event"] = int(db.session.execute(select(func.count(audit.Event.id))).scalar_one())
    return out


def baseline(tables: dict[str, list[dict[str, Any]]]) -> float:
    """Seconds for a bare bulk INSERT (SQLAlchemy Core executemany, in chunks as the importer sends them,
    committed) of the given rows into copies of their tables with the same indexes."""
    copies = {}
    for name in tables:
        db.session.execute(text(f"DROP TABLE IF EXISTS bare_{name}"))
        db.session.execute(text(f"CREATE TABLE bare_{name} (LIKE {name} INCLUDING ALL)"))
    db.session.commit()
    for name in tables:
        copies[name] = Table(f"bare_{name}", MetaData(), autoload_with=db.session.connection())
    began = time.perf_counter()
    for name, rows in tables.items():
        for start in range(0, len(rows), history_writer.CHUNK):
            db.session.execute(insert(copies[name]), rows[start:start + history_writer.CHUNK])
    db.session.commit()
    took = time.perf_counter() - began
    for name in tables:
        db.session.execute(text(f"DROP TABLE bare_{name}"))
    db.session.commit()
    return took


def rows_of(name: str, where: str = "") -> list[dict[str, Any]]:
    """A table's rows as the import wrote them (without ids: the copy numbers its own)."""
    result = db.session.execute(text(f"SELECT * FROM {name} {where}")).mappings()  # noqa: S608
    return [{k: v for k, v in row.items() if k != "id"} for row in result]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--villages", type=int, default=200)
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--payments", type=int, default=100_000)
    parser.add_argument("--baseline-runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--profile", default="", help="print a cProfile of this import (history, people...)")
    args = parser.parse_args()
    global PROFILE
    PROFILE = args.profile
    name, url = create_database(args.pg_url)
    log(f"database {name}")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            began = time.perf_counter()
            made = generate(folder, args.villages, args.people, args.payments)
            size = (folder / "history.jsonl").stat().st_size
            log(f"generated {made['villages']} villages, {made['people']} people, {made['payments']} payments "
                f"({size / 1e6:.1f} MB of JSON Lines) in {time.perf_counter() - began:.1f} s")
            upgrade(url)
            app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "INSTANCE_PATH": str(folder / "instance"),
                              "UPLOAD_DIR": str(folder / "uploads"),
                              "AUDIT_KEY_FILE": str(folder / "audit_signing_key.pem")})
            with app.app_context():
                steps = [("subjects", subjects.run, folder / "subjects.csv", {}),
                         ("org-units", org_units.run, folder / "org-units.csv", {}),
                         ("people", people.run, folder / "people.csv", {}),
                         ("history", history.run, folder / "history.jsonl",
                          {"base": folder, "max_bytes": 4 * 1024**3})]
                log(f"{'import':<10}{'records':>9}{'seconds':>9}{'records/s':>11}")
                history_seconds = 0.0
                for label, runner, path, kwargs in steps:
                    if label == PROFILE:
                        import cProfile
                        import pstats
                        prof = cProfile.Profile()
                        prof.enable()
                    outcome, took = run_import(runner, path, **kwargs)
                    if label == PROFILE:
                        prof.disable()
                        pstats.Stats(prof).sort_stats("cumulative").print_stats(40)
                    if label == "history":
                        history_seconds = took
                    log(f"{label:<10}{outcome.added:>9}{took:>9.2f}{outcome.added / took:>11.0f}")
                rows = rows_of("payment_request", "WHERE imported")
                assert len(rows) == made["payments"] and all(r["state"] == State.PAID.value for r in rows[:10])
                rate = made["payments"] / history_seconds
                runs = [baseline({"payment_request": rows}) for _ in range(args.baseline_runs)]
                bare_seconds = statistics.median(runs)
                bare_rate = len(rows) / bare_seconds
                log(f"bare bulk INSERT of the same {len(rows)} payment_request rows: median {bare_seconds:.2f} s "
                    f"of {args.baseline_runs} ({', '.join(f'{r:.2f}' for r in runs)}) = {bare_rate:.0f} rows/s")
                log(f"history import: {rate:.0f} records/s = {rate / bare_rate:.2f} x the bare INSERT (aim >= 0.2)")
                everything = {name: rows_of(name) for name in ("payment_request", "request_action", "payment",
                                                               "invoice_fact", "history_record")}
                everything["audit_event"] = rows_of("audit_event", "WHERE action = 'history_import'")
                written = sum(len(v) for v in everything.values())
                runs = [baseline(everything) for _ in range(args.baseline_runs)]
                all_seconds = statistics.median(runs)
                log(f"bare bulk INSERT of every row the history import wrote ({written} rows in 6 tables, "
                    f"events included): median {all_seconds:.2f} s = {made['payments'] / all_seconds:.0f} records/s; "
                    f"the import = {all_seconds / history_seconds:.2f} x that")
                before = counts()
                log("second import of every file:")
                for label, runner, path, kwargs in steps:
                    outcome, took = run_import(runner, path, **kwargs)
                    log(f"  {label:<10} added {outcome.added}, updated {outcome.updated}, unchanged "
                        f"{outcome.unchanged} in {took:.2f} s: {outcome.message()}")
                after = counts()
                assert after == before, {k: (before[k], after[k]) for k in after if after[k] != before[k]}
                log(f"rows and events before and after the second import are equal: {after}")
    finally:
        if not args.keep:
            drop_database(args.pg_url, name)


if __name__ == "__main__":
    main()

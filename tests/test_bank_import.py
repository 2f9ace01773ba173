"""Statement import (EXCHANGE.md §5, issue 10 item 2): both encodings and .xlsx, the same file twice adds
nothing, overlapping statements merge by (account, 流水号), a broken 余额 is refused naming the row, and
each bad input of the issue is refused with file, row and column, importing nothing."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

import openpyxl
import pytest
from sqlalchemy import func, select

from audit.models import Event
from finance.bank import services as bank
from finance.bank.models import LineKind, StatementImport, StatementLine
from finance.imports.reader import ImportFileError
from tests import factories as f
from tests.bank_helpers import Line, Statement, account, statement_of

D = date.today().replace(day=1)


def _lines(n: int = 3, start: int = 1) -> list[Line]:
    out = []
    for i in range(start, start + n):
        if i % 2:
            out.append(Line(D + timedelta(days=i % 20), f"T{i:05d}", debit=Decimal("100.00") * i,
                            name="某某商店", account="6222000011112222", summary="货款"))
        else:
            out.append(Line(D + timedelta(days=i % 20), f"T{i:05d}", credit=Decimal("50.00") * i,
                            name="张三", account="6217000011112222333", summary="租金"))
    return out


def _count(acct_id: int) -> int:
    return f.db.session.execute(select(func.count(StatementLine.id)).where(StatementLine.account_id == acct_id)
                                ).scalar_one()


def _imports() -> int:
    return f.db.session.execute(select(func.count(Event.id)).where(Event.action == "statement_import")).scalar_one()


@pytest.mark.parametrize("form", ["utf-8", "utf-8-sig", "gb18030", "xlsx"])
def test_statement_imports_in_each_encoding_and_as_xlsx(db, form):
    acct = account()
    st = statement_of(acct, _lines(4))
    data = st.xlsx() if form == "xlsx" else st.csv(form)
    before = _imports()
    outcome = bank.import_statement(f.user("yc_chuna"), data, f"流水.{'xlsx' if form == 'xlsx' else 'csv'}")
    assert (outcome.lines, outcome.added) == (4, 4)
    assert _count(acct.id) == 4
    lines = db.execute(select(StatementLine).where(StatementLine.account_id == acct.id).order_by(StatementLine.id)
                       ).scalars().all()
    assert lines[0].debit == Decimal("100.00") and lines[1].credit == Decimal("100.00")
    assert lines[-1].balance == acct.opening_balance - 100 + 100 - 300 + 200
    assert lines[0].counterparty_account == "6222000011112222"
    assert _imports() == before + 1
    event = db.execute(select(Event).where(Event.action == "statement_import").order_by(Event.id.desc())
                       ).scalars().first()
    assert outcome.sha256 in event.after and '"lines":4' in event.after.replace(" ", "")


def test_the_same_statement_twice_adds_nothing_and_says_so(db):
    acct = account()
    data = statement_of(acct, _lines(5)).csv()
    bank.import_statement(f.user("yc_chuna"), data, "a.csv")
    events = _imports()
    again = bank.import_statement(f.user("yc_chuna"), data, "a.csv")
    assert again.added == 0 and "没有新增" in again.message()
    assert _count(acct.id) == 5 and _imports() == events
    assert db.execute(select(func.count(StatementImport.id))).scalar_one() >= 1


def test_overlapping_statements_merge_by_account_and_serial(db):
    acct = account()
    lines = _lines(8)
    first = statement_of(acct, lines[:5])
    bank.import_statement(f.user("yc_chuna"), first.csv(), "1-5.csv")
    # lines 3..8: the balance before line 3 is what line 2 left
    opening = acct.opening_balance + sum((x.credit - x.debit for x in lines[:2]), Decimal(0))
    second = Statement(acct.number, opening, lines[2:])
    outcome = bank.import_statement(f.user("yc_chuna"), second.csv("gb18030"), "3-8.csv")
    assert (outcome.lines, outcome.added) == (6, 3)
    assert _count(acct.id) == 8


def test_a_broken_balance_is_refused_naming_the_row(db):
    acct = account()
    lines = _lines(4)
    lines[2].balance = Decimal("1.00")
    with pytest.raises(ImportFileError) as info:
        bank.import_statement(f.user("yc_chuna"), statement_of(acct, lines).csv(), "broken.csv")
    assert info.value.row == 6 and info.value.column == "余额"  # two title rows, the header, then lines
    assert "余额" in str(info.value) and "broken.csv" in str(info.value)
    assert _count(acct.id) == 0


def test_same_serial_with_other_content_is_refused(db):
    acct = account()
    lines = _lines(2)
    bank.import_statement(f.user("yc_chuna"), statement_of(acct, lines).csv(), "a.csv")
    changed = [Line(lines[0].day, lines[0].serial, debit=Decimal("999.00")), ]
    with pytest.raises(ImportFileError, match="已导入过"):
        bank.import_statement(f.user("yc_chuna"), statement_of(acct, changed).csv(), "b.csv")


def _refused(data: bytes, name: str = "bad.csv", user: str = "yc_chuna", account_number: str | None = None
             ) -> ImportFileError:
    with pytest.raises(ImportFileError) as info:
        bank.import_statement(f.user(user), data, name, account_number)
    return info.value


def test_bad_input_is_refused_with_file_row_and_column(db, app):
    acct = account()
    good = statement_of(acct, _lines(3)).csv()
    # wrong encoding (UTF-16)
    assert "UTF-16" in str(_refused(good.decode().encode("utf-16")))
    # a missing column
    text = good.decode().replace("余额", "结余")
    err = _refused(text.encode())
    assert err.column == "余额" and "缺少" in err.message
    # text in an amount
    text = good.decode().replace("100.00", "一百元", 1)
    err = _refused(text.encode())
    assert err.column == "借方金额" and err.row == 4 and "不是有效金额" in err.message
    # both 借方 and 贷方 on one line
    both = Statement(acct.number, acct.opening_balance,
                     [Line(D, "X1", debit=Decimal("5.00"), credit=Decimal("5.00"))])
    err = _refused(both.csv())
    assert err.column == "贷方金额" and "同时" in err.message
    # an account outside the user's scope (孟轲乡's cashier, 东岳村's account)
    err = _refused(good, user="mk_chuna")
    assert err.column == "本方账号" and "管辖范围" in err.message
    # a 20 MB file
    err = _refused(good + b" " * (20 * 1024 * 1024))
    assert "MB" in err.message and err.row is None
    # an .xlsx with formulas, and one with several sheets
    book = openpyxl.Workbook()
    book.active.append(["本方账号", "交易日期", "流水号", "借方金额", "贷方金额", "余额"])
    book.active.append([acct.number, D.isoformat(), "F1", "=1+1", "", "100"])
    buf = io.BytesIO()
    book.save(buf)
    assert "公式" in _refused(buf.getvalue(), "f.xlsx").message
    book = openpyxl.Workbook()
    book.create_sheet("另一个")
    buf = io.BytesIO()
    book.save(buf)
    assert "工作表" in _refused(buf.getvalue(), "s.xlsx").message
    # an account nobody set up
    err = _refused(good, account_number="6200000000000001")
    assert err.column == "本方账号"
    assert _count(acct.id) == 0


def test_a_line_in_a_closed_month_is_refused(db):
    last_month = (D - timedelta(days=1)).replace(day=1)
    acct = account(opening_date=last_month)
    bank.close_month(f.user("yc_shenhe"), acct.village, f"{last_month:%Y-%m}")
    late = statement_of(acct, [Line(last_month + timedelta(days=3), "LATE1", debit=Decimal("10.00"))])
    err = _refused(late.csv())
    assert err.column == "交易日期" and "已扎账" in err.message


def test_charges_and_interest_are_recognised_by_summary_and_limit(db):
    acct = account()
    lines = [Line(D, "FEE1", debit=Decimal("2.50"), summary="跨行汇划手续费"),
             Line(D, "FEE2", debit=Decimal("800.00"), summary="手续费"),  # above the limit: not a charge
             Line(D, "INT1", credit=Decimal("35.20"), summary="结息"),
             Line(D, "IN1", credit=Decimal("1000.00"), summary="租金")]
    bank.import_statement(f.user("yc_shenhe"), statement_of(acct, lines).csv(), "k.csv")
    kinds = dict(db.execute(select(StatementLine.serial, StatementLine.kind)
                            .where(StatementLine.account_id == acct.id)).all())
    assert kinds == {"FEE1": LineKind.FEE, "FEE2": LineKind.PAYMENT, "INT1": LineKind.INTEREST,
                     "IN1": LineKind.INCOME}


def test_cli_imports_a_statement_as_a_user_and_refuses_a_bad_one(app, db, tmp_path):
    acct = account()
    good = tmp_path / "流水.csv"
    st = statement_of(acct, _lines(3))
    good.write_bytes(st.csv("gb18030").replace(acct.number.encode(), b""))  # no 本方账号: named by --account
    runner = app.test_cli_runner()
    r = runner.invoke(args=["import", "statement", str(good), "--account", acct.number, "--as", "yc_chuna"])
    assert r.exit_code == 0, r.output
    assert "已导入 3 笔新流水" in r.output and _count(acct.id) == 3
    r = runner.invoke(args=["import", "statement", str(good), "--account", acct.number, "--as", "yc_chuna"])
    assert r.exit_code == 0 and "没有新增" in r.output
    lines = _lines(2, start=10)
    lines[1].balance = Decimal("0.01")
    bad = tmp_path / "bad.csv"
    bad.write_bytes(statement_of(acct, lines).csv())
    r = runner.invoke(args=["import", "statement", str(bad), "--as", "yc_chuna"])
    assert r.exit_code == 1 and "bad.csv 第 5 行“余额”列" in r.output and "没有导入任何内容" in r.output
    r = runner.invoke(args=["import", "statement", str(bad), "--as", "mk_chuna"])
    assert r.exit_code == 1 and "管辖范围" in r.output
    assert _count(acct.id) == 3


def test_cli_bank_check_raises_paid_without_statement_once(app, db):
    from finance.bank import queries
    from finance.bank.models import ExceptionKind
    from finance.workflow import State

    bank.set_settings(f.user("yc_shenhe"), f.unit("HL-YC"), fee_words="手续费", fee_limit=Decimal("200"),
                      interest_words="利息", interest_limit=Decimal("5000"), paid_grace_days=0,
                      mask_public_names=True)
    req = f.in_state(State.PAID)
    runner = app.test_cli_runner()
    assert "raised 1 " in runner.invoke(args=["bank", "check"]).output
    assert "raised 0 " in runner.invoke(args=["bank", "check"]).output
    (row,) = queries.exceptions([req.village_id], kinds=[ExceptionKind.PAID_WITHOUT_STATEMENT])
    assert row.amount == req.amount

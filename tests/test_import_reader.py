"""The shared import reader (finance/imports/reader.py): encodings, .xlsx, headers found by name, cells read
as amounts and dates, and every refusal naming the file, the row and the column in Chinese."""

from __future__ import annotations

import io
from datetime import date, datetime, time
from decimal import Decimal

import openpyxl
import pytest

from finance.imports.reader import ImportFileError, Problem, header_key, parse_money, read_table

REQUIRED = ["交易日期", "流水号", "借方金额"]
CSV_TEXT = (
    "中国农业银行 账户明细\n"
    "账号：622848 0012 3456 7801,,,\n"
    "交易日期,流水号,摘要,借方金额,备注\n"
    "2026-03-05,ABC001,办公用品,\"1,234.50\",x\n"
    "\n"
    "2026/3/6,ABC002,路灯维修,１２３４．５,\n"
)


def _xlsx(rows: list[list[object]], sheets: int = 1) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    for n in range(1, sheets):
        book.create_sheet(f"Sheet{n + 1}")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_in_each_encoding_reads_the_same_rows(encoding):
    table = read_table(CSV_TEXT.encode(encoding), "流水.csv", required=REQUIRED, optional=["摘要"])
    assert table.kind == "csv" and table.encoding == ("utf-8" if encoding.startswith("utf") else "gb18030")
    assert table.header_row == 3
    assert table.columns == ["交易日期", "流水号", "摘要", "借方金额"]  # 备注 is not asked for: ignored
    assert [r.number for r in table.rows] == [4, 6]  # the blank line is skipped, numbers stay the file's
    first, second = table.rows
    assert first.values == {"交易日期": "2026-03-05", "流水号": "ABC001", "摘要": "办公用品", "借方金额": "1,234.50"}
    assert table.amount(first, "借方金额") == Decimal("1234.50")
    assert table.amount(second, "借方金额") == Decimal("1234.50")  # full-width digits and point
    assert table.date(second, "交易日期") == date(2026, 3, 6)


def test_header_names_match_without_spaces_units_markers_or_full_width_forms():
    assert header_key(" *借方金额（元） ") == header_key("借方金额") == header_key("借方金额(元)")
    data = "*交易日期\t 流水号 \t借方金额（元）\n2026-03-05\tX1\t10\n".encode()
    table = read_table(data, "tab.txt", required=REQUIRED)
    assert table.rows[0].values == {"交易日期": "2026-03-05", "流水号": "X1", "借方金额": "10"}


def test_aliases_name_the_same_column_differently():
    data = "记账日期,交易流水号,支出金额\n2026-03-05,X1,10.00\n".encode()
    table = read_table(data, "a.csv", required=REQUIRED,
                       aliases={"交易日期": ["记账日期"], "流水号": ["交易流水号"], "借方金额": ["支出金额"]})
    assert table.rows[0].get("借方金额") == "10.00"


def test_excel_text_wrappers_are_removed():
    data = '交易日期,流水号,借方金额\n2026-03-05,="0012345",\'10\n'.encode()
    row = read_table(data, "a.csv", required=REQUIRED).rows[0]
    assert row.get("流水号") == "0012345" and row.get("借方金额") == "10"


def test_missing_columns_are_each_named_with_the_header_row():
    data = "说明\n交易日期,摘要\n2026-03-05,x\n".encode()
    with pytest.raises(ImportFileError) as info:
        read_table(data, "a.csv", required=REQUIRED)
    problems = info.value.problems
    assert [(p.row, p.column) for p in problems] == [(2, "流水号"), (2, "借方金额")]
    assert str(problems[0]) == "a.csv 第 2 行“流水号”列：缺少这一列（表头在第 2 行）。"


def test_no_header_in_the_first_ten_rows_says_what_was_looked_for():
    data = ("x\n" * 10 + "交易日期,流水号,借方金额\n").encode()
    with pytest.raises(ImportFileError) as info:
        read_table(data, "a.csv", required=REQUIRED)
    assert "前 10 行中没有找到表头" in str(info.value) and "交易日期、流水号、借方金额" in str(info.value)


@pytest.mark.parametrize("data", [b"\xff\xfe\x00\x00", "交易日期".encode("utf-16"), b"\xff\x80\xff\x80abc\n"])
def test_a_wrong_encoding_is_refused_with_a_chinese_message(data):
    with pytest.raises(ImportFileError) as info:
        read_table(data, "x.csv", required=REQUIRED)
    assert info.value.file == "x.csv"
    assert "UTF-8" in info.value.message and "GB18030" in info.value.message


def test_a_file_over_the_size_limit_is_refused_before_it_is_read():
    data = b"a" * (20 * 1024 * 1024)
    with pytest.raises(ImportFileError) as info:
        read_table(data, "big.csv", required=REQUIRED)
    assert info.value.message == "文件大小 20 MB，超过 10 MB 的上限，请分成几个文件导入。"
    with pytest.raises(ImportFileError):
        read_table(CSV_TEXT.encode(), "a.csv", required=REQUIRED, max_bytes=100)


def test_an_empty_file_is_refused():
    with pytest.raises(ImportFileError, match="文件是空的"):
        read_table(b"  \n", "a.csv", required=REQUIRED)


@pytest.mark.parametrize(
    ("raw", "kwargs", "expected"),
    [("1,234.56", {}, Decimal("1234.56")), ("１２３４", {}, Decimal("1234.00")), ("¥100", {}, Decimal("100.00")),
     ("0", {"allow_zero": True}, Decimal("0.00")), ("0.00", {"allow_zero": True}, Decimal("0.00")),
     ("", {"required": False}, None), ("-12.5", {"allow_negative": True}, Decimal("-12.50")),
     ("(12.5)", {"allow_negative": True}, Decimal("-12.50"))],
)
def test_amounts_that_are_read(raw, kwargs, expected):
    assert parse_money(raw, **kwargs) == expected


@pytest.mark.parametrize(("raw", "kwargs", "message"),
                         [("12.345", {}, "最多保留两位小数"), ("十二元", {}, "金额格式不正确"), ("0", {}, "必须大于零"),
                          ("-5", {}, "不能为负数"), ("", {}, "请填写金额")])
def test_amounts_that_are_refused(raw, kwargs, message):
    data = f"交易日期,流水号,借方金额\n2026-03-05,X1,{raw}\n".encode()
    table = read_table(data, "a.csv", required=REQUIRED)
    with pytest.raises(ImportFileError) as info:
        table.amount(table.rows[0], "借方金额", **kwargs)
    assert (info.value.file, info.value.row, info.value.column) == ("a.csv", 2, "借方金额")
    assert message in info.value.message


@pytest.mark.parametrize(("raw", "expected"),
                         [("2026-03-05", date(2026, 3, 5)), ("2026/3/5", date(2026, 3, 5)),
                          ("20260305", date(2026, 3, 5)), ("2026-03-05 00:00:00", date(2026, 3, 5)),
                          ("2026-13-05", None), ("05/03/2026", None), ("昨天", None)])
def test_dates(raw, expected):
    table = read_table(f"交易日期,流水号,借方金额\n{raw},X,1\n".encode(), "a.csv", required=REQUIRED)
    if expected is None:
        with pytest.raises(ImportFileError) as info:
            table.date(table.rows[0], "交易日期")
        assert info.value.column == "交易日期" and "YYYY-MM-DD" in info.value.message
    else:
        assert table.date(table.rows[0], "交易日期") == expected


def test_each_gathers_the_problems_of_every_row():
    data = "交易日期,流水号,借方金额\n2026-03-05,X1,abc\n2026-99-01,X2,5\n2026-03-07,X3,7\n".encode()
    table = read_table(data, "a.csv", required=REQUIRED)

    def parse(row):
        return table.date(row, "交易日期"), table.amount(row, "借方金额")

    with pytest.raises(ImportFileError) as info:
        table.each(parse)
    assert [(p.row, p.column) for p in info.value.problems] == [(2, "借方金额"), (3, "交易日期")]
    assert "a.csv 第 2 行“借方金额”列" in str(info.value) and "第 3 行“交易日期”列" in str(info.value)


def test_problem_wording_without_row_or_column():
    assert str(Problem("a.csv", None, None, "坏了")) == "a.csv：坏了"
    assert str(Problem("a.csv", 3, None, "坏了")) == "a.csv 第 3 行：坏了"
    assert str(Problem("a.csv", None, "余额", "坏了")) == "a.csv “余额”列：坏了"


# --- .xlsx --------------------------------------------------------------------------------------------------


def test_xlsx_first_sheet_with_a_title_row_numbers_and_dates():
    data = _xlsx([["东岳村 账户明细"], ["交易日期", "交易时间", "流水号", "借方金额", "余额"],
                  [datetime(2026, 3, 5), time(9, 30), "ABC001", 1234.5, 98765],
                  [date(2026, 3, 6), None, 2000123, 0.1, 98764.9]])
    table = read_table(data, "流水.xlsx", required=REQUIRED, optional=["交易时间", "余额"])
    assert table.kind == "xlsx" and table.header_row == 2
    first, second = table.rows
    assert first.number == 3 and first.get("交易日期") == "2026-03-05" and first.get("交易时间") == "09:30:00"
    assert first.get("借方金额") == "1234.5" and first.get("余额") == "98765"
    assert second.get("流水号") == "2000123" and second.get("借方金额") == "0.1"
    assert table.amount(second, "余额") == Decimal("98764.90")
    assert table.time(first, "交易时间") == time(9, 30)


def test_xlsx_with_a_formula_is_refused_naming_the_cell():
    data = _xlsx([["交易日期", "流水号", "借方金额"], ["2026-03-05", "X1", "=1+2"]])
    with pytest.raises(ImportFileError) as info:
        read_table(data, "f.xlsx", required=REQUIRED)
    assert (info.value.row, info.value.column) == (2, "C")
    assert "C2 是公式" in info.value.message


def test_xlsx_with_several_sheets_is_refused():
    data = _xlsx([["交易日期", "流水号", "借方金额"]], sheets=2)
    with pytest.raises(ImportFileError) as info:
        read_table(data, "two.xlsx", required=REQUIRED)
    assert "2 个工作表" in info.value.message and "Sheet2" in info.value.message


def test_old_xls_and_broken_xlsx_are_refused():
    with pytest.raises(ImportFileError, match=r"\.xls"):
        read_table(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old.xls", required=REQUIRED)
    with pytest.raises(ImportFileError, match="不是 Excel 工作簿"):
        read_table(b"not a zip", "fake.xlsx", required=REQUIRED)
    with pytest.raises(ImportFileError, match="无法读取这个 Excel 文件"):
        read_table(b"PK\x03\x04" + b"\x00" * 50, "broken.xlsx", required=REQUIRED)


def test_the_file_is_named_by_its_base_name_and_hashed():
    table = read_table(CSV_TEXT.encode(), r"C:\Users\cashier\流水.csv", required=REQUIRED)
    assert table.file == "流水.csv"
    import hashlib

    assert table.sha256 == hashlib.sha256(CSV_TEXT.encode()).hexdigest()

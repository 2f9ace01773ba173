"""The one reader every exchange format uses: a CSV or .xlsx file in, rows as dicts with their row numbers
out, or an `ImportFileError` naming the file, the row and the column of each problem in Chinese.

    table = read_table(data, "流水.csv", required=["交易日期", "流水号"], optional=["摘要"])
    for row in table.rows:
        day = table.date(row, "交易日期")          # ImportFileError naming row and column if malformed
        amount = table.amount(row, "借方金额", allow_zero=True)

What it accepts (EXCHANGE.md, general rules):
- CSV in UTF-8 (with or without BOM) or GB18030 (what Excel on a Chinese Windows saves); comma or tab
  separated (a tab-separated file is what several bank sites call "Excel"). Cells Excel wrote as
  ="0012" or with a leading apostrophe lose the wrapper.
- .xlsx through openpyxl: the first and only sheet; a workbook with several sheets or with formulas is
  refused (a formula's value is whatever Excel last computed, not what the bank said).
- The header row is found by name in the first ten rows; names are compared without spaces, in
  half-width forms, without a leading * and without a unit in brackets ("借方金额（元）"); extra columns
  are ignored, a missing one is named.
- Amounts: yuan with at most two decimals, thousands separators and full-width digits accepted
  (finance.money.parse_amount does the reading). Dates: YYYY-MM-DD (also 2026/3/5, the form Excel
  gives a date when it saves a CSV).
- A size limit (IMPORT_MAX_BYTES, default 10 MB) and a row limit.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any, TypeVar

from flask_babel import gettext as _

from finance.money import AmountError, format_amount, parse_amount
from finance.timefmt import CST

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 200_000
HEADER_SEARCH_ROWS = 10
MAX_PROBLEMS = 20  # a file with many bad rows lists the first ones; nothing is imported either way
MAX_AMOUNT = Decimal("999999999999.99")  # NUMERIC(14, 2)

T = TypeVar("T")


# --- errors ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file: where (file, row, column; row and column may be unknown) and what."""

    file: str
    row: int | None
    column: str | None
    message: str
    field: bool = False  # `column` names a JSON field (a JSON Lines file), not a column

    def __str__(self) -> str:
        if self.row is not None and self.column and self.field:
            return _("%(file)s 第 %(row)d 行“%(column)s”字段：%(message)s", file=self.file, row=self.row,
                     column=self.column, message=self.message)
        if self.row is not None and self.column:
            return _("%(file)s 第 %(row)d 行“%(column)s”列：%(message)s", file=self.file, row=self.row,
                     column=self.column, message=self.message)
        if self.row is not None:
            return _("%(file)s 第 %(row)d 行：%(message)s", file=self.file, row=self.row, message=self.message)
        if self.column:
            return _("%(file)s “%(column)s”列：%(message)s", file=self.file, column=self.column,
                     message=self.message)
        return _("%(file)s：%(message)s", file=self.file, message=self.message)


class ImportFileError(ValueError):
    """A file that cannot be imported, with every problem found (at most MAX_PROBLEMS); nothing was
    imported. `file`, `row`, `column` and `message` are those of the first problem."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        if not problems:
            raise ValueError("an ImportFileError needs at least one problem")
        self.problems = list(problems)
        first = self.problems[0]
        self.file, self.row, self.column, self.message = first.file, first.row, first.column, first.message
        super().__init__(str(first))

    @classmethod
    def one(cls, file: str, row: int | None, column: str | None, message: str) -> ImportFileError:
        return cls([Problem(file, row, column, message)])

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


# --- header names --------------------------------------------------------------------------------------------

_UNIT_SUFFIX = re.compile(r"[(（][^()（）]*[)）]$")


def header_key(name: str) -> str:
    """How header names are compared: NFKC (full-width to half-width), no spaces, no leading * (a
    required-column marker), no trailing unit in brackets, lower case for Latin letters."""
    text = unicodedata.normalize("NFKC", str(name or "")).replace("\ufeff", "")
    text = "".join(text.split()).lstrip("*")
    text = _UNIT_SUFFIX.sub("", text)
    return text.lower()


# --- rows ------------------------------------------------------------------------------------------------------


@dataclass
class Row:
    """One data row: its number as a person sees it (the spreadsheet's row, the CSV's record counted from
    1 including the header and anything above it) and its cells by canonical column name ("" when empty)."""

    number: int
    values: dict[str, str]

    def get(self, column: str) -> str:
        return self.values.get(column, "")

    def is_blank(self, columns: Iterable[str] | None = None) -> bool:
        names = self.values if columns is None else columns
        return all(not self.values.get(c, "") for c in names)


@dataclass
class Table:
    """What `read_table` returns: the rows under the header, and helpers that read one cell or raise an
    ImportFileError naming the row and column."""

    file: str
    sha256: str
    size: int
    kind: str  # "csv" or "xlsx"
    encoding: str | None
    header_row: int
    columns: list[str]  # the canonical names found, in the file's order
    rows: list[Row] = field(default_factory=list)
    index: dict[int, str] = field(default_factory=dict, repr=False)  # cell position -> canonical name

    def has(self, column: str) -> bool:
        return column in self.columns

    def problem(self, row: Row | int | None, column: str | None, message: str) -> Problem:
        number = row.number if isinstance(row, Row) else row
        return Problem(self.file, number, column, message)

    def error(self, row: Row | int | None, column: str | None, message: str) -> ImportFileError:
        return ImportFileError([self.problem(row, column, message)])

    # cells

    def text(self, row: Row, column: str, *, required: bool = False, max_length: int | None = None) -> str:
        value = row.get(column)
        if required and not value:
            raise self.error(row, column, _("不能为空。"))
        if max_length is not None and len(value) > max_length:
            raise self.error(row, column, _("最多 %(n)d 个字。", n=max_length))
        return value

    def amount(self, row: Row, column: str, *, required: bool = True, allow_zero: bool = False,
               allow_negative: bool = False, maximum: Decimal = MAX_AMOUNT) -> Decimal | None:
        """Yuan with at most two decimals: "12,345.60", "１２３４．５", "¥100". Empty gives None (or an error
        when required); zero only when allowed; a minus sign (or brackets) only when allowed."""
        raw = row.get(column)
        try:
            return parse_money(raw, required=required, allow_zero=allow_zero, allow_negative=allow_negative,
                               maximum=maximum)
        except AmountError as exc:
            raise self.error(row, column, _("“%(value)s”不是有效金额：%(reason)s", value=raw[:40],
                                            reason=str(exc))) from None

    def date(self, row: Row, column: str, *, required: bool = True) -> date | None:
        raw = row.get(column)
        if not raw:
            if required:
                raise self.error(row, column, _("请填写日期（格式 YYYY-MM-DD）。"))
            return None
        parsed = parse_date(raw)
        if parsed is None:
            raise self.error(row, column, _("“%(value)s”不是有效日期，格式应为 YYYY-MM-DD。", value=raw[:40]))
        return parsed

    def time(self, row: Row, column: str) -> time | None:
        raw = row.get(column)
        if not raw:
            return None
        parsed = parse_time(raw)
        if parsed is None:
            raise self.error(row, column, _("“%(value)s”不是有效时间，格式应为 HH:MM:SS。", value=raw[:40]))
        return parsed

    def collect(self, parse: Callable[[Row], T]) -> tuple[list[T], list[Problem]]:
        """`parse` applied to every row: what it gave for the good rows, and the problems of the others (so
        checks across rows can add theirs before everything is raised together)."""
        out: list[T] = []
        problems: list[Problem] = []
        for row in self.rows:
            try:
                out.append(parse(row))
            except ImportFileError as exc:
                problems.extend(exc.problems)
        return out, problems

    def each(self, parse: Callable[[Row], T], rows: Iterable[Row] | None = None) -> list[T]:
        """`parse` applied to every row; the problems of all rows (up to MAX_PROBLEMS) raised together."""
        out: list[T] = []
        problems: list[Problem] = []
        for row in self.rows if rows is None else rows:
            try:
                out.append(parse(row))
            except ImportFileError as exc:
                problems.extend(exc.problems)
                if len(problems) >= MAX_PROBLEMS:
                    break
        if problems:
            raise ImportFileError(problems[:MAX_PROBLEMS])
        return out


# --- cell values -----------------------------------------------------------------------------------------------

_FULL_WIDTH = str.maketrans("０１２３４５６７８９．－，", "0123456789.-,")
_ZERO = re.compile(r"^0+(\.0{1,2})?$|^\.0{1,2}$")


def parse_money(raw: str | None, *, required: bool = True, allow_zero: bool = False, allow_negative: bool = False,
                maximum: Decimal = MAX_AMOUNT) -> Decimal | None:
    """A file's amount cell as a 2-place Decimal; AmountError (a Chinese message) when it is not one."""
    text = (raw or "").translate(_FULL_WIDTH).strip()
    if not text:
        if required:
            raise AmountError(_("请填写金额。"))
        return None
    negative = False
    if text.startswith("(") and text.endswith(")") or text.startswith("（") and text.endswith("）"):
        negative, text = True, text[1:-1].strip()
    if text.startswith(("-", "−")):
        negative, text = True, text[1:].strip()
    elif text.startswith("+"):
        text = text[1:].strip()
    bare = text.replace(",", "").replace("¥", "").replace("￥", "").replace("元", "").strip()
    if _ZERO.match(bare):
        if not allow_zero:
            raise AmountError(_("金额必须大于零。"))
        return Decimal("0.00")
    if negative and not allow_negative:
        raise AmountError(_("金额不能为负数。"))
    value = parse_amount(text, maximum)  # format, two decimals at most, the maximum
    return -value if negative else value


_DATE_FORMS = (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"), re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
               re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"), re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"))


def parse_date(raw: str) -> date | None:
    text = unicodedata.normalize("NFKC", raw).strip()
    # "2026-03-05 00:00:00" (a date cell written out with its time) reads as the date
    text = re.sub(r"[ T]00:00(:00)?$", "", text)
    for form in _DATE_FORMS:
        match = form.match(text)
        if match:
            try:
                return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
            except ValueError:
                return None
    if re.fullmatch(r"\d{8}", text):  # 20260305, as many bank exports write it
        try:
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        except ValueError:
            return None
    return None


def parse_time(raw: str) -> time | None:
    text = unicodedata.normalize("NFKC", raw).strip()
    match = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", text) or re.fullmatch(r"(\d{2})(\d{2})(\d{2})", text)
    if not match:
        return None
    try:
        return time(int(match.group(1)), int(match.group(2)), int(match.group(3) or 0))
    except ValueError:
        return None


def parse_datetime(raw: str) -> datetime | None:
    """An ISO 8601 time ("2025-03-02T09:10:00+08:00", "...Z", "2025-03-02 09:10"), aware and in UTC; a time
    without an offset is China time (EXCHANGE.md). None when it is not one."""
    text = unicodedata.normalize("NFKC", raw or "").strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?", text):
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=CST)
    return value.astimezone(UTC)


def _clean_cell(value: str) -> str:
    text = value.replace("\ufeff", "").strip()
    if text.startswith('="') and text.endswith('"'):  # Excel's way of keeping 0012 as text in a CSV
        text = text[2:-1]
    if text.startswith(("'", "\t")):
        text = text[1:]
    return text.strip()


def _xlsx_cell(value: Any) -> str:
    """An openpyxl cell value as the text a person sees. Numbers keep their shortest decimal form
    (never a float past this point); dates become YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return format(Decimal(repr(value)), "f")
    return _clean_cell(str(value))


# --- the file ----------------------------------------------------------------------------------------------------


def read_table(data: bytes, filename: str, *, required: Sequence[str], optional: Sequence[str] = (),
               aliases: Mapping[str, Sequence[str]] | None = None, max_bytes: int = DEFAULT_MAX_BYTES,
               max_rows: int = MAX_ROWS) -> Table:
    """Read a CSV or .xlsx file's header and rows. `required` and `optional` are the canonical column names
    (EXCHANGE.md); `aliases` maps a canonical name to other names banks use for it. Raises ImportFileError."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1] or "file"
    if len(data) > max_bytes:
        message = _("文件大小 %(size)s MB，超过 %(limit)s MB 的上限，请分成几个文件导入。", size=_mb(len(data)),
                    limit=_mb(max_bytes))
        raise ImportFileError.one(name, None, None, message)
    if not data.strip():
        raise ImportFileError.one(name, None, None, _("文件是空的。"))
    sha256 = hashlib.sha256(data).hexdigest()
    lower = name.lower()
    if data[:4] == b"PK\x03\x04":
        kind, encoding, records = "xlsx", None, _xlsx_records(data, name)
    elif data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" or lower.endswith(".xls"):
        message = _("这是旧版 Excel（.xls）文件，请在 Excel 中另存为 .xlsx 或 CSV 后再导入。")
        raise ImportFileError.one(name, None, None, message)
    elif lower.endswith((".xlsx", ".xlsm")):
        raise ImportFileError.one(name, None, None, _("文件扩展名是 .xlsx，但内容不是 Excel 工作簿，请重新导出。"))
    else:
        kind = "csv"
        text, encoding = _decode(data, name)
        records = _csv_records(text, name)
    wanted = {header_key(c): c for c in [*required, *optional]}
    for canonical, others in (aliases or {}).items():
        for other in others:
            wanted.setdefault(header_key(other), canonical)
    table = _find_header(records, name, kind, encoding, sha256, len(data), wanted, required)
    for number, cells in records:
        if len(table.rows) >= max_rows:
            raise ImportFileError.one(name, number, None, _("文件超过 %(n)s 行，请分成几个文件导入。", n=max_rows))
        values = {column: (cells[i] if i < len(cells) else "") for i, column in table.index.items()}
        row = Row(number, values)
        if not any(cells):
            continue  # a blank line
        table.rows.append(row)
    return table


def _mb(size: int) -> str:
    return format_amount(Decimal(size) / Decimal(1024 * 1024)).rstrip("0").rstrip(".")


def _decode(data: bytes, name: str) -> tuple[str, str]:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data[:4096]:
        message = _("文件是 UTF-16 或二进制格式，无法读取；请另存为 UTF-8 或 GB18030 编码的 CSV。")
        raise ImportFileError.one(name, None, None, message)
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding), ("utf-8" if encoding == "utf-8-sig" else encoding)
        except UnicodeDecodeError:
            continue
    # Where it breaks, as a line number, so a person can look.
    line: int | None = None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
    raise ImportFileError.one(name, line, None, _("文件编码无法识别（既不是 UTF-8 也不是 GB18030）；"
                                                  "请在 Excel 或记事本中另存为 UTF-8 或 GB18030 编码的 CSV。"))


class _Records(list[tuple[int, list[str]]]):
    pass


def _csv_records(text: str, name: str) -> _Records:
    head = text[:4096]
    delimiter = "\t" if head.count("\t") > head.count(",") else ","
    out = _Records()
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    number = 0
    try:
        for cells in reader:
            number += 1
            out.append((number, [_clean_cell(c) for c in cells]))
    except csv.Error as exc:
        raise ImportFileError.one(name, number + 1, None, _("CSV 格式有误（%(reason)s）。", reason=str(exc))) from None
    return out


def _xlsx_records(data: bytes, name: str) -> _Records:
    import openpyxl
    from openpyxl.utils import get_column_letter
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles and extensions it skips
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        message = _("无法读取这个 Excel 文件（%(reason)s），请重新导出为 .xlsx 或 CSV。", reason=type(exc).__name__)
        raise ImportFileError.one(name, None, None, message) from None
    try:
        sheets = book.worksheets
        if len(sheets) != 1:
            names = "、".join(s.title for s in sheets)
            message = _("工作簿有 %(n)d 个工作表（%(names)s）；请只保留要导入的一个工作表后再导入。", n=len(sheets),
                        names=names)
            raise ImportFileError.one(name, None, None, message)
        sheet = sheets[0]
        out = _Records()
        for number, cells in enumerate(sheet.iter_rows(), start=1):
            row: list[str] = []
            for index, cell in enumerate(cells):
                value = cell.value
                if getattr(cell, "data_type", None) == "f" or (isinstance(value, str) and value.startswith("=")):
                    column = get_column_letter(index + 1)
                    message = _("单元格 %(cell)s 是公式；请把公式改为数值（复制后“选择性粘贴→数值”）再导入。",
                                cell=f"{column}{number}")
                    raise ImportFileError.one(name, number, column, message)
                row.append(_xlsx_cell(cell.value))
            while row and not row[-1]:
                row.pop()
            out.append((number, row))
            if number > MAX_ROWS + HEADER_SEARCH_ROWS:
                break
        return out
    finally:
        book.close()


def _find_header(records: _Records, name: str, kind: str, encoding: str | None, sha256: str, size: int,
                 wanted: dict[str, str], required: Sequence[str]) -> Table:
    best: tuple[int, int, dict[int, str]] | None = None  # (found required, row number, index -> column)
    head = records[:HEADER_SEARCH_ROWS]
    for number, cells in head:
        index: dict[int, str] = {}
        for i, cell in enumerate(cells):
            canonical = wanted.get(header_key(cell))
            if canonical is not None and canonical not in index.values():
                index[i] = canonical
        found = sum(1 for c in required if c in index.values())
        if best is None or found > best[0]:
            best = (found, number, index)
        if found == len(required):
            break
    if best is None or best[0] < len(required):
        have = set(best[2].values()) if best else set()
        missing = [c for c in required if c not in have]
        if best is None or best[0] == 0:
            hint = _("在前 %(n)d 行中没有找到表头（需要的列：%(columns)s）；如果文件是其他编码，"
                     "请另存为 UTF-8 或 GB18030 的 CSV。", n=HEADER_SEARCH_ROWS, columns="、".join(required))
            raise ImportFileError.one(name, None, None, hint)
        raise ImportFileError([Problem(name, best[1], column, _("缺少这一列（表头在第 %(row)d 行）。", row=best[1]))
                               for column in missing])
    _found, header_row, index = best
    table = Table(file=name, sha256=sha256, size=size, kind=kind, encoding=encoding, header_row=header_row,
                  columns=[index[i] for i in sorted(index)], index=index)
    # only the records below the header are data
    records[:] = [r for r in records if r[0] > header_row]
    return table



# --- JSON Lines (EXCHANGE.md §4) ---------------------------------------------------------------------------------


@dataclass
class Line:
    """One object of a JSON Lines file, with its line number and the SHA-256 of its canonical form (sorted
    keys, no spaces), which stays the same when only the file's spacing or key order changes."""

    number: int
    data: dict[str, Any]
    sha256: str


@dataclass
class JsonLines:
    """What `read_jsonl` returns, with readers of one field that raise an ImportFileError naming the line and
    the field (as `Table` does for a row and a column)."""

    file: str
    sha256: str
    size: int
    line_count: int
    lines: list[Line] = field(default_factory=list)

    def problem(self, line: Line | int | None, name: str | None, message: str) -> Problem:
        number = line.number if isinstance(line, Line) else line
        return Problem(self.file, number, name, message, field=name is not None)

    def error(self, line: Line | int | None, name: str | None, message: str) -> ImportFileError:
        return ImportFileError([self.problem(line, name, message)])

    def text(self, line: Line, name: str, *, required: bool = False, max_length: int | None = None) -> str:
        value = line.data.get(name)
        if value is None or value == "":
            if required:
                raise self.error(line, name, _("不能为空。"))
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self.error(line, name, _("应为文字。"))
        text = str(value).strip()
        if required and not text:
            raise self.error(line, name, _("不能为空。"))
        if max_length is not None and len(text) > max_length:
            raise self.error(line, name, _("最多 %(n)d 个字。", n=max_length))
        return text

    def amount(self, line: Line, name: str, *, required: bool = True) -> Decimal | None:
        value = line.data.get(name)
        if isinstance(value, bool) or (value is not None and not isinstance(value, str | int | float)):
            raise self.error(line, name, _("金额应写成文字，例如 \"9800.00\"。"))
        raw = repr(value) if isinstance(value, float) else ("" if value is None else str(value))
        try:
            return parse_money(raw, required=required)
        except AmountError as exc:
            raise self.error(line, name, _("“%(value)s”不是有效金额：%(reason)s", value=raw[:40],
                                           reason=str(exc))) from None

    def time(self, line: Line, name: str, *, required: bool = True) -> datetime | None:
        value = line.data.get(name)
        if value is None or value == "":
            if required:
                raise self.error(line, name, _("请填写时间（如 2025-03-02T09:10:00+08:00）。"))
            return None
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is None:
            raise self.error(line, name, _("“%(value)s”不是有效时间，格式应为 2025-03-02T09:10:00+08:00。",
                                           value=str(value)[:40]))
        return parsed

    def date(self, line: Line, name: str, *, required: bool = True) -> date | None:
        value = line.data.get(name)
        if value is None or value == "":
            if required:
                raise self.error(line, name, _("请填写日期（格式 YYYY-MM-DD）。"))
            return None
        parsed = parse_date(value) if isinstance(value, str) else None
        if parsed is None:
            raise self.error(line, name, _("“%(value)s”不是有效日期，格式应为 YYYY-MM-DD。", value=str(value)[:40]))
        return parsed

    def items(self, line: Line, name: str) -> list[dict[str, Any]]:
        """A list of objects (approvals, invoices, attachments); empty when absent."""
        value = line.data.get(name)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise self.error(line, name, _("应为对象的列表。"))
        return value


def read_jsonl(data: bytes, filename: str, *, max_bytes: int = DEFAULT_MAX_BYTES, max_rows: int = MAX_ROWS
               ) -> JsonLines:
    """Read a JSON Lines file (UTF-8, one object a line; blank lines are skipped). Raises ImportFileError
    naming every line that is not a JSON object (at most MAX_PROBLEMS)."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1] or "file"
    if len(data) > max_bytes:
        message = _("文件大小 %(size)s MB，超过 %(limit)s MB 的上限，请分成几个文件导入。", size=_mb(len(data)),
                    limit=_mb(max_bytes))
        raise ImportFileError.one(name, None, None, message)
    if not data.strip():
        raise ImportFileError.one(name, None, None, _("文件是空的。"))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportFileError.one(name, line, None, _("JSON Lines 文件必须是 UTF-8 编码。")) from None
    out = JsonLines(file=name, sha256=hashlib.sha256(data).hexdigest(), size=len(data), line_count=0)
    problems: list[Problem] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        out.line_count = number
        if not raw.strip():
            continue
        if len(out.lines) >= max_rows:
            raise ImportFileError.one(name, number, None, _("文件超过 %(n)s 行，请分成几个文件导入。", n=max_rows))
        try:
            value = json.loads(raw, parse_float=str)
        except ValueError as exc:
            problems.append(Problem(name, number, None, _("不是有效的 JSON（%(reason)s）。", reason=str(exc)[:80])))
        else:
            if not isinstance(value, dict):
                problems.append(Problem(name, number, None, _("每行应是一个 JSON 对象。")))
            else:
                canonical = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
                out.lines.append(Line(number, value, hashlib.sha256(canonical.encode()).hexdigest()))
        if len(problems) >= MAX_PROBLEMS:
            break
    if problems:
        raise ImportFileError(problems)
    return out

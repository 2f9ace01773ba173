"""EXCHANGE.md §0: the chart of accounts. `flask --app finance import subjects FILE`.

Key: 科目编码. A second import updates a subject whose name, class or parent changed and leaves the rest.
Parents come before their 明细 whatever the order of the file; a parent may be in the file or already
in the chart."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from finance import trail
from finance.auth.models import User
from finance.errors import InputError
from finance.extensions import db
from finance.imports.reader import MAX_PROBLEMS, ImportFileError, Row, Table, read_table
from finance.imports.services import Outcome, finish, may_import, serialise
from finance.orgs import services as orgs
from finance.orgs.models import AccountSubject, SubjectCategory

KIND = "subjects"
COLUMNS = ["科目编码", "科目名称", "类别"]
OPTIONAL = ["上级编码"]
ALIASES = {"科目编码": ["编码", "科目代码"], "科目名称": ["名称"], "类别": ["科目类别"],
           "上级编码": ["上级科目编码", "上级科目"]}
# The values of 类别 (EXCHANGE.md §0), and the stored keys for files written by a program.
CATEGORIES = {"资产": SubjectCategory.ASSET, "负债": SubjectCategory.LIABILITY, "所有者权益": SubjectCategory.EQUITY,
              "成本": SubjectCategory.COST, "损益": SubjectCategory.PROFIT_LOSS,
              **{c.value: c for c in SubjectCategory}}


@dataclass
class SubjectLine:
    row: Row
    code: str
    name: str
    category: SubjectCategory
    parent_code: str | None


def parse(table: Table) -> list[SubjectLine]:
    def one(row: Row) -> SubjectLine:
        code = table.text(row, "科目编码", required=True).replace(" ", "")
        if not code.isascii() or not code.isdigit() or not 3 <= len(code) <= 16:
            raise table.error(row, "科目编码", _("“%(value)s”不是科目编码：应为 3 到 16 位数字。", value=code[:20]))
        name = table.text(row, "科目名称", required=True, max_length=50)
        raw = table.text(row, "类别", required=True)
        category = CATEGORIES.get(raw)
        if category is None:
            raise table.error(row, "类别", _("“%(value)s”不是科目类别，应为 资产、负债、所有者权益、成本 或 损益。",
                                              value=raw[:20]))
        parent = table.text(row, "上级编码").replace(" ", "") or None
        if parent is not None and (not code.startswith(parent) or len(code) <= len(parent)):
            raise table.error(row, "上级编码", _("明细科目 %(code)s 的编码应以上级编码 %(parent)s 开头。", code=code,
                                                parent=parent))
        return SubjectLine(row, code, name, category, parent)

    lines, problems = table.collect(one)
    seen: dict[str, SubjectLine] = {}
    for line in lines:
        if line.code in seen:
            problems.append(table.problem(line.row, "科目编码", _("编码 %(code)s 与第 %(other)d 行重复。",
                                                                 code=line.code, other=seen[line.code].row.number)))
        seen[line.code] = line
    known = set(db.session.execute(select(AccountSubject.code)).scalars())
    for line in lines:
        if line.parent_code and line.parent_code not in seen and line.parent_code not in known:
            problems.append(table.problem(line.row, "上级编码", _("上级科目 %(parent)s 既不在文件中，也不在科目表中。",
                                                                 parent=line.parent_code)))
    if problems:
        raise ImportFileError(problems[:MAX_PROBLEMS])
    return lines


def run(data: bytes, filename: str, *, by: User | None = None, via: str = "cli") -> Outcome:
    table = read_table(data, filename, required=COLUMNS, optional=OPTIONAL, aliases=ALIASES)
    serialise(KIND)
    if not may_import(by, KIND, None):
        raise ImportFileError.one(table.file, None, None, _("只有区三资办管理员可以导入科目表。"))
    lines = parse(table)
    with trail.deferred():  # the events of every record, written together at the end
        outcome = Outcome(KIND, table.file, table.sha256, len(table.rows))
        for line in sorted(lines, key=lambda item: (len(item.code), item.code)):
            parent = None
            if line.parent_code:
                parent = db.session.execute(select(AccountSubject).where(AccountSubject.code == line.parent_code)
                                            ).scalar_one()
            try:
                done = orgs.save_subject(code=line.code, name=line.name, category=line.category, parent=parent, by=by)
            except InputError as exc:
                raise table.error(line.row, "科目编码", str(exc)) from None
            setattr(outcome, done, getattr(outcome, done) + 1)
        return finish(outcome, by, via=via)

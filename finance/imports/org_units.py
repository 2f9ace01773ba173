"""EXCHANGE.md §1: org units with the collective's bank account. `flask --app finance import org-units FILE`.

Key: 编码. A second import updates a unit whose name, bank account or level name changed; a unit's level
and parent are not changed by an import (that would move its whole subtree and every record under it).
Parents come before children whatever the order of the file."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from finance import trail
from finance.auth.models import User
from finance.controls.normalise import account_error, normalise_account
from finance.errors import InputError
from finance.extensions import db
from finance.imports.reader import MAX_PROBLEMS, ImportFileError, Row, Table, read_table
from finance.imports.services import Outcome, finish, may_import, serialise
from finance.orgs import services as orgs
from finance.orgs.models import OrgUnit
from finance.roles import OrgKind

KIND = "org-units"
COLUMNS = ["编码", "名称", "级别"]
OPTIONAL = ["上级编码", "开户行", "银行账号", "账户名称"]
ALIASES = {"编码": ["单位编码", "代码"], "名称": ["单位名称"], "级别": ["层级", "类型"], "上级编码": ["上级单位编码"],
           "开户行": ["开户银行"], "银行账号": ["账号"], "账户名称": ["户名"]}
# 级别 (EXCHANGE.md §1): the level, and for a township the name it goes by (乡 / 镇 / 街道).
LEVELS: dict[str, tuple[OrgKind, str | None]] = {
    "区": (OrgKind.DISTRICT, None), "县": (OrgKind.DISTRICT, None), "区县": (OrgKind.DISTRICT, None),
    "district": (OrgKind.DISTRICT, None),
    "乡镇": (OrgKind.TOWNSHIP, None), "乡": (OrgKind.TOWNSHIP, "乡"), "镇": (OrgKind.TOWNSHIP, "镇"),
    "街道": (OrgKind.TOWNSHIP, "街道"), "township": (OrgKind.TOWNSHIP, None),
    "村": (OrgKind.VILLAGE, None), "社区": (OrgKind.VILLAGE, None), "village": (OrgKind.VILLAGE, None),
}


@dataclass
class UnitLine:
    row: Row
    code: str
    name: str
    kind: OrgKind
    level_name: str | None
    parent_code: str | None
    bank_name: str | None
    bank_account: str | None
    bank_account_name: str | None


def parse(table: Table) -> list[UnitLine]:
    def one(row: Row) -> UnitLine:
        code = table.text(row, "编码", required=True).strip().upper()
        if not orgs.CODE_RE.match(code):
            raise table.error(row, "编码", _("“%(value)s”不是有效编码：只能由 2 到 32 位字母、数字和连字符组成。",
                                              value=code[:40]))
        name = table.text(row, "名称", required=True, max_length=100)
        raw = table.text(row, "级别", required=True)
        level = LEVELS.get(raw.strip().lower())
        if level is None:
            message = _("“%(value)s”不是级别，应为 区、乡镇（乡、镇、街道）或 村。", value=raw[:20])
            raise table.error(row, "级别", message)
        parent = table.text(row, "上级编码").strip().upper() or None
        if level[0] == OrgKind.DISTRICT and parent:
            raise table.error(row, "上级编码", _("区没有上级单位，请留空。"))
        if level[0] != OrgKind.DISTRICT and not parent:
            raise table.error(row, "上级编码", _("乡镇和村必须填写上级编码。"))
        account = table.text(row, "银行账号")
        if account and (error := account_error(account)):
            raise table.error(row, "银行账号", error)
        bank = table.text(row, "开户行", max_length=100) or None
        holder = table.text(row, "账户名称", max_length=100) or None
        if level[0] == OrgKind.VILLAGE:
            for column, value in (("开户行", bank), ("银行账号", account), ("账户名称", holder)):
                if not value:
                    raise table.error(row, column, _("村必须填写集体的开户行、银行账号和账户名称。"))
        return UnitLine(row, code, name, level[0], level[1], parent, bank, normalise_account(account) or None, holder)

    lines, problems = table.collect(one)
    seen: dict[str, UnitLine] = {}
    for line in lines:
        if line.code in seen:
            problems.append(table.problem(line.row, "编码", _("编码 %(code)s 与第 %(other)d 行重复。", code=line.code,
                                                             other=seen[line.code].row.number)))
        seen[line.code] = line
    known = {u.code: u for u in db.session.execute(select(OrgUnit)).scalars()}
    for line in lines:
        if line.parent_code is None:
            continue
        parent_kind = seen[line.parent_code].kind if line.parent_code in seen else (
            known[line.parent_code].kind if line.parent_code in known else None)
        if parent_kind is None:
            problems.append(table.problem(line.row, "上级编码", _("上级单位 %(code)s 既不在文件中，也不在系统中。",
                                                                 code=line.parent_code)))
        elif parent_kind != orgs.PARENT_KIND[line.kind]:
            problems.append(table.problem(line.row, "上级编码", _("%(kind)s的上级应为%(parent)s，%(code)s 不是。",
                                                                 kind=line.kind.label,
                                                                 parent=orgs.PARENT_KIND[line.kind].label,
                                                                 code=line.parent_code)))
    for line in lines:
        unit = known.get(line.code)
        if unit is None:
            continue
        if unit.kind != line.kind:
            problems.append(table.problem(line.row, "级别", _("%(code)s 在系统中是%(kind)s，导入不能改变级别。",
                                                             code=line.code, kind=unit.kind.label)))
        elif (unit.parent.code if unit.parent else None) != line.parent_code:
            message = _("%(code)s 在系统中的上级是 %(parent)s，导入不能移动单位。", code=line.code,
                        parent=unit.parent.code if unit.parent else "—")
            problems.append(table.problem(line.row, "上级编码", message))
    if problems:
        raise ImportFileError(problems[:MAX_PROBLEMS])
    return lines


ORDER = {OrgKind.DISTRICT: 0, OrgKind.TOWNSHIP: 1, OrgKind.VILLAGE: 2}


def run(data: bytes, filename: str, *, by: User | None = None, via: str = "cli") -> Outcome:
    table = read_table(data, filename, required=COLUMNS, optional=OPTIONAL, aliases=ALIASES)
    serialise(KIND)
    lines = parse(table)
    with trail.deferred():  # the events of every record, written together at the end
        outcome = Outcome(KIND, table.file, table.sha256, len(table.rows))
        units = {u.code: u for u in db.session.execute(select(OrgUnit)).scalars()}
        for line in sorted(lines, key=lambda item: ORDER[item.kind]):
            existing = units.get(line.code)
            try:
                if existing is None:
                    parent = units[line.parent_code] if line.parent_code else None
                    if by is not None and (parent is None or not may_import(by, KIND, parent)):
                        raise table.error(line.row, "上级编码", _("上级单位不在您的管辖范围内。"))
                    units[line.code] = orgs.create_unit(
                        code=line.code, name=line.name, kind=line.kind, parent=parent, by=by, bank_name=line.bank_name,
                        bank_account=line.bank_account, bank_account_name=line.bank_account_name,
                        level_name=line.level_name)
                    outcome.added += 1
                else:
                    if not may_import(by, KIND, existing):
                        raise table.error(line.row, "编码", _("单位 %(code)s 不在您的管辖范围内。", code=line.code))
                    changed = orgs.update_unit(existing, name=line.name, bank_name=line.bank_name,
                                               bank_account=line.bank_account, bank_account_name=line.bank_account_name,
                                               level_name=line.level_name, by=by)
                    if changed:
                        outcome.updated += 1
                    else:
                        outcome.unchanged += 1
            except InputError as exc:
                raise table.error(line.row, "编码", str(exc)) from None
        return finish(outcome, by, via=via)

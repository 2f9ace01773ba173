"""EXCHANGE.md §5b: the member roll (成员名册). `flask --app finance import members FILE`.

Key: the village and the member's 身份证号 (checksum verified). A second import corrects a member whose
name, status or date changed (a death or a move recorded later). 迁出 and 死亡 need their 日期. Read by the
checks of 补贴 and 分红 payments through `finance.orgs.members`."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from finance.auth.models import User
from finance.controls.normalise import NormaliseError, parse_id_number
from finance.errors import InputError
from finance.extensions import db
from finance.imports.reader import MAX_PROBLEMS, ImportFileError, Row, Table, read_table
from finance.imports.services import Outcome, finish, may_import, serialise
from finance.orgs import services as orgs
from finance.orgs.models import MemberStatus, OrgUnit
from finance.roles import OrgKind

KIND = "members"
COLUMNS = ["单位编码", "姓名", "身份证号", "状态"]
OPTIONAL = ["日期"]
ALIASES = {"单位编码": ["村编码", "村"], "身份证号": ["身份证号码"], "状态": ["成员状态"], "日期": ["变动日期"]}
STATUSES = {"在册": MemberStatus.ON_ROLL, "迁出": MemberStatus.MOVED_OUT, "死亡": MemberStatus.DECEASED,
            "去世": MemberStatus.DECEASED, **{s.value: s for s in MemberStatus}}


def parse(table: Table, by: User | None) -> list[tuple[Row, orgs.MemberInput]]:
    villages = {u.code: u for u in db.session.execute(select(OrgUnit).where(OrgUnit.kind == OrgKind.VILLAGE)).scalars()}

    def one(row: Row) -> tuple[Row, orgs.MemberInput]:
        code = table.text(row, "单位编码", required=True).strip().upper()
        village = villages.get(code)
        if village is None:
            raise table.error(row, "单位编码", _("村 %(code)s 不存在（请先导入组织单位）。", code=code))
        if not may_import(by, KIND, village):
            raise table.error(row, "单位编码", _("单位 %(code)s 不在您的管辖范围内。", code=code))
        name = table.text(row, "姓名", required=True, max_length=64)
        try:
            id_number = parse_id_number(table.text(row, "身份证号", required=True))
        except NormaliseError as exc:
            raise table.error(row, "身份证号", str(exc)) from None
        raw = table.text(row, "状态", required=True)
        status = STATUSES.get(raw.strip())
        if status is None:
            raise table.error(row, "状态", _("“%(value)s”不是成员状态，应为 在册、迁出 或 死亡。", value=raw[:20]))
        when = table.date(row, "日期", required=status != MemberStatus.ON_ROLL) if table.has("日期") else None
        if status != MemberStatus.ON_ROLL and when is None:
            raise table.error(row, "日期", _("迁出或死亡须填写日期。"))
        return row, orgs.MemberInput(village, name, id_number, status, when)

    lines, problems = table.collect(one)
    seen: dict[tuple[int, str], Row] = {}
    for row, item in lines:
        key = (item.village.id, item.id_number)
        if key in seen:
            problems.append(table.problem(row, "身份证号", _("与第 %(row)d 行重复。", row=seen[key].number)))
        seen[key] = row
    if problems:
        raise ImportFileError(problems[:MAX_PROBLEMS])
    return lines


def run(data: bytes, filename: str, *, by: User | None = None, via: str = "cli") -> Outcome:
    table = read_table(data, filename, required=COLUMNS, optional=OPTIONAL, aliases=ALIASES)
    serialise(KIND)
    lines = parse(table, by)
    outcome = Outcome(KIND, table.file, table.sha256, len(table.rows))
    try:
        counts = orgs.save_members([item for _row, item in lines], by=by)
    except InputError as exc:
        raise table.error(None, None, str(exc)) from None
    outcome.added, outcome.updated, outcome.unchanged = counts["added"], counts["updated"], counts["unchanged"]
    return finish(outcome, by, via=via)

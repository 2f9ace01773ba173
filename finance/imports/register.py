"""EXCHANGE.md §3: the related-persons register (村干部及近亲属). `flask --app finance import register FILE`.

Each row is a line of an official's register, written through finance/controls/services.py (the register's
only writer): 本人 is the official's own ID and accounts (`set_own_identity`), any other relation a new
line (`add_related_person`). Key: the official, the related person's name and the relation; a second
import corrects a line whose ID, accounts or note changed and leaves the rest. Lines are matched by ID
and account, never by name (controls), so a row needs one of them."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from finance import trail
from finance.auth.models import User
from finance.controls import services as controls
from finance.controls.models import RELATION_LABELS, RelatedPerson, Relation
from finance.controls.normalise import NormaliseError, parse_accounts, parse_id_number
from finance.errors import InputError
from finance.extensions import db
from finance.imports.reader import MAX_PROBLEMS, ImportFileError, Problem, Row, Table, read_table
from finance.imports.services import Outcome, finish, may_import, serialise

KIND = "register"
COLUMNS = ["干部用户名", "姓名", "关系"]
OPTIONAL = ["身份证号", "银行账号", "备注"]
ALIASES = {"干部用户名": ["干部", "用户名"], "身份证号": ["身份证号码"], "银行账号": ["账号"]}


def relation_from_text(text: str) -> Relation | None:
    key = "".join((text or "").split())
    try:
        return Relation(key.lower())
    except ValueError:
        pass
    with force_locale("zh_Hans_CN"):
        return {str(label): relation for relation, label in RELATION_LABELS.items()}.get(key)


@dataclass
class RegisterLine:
    row: Row
    official: User
    name: str
    relation: Relation
    data: controls.PersonInput


def parse(table: Table) -> list[RegisterLine]:
    officials = {u.username: u for u in db.session.execute(select(User)).scalars()}

    def one(row: Row) -> RegisterLine:
        username = table.text(row, "干部用户名", required=True).strip().lower()
        official = officials.get(username)
        if official is None or not official.assignments:
            raise table.error(row, "干部用户名", _("干部用户名“%(username)s”不存在，请先导入人员。", username=username))
        name = table.text(row, "姓名", required=True, max_length=64)
        raw = table.text(row, "关系", required=True)
        relation = relation_from_text(raw)
        if relation is None:
            message = _("“%(value)s”不是关系，应为 本人、配偶、父母、子女、兄弟姐妹、其他近亲属 或 特定关系人。",
                        value=raw[:20])
            raise table.error(row, "关系", message)
        id_number = table.text(row, "身份证号")
        if id_number:
            try:
                parse_id_number(id_number)
            except NormaliseError as exc:
                raise table.error(row, "身份证号", str(exc)) from None
        accounts = table.text(row, "银行账号")
        try:
            parsed = parse_accounts(accounts)
        except NormaliseError as exc:
            raise table.error(row, "银行账号", str(exc)) from None
        if not id_number and not parsed:
            message = _("请至少填写身份证号或一个银行账号：登记只按身份证号和账号比对，从不按姓名。")
            raise table.error(row, "身份证号", message)
        note = table.text(row, "备注", max_length=500)
        return RegisterLine(row, official, name, relation, controls.PersonInput(
            name=name, relation=relation.value, id_number=id_number, accounts=";".join(parsed), note=note))

    lines, problems = table.collect(one)
    seen: dict[tuple[int, str, Relation], Row] = {}
    for line in lines:
        key = (line.official.id, line.name, line.relation)
        if key in seen:
            problems.append(table.problem(line.row, "姓名", _("与第 %(row)d 行重复。", row=seen[key].number)))
        seen[key] = line.row
    if problems:
        raise ImportFileError(problems[:MAX_PROBLEMS])
    return lines


def run(data: bytes, filename: str, *, by: User | None = None, via: str = "cli") -> Outcome:
    table = read_table(data, filename, required=COLUMNS, optional=OPTIONAL, aliases=ALIASES)
    serialise(KIND)
    lines = parse(table)
    with trail.deferred():  # the events of every record, written together at the end
        outcome = Outcome(KIND, table.file, table.sha256, len(table.rows))
        problems: list[Problem] = []
        for line in lines:
            if by is not None and not any(may_import(by, KIND, a.org_unit) for a in line.official.assignments):
                problems.append(table.problem(line.row, "干部用户名", _("此干部不在您的管辖范围内。")))
                continue
            try:
                if line.relation == Relation.SELF:
                    existing = controls.own_identity(line.official)
                else:
                    existing = db.session.execute(select(RelatedPerson).where(
                        RelatedPerson.official_id == line.official.id, RelatedPerson.name == line.name,
                        RelatedPerson.relation == line.relation, RelatedPerson.active.is_(True))).scalars().first()
                if existing is None:
                    if line.relation == Relation.SELF:
                        controls.set_own_identity(by, line.official, line.data)
                    else:
                        controls.add_related_person(by, line.official, line.data)
                    outcome.added += 1
                elif controls.update_related_person(by, existing, line.data) is None:
                    outcome.unchanged += 1
                else:
                    outcome.updated += 1
            except InputError as exc:
                column = next(iter(exc.errors), None)
                names = {"id_number": "身份证号", "accounts": "银行账号", "name": "姓名", "relation": "关系",
                         "note": "备注"}
                problems.append(table.problem(line.row, names.get(column or "", "姓名"), str(exc)))
            if len(problems) >= MAX_PROBLEMS:
                break
        if problems:
            raise ImportFileError(problems[:MAX_PROBLEMS])
        return finish(outcome, by, via=via)

"""EXCHANGE.md §2: people with their roles. `flask --app finance import people FILE`.

Key: 用户名. A person with several roles has one row per role; the rows of one person must agree on the
name, ID number, phone and accounts (a cell left empty on one of them is fine). A new person gets an
account without a password and a one-time activation (finance.auth.activation): the links come back
in the outcome's `secrets`, to be handed over, and are not stored. A second import adds the roles and
corrects the details that changed; it never touches a password."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select

from finance import trail
from finance.auth import activation
from finance.auth import services as accounts
from finance.auth.models import User
from finance.controls import services as controls
from finance.controls.normalise import NormaliseError, parse_accounts, parse_id_number
from finance.errors import InputError
from finance.extensions import db
from finance.imports.reader import MAX_PROBLEMS, ImportFileError, Problem, Row, Table, read_table
from finance.imports.services import Outcome, finish, may_import, serialise
from finance.orgs.models import OrgUnit
from finance.roles import Role, role_from_text

KIND = "people"
COLUMNS = ["用户名", "姓名", "角色", "单位编码"]
OPTIONAL = ["身份证号", "手机号", "银行账号"]
ALIASES = {"用户名": ["登录名", "账号名"], "单位编码": ["单位", "组织编码"], "身份证号": ["身份证号码"],
           "手机号": ["手机", "手机号码"], "银行账号": ["本人银行账号"]}


@dataclass
class RoleLine:
    row: Row
    username: str
    name: str
    role: Role
    unit: OrgUnit
    id_number: str | None
    phone: str | None
    accounts: list[str]


@dataclass
class Person:
    username: str
    name: str
    first: Row
    roles: list[RoleLine] = field(default_factory=list)
    id_number: str | None = None
    phone: str | None = None
    accounts: list[str] = field(default_factory=list)


def parse(table: Table) -> list[Person]:
    units = {u.code: u for u in db.session.execute(select(OrgUnit)).scalars()}

    def one(row: Row) -> RoleLine:
        username = accounts.normalise_username(table.text(row, "用户名", required=True))
        if not username.replace("_", "").replace(".", "").isalnum() or not username.isascii():
            raise table.error(row, "用户名", _("用户名只能包含字母、数字、点和下划线。"))
        name = table.text(row, "姓名", required=True, max_length=64)
        raw_role = table.text(row, "角色", required=True)
        role = role_from_text(raw_role)
        if role is None:
            message = _("“%(value)s”不是角色：请写角色代码（如 accountant）或中文名称（如 村报账员）。",
                        value=raw_role[:20])
            raise table.error(row, "角色", message)
        code = table.text(row, "单位编码", required=True).strip().upper()
        unit = units.get(code)
        if unit is None:
            raise table.error(row, "单位编码", _("单位 %(code)s 不存在，请先导入组织单位。", code=code))
        if unit.kind not in role.levels:
            raise table.error(row, "单位编码", _("%(role)s 只能设置在%(levels)s一级，%(code)s 是%(kind)s。",
                                                role=role.label, levels="/".join(k.label for k in role.levels),
                                                code=code, kind=unit.kind.label))
        id_number = None
        if raw := table.text(row, "身份证号"):
            try:
                id_number = parse_id_number(raw)
            except NormaliseError as exc:
                raise table.error(row, "身份证号", str(exc)) from None
        phone = table.text(row, "手机号").replace(" ", "").replace("-", "") or None
        if phone and not accounts.PHONE_RE.fullmatch(phone):
            raise table.error(row, "手机号", _("手机号只能包含数字，例如 13912345678。"))
        try:
            own = parse_accounts(table.text(row, "银行账号"))
        except NormaliseError as exc:
            raise table.error(row, "银行账号", str(exc)) from None
        return RoleLine(row, username, name, role, unit, id_number, phone, own)

    lines, problems = table.collect(one)
    people: dict[str, Person] = {}
    seen_roles: dict[tuple[str, Role, str], Row] = {}
    for line in lines:
        person = people.setdefault(line.username, Person(line.username, line.name, line.row))
        if line.name != person.name:
            message = _("用户名 %(u)s 在第 %(row)d 行的姓名是“%(name)s”，两处不一致。", u=line.username,
                        row=person.first.number, name=person.name)
            problems.append(table.problem(line.row, "姓名", message))
            continue
        for column, attr, value in (("身份证号", "id_number", line.id_number), ("手机号", "phone", line.phone)):
            if value and getattr(person, attr) and getattr(person, attr) != value:
                problems.append(table.problem(line.row, column, _("与同一用户名的其他行不一致。")))
            elif value:
                setattr(person, attr, value)
        person.accounts += [a for a in line.accounts if a not in person.accounts]
        key = (line.username, line.role, line.unit.code)
        if key in seen_roles:
            problems.append(table.problem(line.row, "角色", _("与第 %(row)d 行重复。", row=seen_roles[key].number)))
            continue
        seen_roles[key] = line.row
        person.roles.append(line)
    if problems:
        raise ImportFileError(problems[:MAX_PROBLEMS])
    return list(people.values())


def _identity(user: User) -> dict[str, object] | None:
    own = controls.own_identity(user)
    return controls.person_summary(own) if own is not None else None


def run(data: bytes, filename: str, *, by: User | None = None, via: str = "cli") -> Outcome:
    table = read_table(data, filename, required=COLUMNS, optional=OPTIONAL, aliases=ALIASES)
    serialise(KIND)
    people = parse(table)
    with trail.deferred():  # the events of every record, written together at the end
        outcome = Outcome(KIND, table.file, table.sha256, len(table.rows))
        problems: list[Problem] = []
        existing = {u.username: u for u in db.session.execute(
            select(User).where(User.username.in_([p.username for p in people]))).scalars()}
        for person in people:
            if by is not None:
                outside = next((r for r in person.roles if not may_import(by, KIND, r.unit)), None)
                if outside is not None:
                    problems.append(table.problem(outside.row, "单位编码", _("单位 %(code)s 不在您的管辖范围内。",
                                                                            code=outside.unit.code)))
                    continue
            column = "用户名"
            row = person.first
            try:
                user = existing.get(person.username)
                if user is None:
                    user = accounts.create_invited_user(username=person.username, display_name=person.name,
                                                        phone=person.phone, by=by)
                    changed = True
                    new = True
                else:
                    changed = accounts.update_details(user, display_name=person.name, phone=person.phone or user.phone,
                                                      by=by)
                    new = False
                held = {(a.role, a.org_unit_id) for a in user.assignments}
                for line in person.roles:
                    if (line.role, line.unit.id) not in held:
                        row, column = line.row, "角色"
                        accounts.assign_role(user, line.role, line.unit, by=by)
                        changed = True
                if person.id_number or person.accounts:
                    row, column = person.first, "身份证号" if person.id_number else "银行账号"
                    before = _identity(user)
                    controls.set_own_identity(by, user, controls.PersonInput(
                        name=person.name, relation="self", id_number=person.id_number or "",
                        accounts=";".join(person.accounts)))
                    changed = changed or _identity(user) != before
                if new:
                    code = activation.issue(user, by)
                    outcome.secrets.append({"username": user.username, "name": user.display_name, "code": code,
                                            "link": activation.link(code)})
                    outcome.added += 1
                elif changed:
                    outcome.updated += 1
                else:
                    outcome.unchanged += 1
            except InputError as exc:
                problems.append(table.problem(row, column, str(exc)))
            if len(problems) >= MAX_PROBLEMS:
                break
        if problems:
            raise ImportFileError(problems[:MAX_PROBLEMS])
        return finish(outcome, by, via=via)

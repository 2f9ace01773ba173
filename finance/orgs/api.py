"""The district admin's pages through the JSON API (/api/v1, docs/api.md): users and their roles, account
status and activation codes, the org units, and a township's approval routing policy (审批流程). The same
queries (the admin's own district: a user, unit or township outside it is a 404, like a missing one) and
the same services as finance/orgs/views.py; a user without the admin's permission is a 403."""

from __future__ import annotations

from typing import Annotated

from flask_babel import gettext as _
from flask_login import current_user
from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from finance.api.framework import Created, OneTime, api
from finance.api.schemas import Id, Money, MoneyIn, Out, Page, Schema, Time
from finance.approval_policy import services as policies
from finance.approval_policy.models import RoutingPolicy
from finance.approval_policy.queries import policy_history, rules_of
from finance.approval_policy.rules import Rules
from finance.attachment_kinds import AttachmentKind
from finance.auth import activation
from finance.auth import services as accounts
from finance.auth.models import RoleAssignment, User
from finance.errors import Forbidden, InputError, NotFound
from finance.orgs import queries
from finance.orgs import services as orgs
from finance.orgs.models import OrgUnit
from finance.permissions import Permission, can
from finance.roles import Role

TAG = api.tag("admin", "管理（用户、单位、审批流程）")
MAX_REASON = 500


# --- users and roles -----------------------------------------------------------------------------------------

class RoleOut(Out):
    id: int = Field(description="角色分配的 id（撤销时用）")
    role: str
    role_label: str
    unit_id: int
    unit_code: str
    unit_name: str


class UserOut(Out):
    id: int
    username: str
    display_name: str
    phone: str | None
    active: bool
    awaiting_activation: bool = Field(description="尚未设置密码（批量导入的人员，待本人用激活码设置）")
    created_at: Time
    roles: list[RoleOut] = Field(description="此人在您管辖范围内的角色")


class UserQuery(Schema):
    """The filters of the 用户与角色 page, and the page's cursor."""

    unit: SkipJsonSchema[None] | Id = Field(default=None, description="只列在该单位及其下级有角色的人（单位 id）")
    q: SkipJsonSchema[None] | str = Field(default=None, max_length=64, description="姓名或用户名包含的文字")
    after: SkipJsonSchema[None] | str = Field(default=None, max_length=64, pattern=r"^[a-z0-9._]{1,64}$",
                                              description="上一页返回的 next")
    limit: Annotated[int, Field(ge=1, le=100)] = 50


class UserIn(Schema):
    username: str = Field(min_length=1, max_length=64, description="字母、数字、点和下划线")
    display_name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200, description="初始密码：此人首次登录时须改为自己的密码")
    role: Role
    unit_id: Id = Field(description="角色所在单位的 id")
    phone: str | None = Field(default=None, max_length=20)


class ActiveIn(Schema):
    active: bool = Field(description="true 启用，false 停用（其登录立即失效）")
    reason: str | None = Field(default=None, max_length=MAX_REASON, description="原因（记入台账）")


class ActivationOut(Out):
    code: str = Field(description="激活码：只在这一答复中出现，旧的随即作废")
    link: str


class RoleIn(Schema):
    role: Role
    unit_id: Id = Field(description="角色所在单位的 id")


def _user_out(user: User) -> UserOut:
    return UserOut(id=user.id, username=user.username, display_name=user.display_name, phone=user.phone,
                   active=user.active, awaiting_activation=user.password_hash == accounts.UNUSABLE_PASSWORD,
                   created_at=user.created_at,
                   roles=[_role_out(a) for a in queries.assignments_in_scope(current_user, user)])


def _role_out(a: RoleAssignment) -> RoleOut:
    return RoleOut(id=a.id, role=a.role.value, role_label=a.role.label, unit_id=a.org_unit_id,
                   unit_code=a.org_unit.code, unit_name=a.org_unit.name)


def _may(permission: Permission) -> None:
    if not can(current_user, permission):
        raise Forbidden


def _user(user_id: int) -> User:
    _may(Permission.USER_MANAGE)
    user = queries.get_user(current_user, user_id)
    if user is None:
        raise NotFound(user_id)
    return user


def _unit_field(unit_id: int, name: str = "unit_id") -> OrgUnit:
    """A unit the admin names in a body: outside their district it is no choice of theirs (422 on the field)."""
    unit = queries.get_unit(current_user, unit_id)
    if unit is None:
        message = _("没有这个单位，或不在您的管辖范围内。")
        raise InputError(message, {name: message})
    return unit


@api.operation("GET", "/admin/users", summary="用户列表", tag=TAG, query=UserQuery, response=Page[UserOut],
               errors=(403,),
               description="管辖范围内有角色的人，按用户名排序；可按单位、姓名或用户名筛选（与“用户与角色”页相同）。")
def list_admin_users(query: UserQuery) -> Page[UserOut]:
    _may(Permission.USER_MANAGE)
    unit = _unit_field(query.unit, "unit") if query.unit is not None else None
    text = (query.q or "").strip() or None
    rows = queries.users_in_scope(current_user, unit=unit, text=text, after=query.after, limit=query.limit + 1)
    more = len(rows) > query.limit
    rows = rows[:query.limit]
    return Page[UserOut](items=[_user_out(u) for u in rows], next=rows[-1].username if more and rows else None)


@api.operation("POST", "/admin/users", summary="新建用户", tag=TAG, body=UserIn, response=UserOut, status=201,
               errors=(403,), description="与“新建用户”页相同：一个初始角色；此人首次登录时须改为自己的密码。")
def create_admin_user(body: UserIn) -> Created:
    _may(Permission.USER_MANAGE)
    unit = _unit_field(body.unit_id)
    user = accounts.create_user(username=body.username, display_name=body.display_name, password=body.password,
                                role=body.role, org_unit=unit, by=current_user,
                                phone=(body.phone or "").strip() or None)
    return Created(_user_out(user), f"/api/v1/admin/users/{user.id}")


@api.operation("GET", "/admin/users/<int:user_id>", summary="用户详情及角色", tag=TAG, response=UserOut,
               errors=(403,))
def get_admin_user(user_id: int) -> UserOut:
    return _user_out(_user(user_id))


@api.operation("POST", "/admin/users/<int:user_id>/active", summary="停用或启用账号", tag=TAG, body=ActiveIn,
               response=UserOut, errors=(403,),
               description="停用后此人所有登录立即失效；此人在您管辖范围以外还有角色时不能由您停用（422）。")
def set_user_active(user_id: int, body: ActiveIn) -> UserOut:
    user = _user(user_id)
    accounts.set_active(user, body.active, by=current_user, reason=body.reason)
    return _user_out(user)


@api.operation("POST", "/admin/users/<int:user_id>/activation", summary="重新发放激活码", tag=TAG,
               response=ActivationOut, errors=(403, 409),
               description="给尚未设置密码的人一个新的一次性激活码（旧的作废）。激活码只在这一答复中出现，"
                           "不随 Idempotency-Key 保存：同一个键再发一次得到 409，不会再显示。")
def issue_activation(user_id: int) -> OneTime:
    user = _user(user_id)
    code = activation.issue(user, by=current_user)
    return OneTime(ActivationOut(code=code, link=activation.link(code)))


@api.operation("POST", "/admin/users/<int:user_id>/roles", summary="添加角色", tag=TAG, body=RoleIn,
               response=UserOut, errors=(403,), description="角色须设在其所属的层级；不能给自己授予管理员以外的角色。")
def add_user_role(user_id: int, body: RoleIn) -> UserOut:
    user = _user(user_id)
    accounts.assign_role(user, body.role, _unit_field(body.unit_id), by=current_user)
    return _user_out(user)


@api.operation("DELETE", "/admin/users/<int:user_id>/roles/<int:assignment_id>", summary="撤销角色", tag=TAG,
               response=UserOut, errors=(403, 422),
               description="每人至少保留一个角色（不再使用的账号请停用）；不能撤销自己的管理员角色。")
def remove_user_role(user_id: int, assignment_id: int) -> UserOut:
    user = _user(user_id)
    assignment = queries.assignment_of(current_user, user, assignment_id)
    if assignment is None:
        raise NotFound(assignment_id)
    accounts.remove_role(assignment, by=current_user)
    return _user_out(user)


# --- org units -----------------------------------------------------------------------------------------------

class UnitOut(Out):
    id: int
    code: str
    name: str
    kind: str = Field(description="district / township / village")
    kind_label: str
    parent_id: int | None
    depth: int = Field(description="在树中的层次：0 为您管辖的最上级单位")
    bank_name: str | None
    bank_account: str | None
    bank_account_name: str | None
    child_kind: str | None = Field(description="其下可新建的单位层级；村为 null")


class UnitList(Out):
    items: list[UnitOut] = Field(description="树的顺序：上级在其下级之前")


class UnitIn(Schema):
    parent_id: Id = Field(description="上级单位的 id：区下建乡镇，乡镇下建村")
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=100)
    bank_name: str | None = Field(default=None, max_length=100, description="村必填")
    bank_account: str | None = Field(default=None, max_length=40, description="村必填，只能是数字")
    bank_account_name: str | None = Field(default=None, max_length=100, description="村必填")


def _unit_out(unit: OrgUnit, top: int) -> UnitOut:
    child = orgs.CHILD_KIND.get(unit.kind)
    return UnitOut(id=unit.id, code=unit.code, name=unit.name, kind=unit.kind.value, kind_label=unit.kind.label,
                   parent_id=unit.parent_id, depth=unit.path.count("/") - top, bank_name=unit.bank_name,
                   bank_account=unit.bank_account, bank_account_name=unit.bank_account_name,
                   child_kind=child.value if child is not None else None)


@api.operation("GET", "/admin/units", summary="组织机构", tag=TAG, response=UnitList, errors=(403,),
               description="您管辖的区、乡镇和村，按树的顺序（与“管理”页相同）。")
def list_admin_units() -> UnitList:
    _may(Permission.ORG_MANAGE)
    units = queries.units_in_scope(current_user)
    top = min((u.path.count("/") for u in units), default=0)
    return UnitList(items=[_unit_out(u, top) for u in units])


@api.operation("POST", "/admin/units", summary="新建乡镇或村", tag=TAG, body=UnitIn, response=UnitOut, status=201,
               errors=(403,), description="在上级单位下新建下一级单位；村须填写开户银行、银行账号和账户名称。")
def create_admin_unit(body: UnitIn) -> Created:
    _may(Permission.ORG_MANAGE)
    parent = _unit_field(body.parent_id, "parent_id")
    unit = orgs.create_child(parent, code=body.code, name=body.name, by=current_user, bank_name=body.bank_name,
                             bank_account=body.bank_account, bank_account_name=body.bank_account_name)
    top = min(u.path.count("/") for u in queries.units_in_scope(current_user))
    return Created(_unit_out(unit, top), "/api/v1/admin/units")


# --- a township's routing policy (审批流程) -------------------------------------------------------------------

class StepOut(Out):
    role: str
    role_label: str
    min_amount: Money | None = Field(description="从此金额起需要这一步；null 为不限金额")
    subjects: list[str] = Field(description="只对这些会计科目；空为全部科目")


class AttachmentRuleOut(Out):
    kind: str
    label: str
    min_amount: Money | None = Field(description="从此金额起需要；null 为不限金额")
    subjects: list[str]


class PolicyVersionOut(Out):
    version: int = Field(description="版本号；0 为从未发布过、使用默认流程")
    published_at: Time | None
    published_by: str | None
    steps: list[StepOut]
    attachments: list[AttachmentRuleOut]
    major_threshold: Money = Field(description="重大事项（四议两公开）金额")


class RoutingPolicyOut(Out):
    township: str = Field(description="乡镇编码")
    township_name: str
    current: PolicyVersionOut
    history: list[PolicyVersionOut] = Field(description="已发布的各版本，最新的在前")


class PolicyPublished(RoutingPolicyOut):
    changed: bool = Field(description="是否发布了新版本（与现行流程相同时不发布）")


Subjects = Annotated[list[Annotated[str, Field(min_length=1, max_length=16)]], Field(max_length=50)]


class StepIn(Schema):
    role: str = Field(max_length=32, description="审批角色：village_lead、village_supervisor、agency_reviewer、"
                                                 "township_leader、township_head")
    min_amount: MoneyIn | None = Field(default=None, description="从此金额起需要这一步；不填为不限金额")
    subjects: Subjects = Field(default_factory=list, description="只对这些会计科目代码；空为全部科目")


class AttachmentIn(Schema):
    kind: str = Field(max_length=32, description="附件类型，如 invoice、contract、minutes")
    min_amount: MoneyIn | None = None
    subjects: Subjects = Field(default_factory=list)


class PolicyIn(Schema):
    steps: list[StepIn] = Field(max_length=12, description="按审批顺序")
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=12)
    major_threshold: MoneyIn
    based_on: SkipJsonSchema[None] | Annotated[int, Field(ge=0, le=2**31 - 1)] = Field(
        default=None, description="读取时的 current.version：其后已有新版本发布则拒绝（409）")


def _version_out(policy: RoutingPolicy | None, rules: Rules, names: dict[int, str]) -> PolicyVersionOut:
    return PolicyVersionOut(
        version=policy.version if policy is not None else 0,
        published_at=policy.created_at if policy is not None else None,
        published_by=names.get(policy.created_by_id) if policy is not None and policy.created_by_id else None,
        steps=[StepOut(role=s.role.value, role_label=s.role.label, min_amount=s.min_amount, subjects=list(s.subjects))
               for s in rules.steps],
        attachments=[AttachmentRuleOut(kind=a.kind, label=AttachmentKind.requirement_label(a.kind),
                                       min_amount=a.min_amount or None, subjects=list(a.subjects))
                     for a in rules.attachments],
        major_threshold=rules.major_threshold)


def _policy_out(township: OrgUnit) -> RoutingPolicyOut:
    versions = policy_history(township)
    names = queries.display_names({p.created_by_id for p in versions})
    current = versions[0] if versions else None
    return RoutingPolicyOut(township=township.code, township_name=township.name,
                            current=_version_out(current, rules_of(current), names),
                            history=[_version_out(p, rules_of(p), names) for p in versions])


def _township(code: str) -> OrgUnit:
    _may(Permission.POLICY_MANAGE)
    township = queries.township_by_code(current_user, code)
    if township is None:
        raise NotFound(code)
    return township


@api.operation("GET", "/townships/<code>/routing-policy", summary="乡镇的审批流程", tag=TAG,
               response=RoutingPolicyOut, errors=(403,),
               description="现行的审批流程（各步骤及其起始金额、会计科目，附件要求，重大事项金额）和已发布的各版本。")
def get_routing_policy(code: str) -> RoutingPolicyOut:
    return _policy_out(_township(code))


@api.operation("PUT", "/townships/<code>/routing-policy", summary="发布新版审批流程", tag=TAG, body=PolicyIn,
               response=PolicyPublished, errors=(403, 409),
               description="整体给出新的流程；与现行流程不同时发布新版本（旧版本保留，已提交的申请仍按原版本审批），"
                           "相同时不发布（changed 为 false）。每一笔支出都须经过村负责人和村务监督委员会主任两步。")
def put_routing_policy(code: str, body: PolicyIn) -> PolicyPublished:
    township = _township(code)
    rules = policies.build_rules(
        [policies.StepInput(role=s.role, min_amount=s.min_amount or "", subjects=" ".join(s.subjects))
         for s in body.steps],
        [policies.AttachmentInput(kind=a.kind, min_amount=a.min_amount or "", subjects=" ".join(a.subjects))
         for a in body.attachments],
        body.major_threshold)
    published = policies.publish_changes(township, rules, by=current_user, based_on=body.based_on)
    return PolicyPublished(**_policy_out(township).model_dump(), changed=published is not None)

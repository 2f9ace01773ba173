"""Delegations (代理审批) through the JSON API (/api/v1, docs/api.md): a person's own (given and received,
with the choices the page's form offers), naming a delegate, ending one early, and the district admin's
list. The same queries, services and rules as the pages (finance/delegations/views.py)."""

from __future__ import annotations

from datetime import date

from flask import url_for
from flask_login import current_user
from pydantic import Field

from finance.api.endpoints_requests import PersonOut, UnitOut, unit_out
from finance.api.framework import Created, api
from finance.api.schemas import Day, Id, Out, Schema, Time
from finance.delegations import queries, services
from finance.delegations.models import Delegation
from finance.errors import Forbidden, NotFound
from finance.permissions import Permission, can
from finance.timefmt import today_local

TAG = api.tag("delegations", "代理审批")


class DelegationOut(Out):
    id: int
    principal: PersonOut = Field(description="委托人")
    delegate: PersonOut = Field(description="代理人")
    role: str
    role_label: str
    villages: list[UnitOut]
    starts_on: Day
    ends_on: Day = Field(description="结束日期（含）")
    created_at: Time
    ended_at: Time | None = Field(description="提前结束的时间")
    active: bool = Field(description="今天（中国日期）是否有效")
    may_end: bool = Field(description="当前用户能否结束它")


class RoleChoice(Out):
    role: str
    role_label: str
    villages: list[UnitOut] = Field(description="您本人担任该角色的村")


class MyDelegations(Out):
    given: list[DelegationOut] = Field(description="我的委托（我委托他人）")
    received: list[DelegationOut] = Field(description="我代别人审批")
    roles: list[RoleChoice] = Field(description="可委托的角色及其村（空：您的角色不需要委托）")
    colleagues: list[PersonOut] = Field(description="可指定的代理人：本乡镇在岗人员")


class DelegationList(Out):
    items: list[DelegationOut]


class DelegationIn(Schema):
    role: str = Field(min_length=1, max_length=32, description="委托的角色，如 village_lead")
    delegate: Id = Field(description="代理人的用户 id（见 colleagues）")
    villages: list[Id] = Field(min_length=1, max_length=200, description="代理的村 id（见 roles）")
    starts_on: date = Field(description="开始日期，不早于今天")
    ends_on: date = Field(description="结束日期（含），一次最长 92 天")


class EndIn(Schema):
    pass


def delegation_out(d: Delegation) -> DelegationOut:
    return DelegationOut(
        id=d.id, principal=PersonOut(id=d.principal.id, name=d.principal.display_name),
        delegate=PersonOut(id=d.delegate.id, name=d.delegate.display_name), role=d.role.value,
        role_label=d.role.label, villages=[unit_out(v) for v in d.villages], starts_on=d.starts_on,
        ends_on=d.ends_on, created_at=d.created_at, ended_at=d.ended_at, active=d.active_on(today_local()),
        may_end=services.may_end(current_user, d))


def _visible(delegation_id: int) -> Delegation:
    """A delegation for its principal, its delegate, or an admin over one of its villages."""
    d = queries.get(delegation_id)
    if d is None or current_user.id not in (d.principal_id, d.delegate_id) and not services.may_end(current_user, d):
        raise NotFound(delegation_id)
    return d


@api.operation("GET", "/delegations", summary="我的代理审批", tag=TAG, response=MyDelegations,
               description="我委托他人的、我代别人审批的（最新的在前），以及新建委托时可选的角色、村和代理人。")
def my_delegations() -> MyDelegations:
    rows = queries.mine(current_user)
    roles = services.delegable_roles(current_user)
    return MyDelegations(
        given=[delegation_out(d) for d in rows if d.principal_id == current_user.id],
        received=[delegation_out(d) for d in rows if d.principal_id != current_user.id],
        roles=[RoleChoice(role=r.value, role_label=r.label,
                          villages=[unit_out(v) for v in services.own_villages(current_user, r)]) for r in roles],
        colleagues=[PersonOut(id=u.id, name=u.display_name) for u in services.colleagues(current_user)]
        if roles else [])


@api.operation("POST", "/delegations", summary="委托他人代我审批", tag=TAG, body=DelegationIn,
               response=DelegationOut, status=201, errors=(403,),
               description="在一段时间内（含首尾两天）把一个角色在所选村的审批或支付委托给本乡镇的同事。"
                           "没有可委托角色的用户为 403；时间与已有委托重叠为 422（villages）。记入系统台账。")
def create_delegation(body: DelegationIn) -> Created:
    if not services.delegable_roles(current_user):
        raise Forbidden("delegation")  # the page's form is not there for them
    d = services.create(current_user, services.DelegationInput(
        role=body.role, delegate_id=body.delegate, village_ids=list(body.villages), starts_on=body.starts_on,
        ends_on=body.ends_on))
    return Created(delegation_out(d), url_for("api.get_delegation", delegation_id=d.id))


@api.operation("GET", "/delegations/<int:delegation_id>", summary="一项委托", tag=TAG, response=DelegationOut,
               description="委托人、代理人和能结束它的区管理员可查看。")
def get_delegation(delegation_id: int) -> DelegationOut:
    return delegation_out(_visible(delegation_id))


@api.operation("POST", "/delegations/<int:delegation_id>/end", summary="结束委托", tag=TAG, body=EndIn,
               response=DelegationOut,
               description="委托人或其村所在区的管理员现在结束委托；已结束或已到期的不再变化。"
                           "其他人为 404。记入系统台账。")
def end_delegation(delegation_id: int, body: EndIn) -> DelegationOut:
    return delegation_out(services.end(current_user, queries.get(delegation_id)))


@api.operation("GET", "/delegations/admin", summary="全区的代理审批（区管理员）", tag=TAG, response=DelegationList,
               errors=(404,), description="涉及本区各村的全部委托，最新的在前。区管理员以外为 404（与网页相同）。")
def admin_delegations() -> DelegationList:
    if not can(current_user, Permission.USER_MANAGE):
        raise NotFound("delegations")
    return DelegationList(items=[delegation_out(d) for d in queries.for_admin(current_user)])

"""Who may open which record of the controls: the lookups the pages (finance/controls/views.py) and the API
(finance/controls/api.py) share. Each returns the record, or None where it is missing or outside the user's
scope (both a 404). Whether the user may then change it is the services' to say."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select

from finance.auth.models import User
from finance.controls import queries as q
from finance.controls.models import Contract, NegativeItem, RelatedPerson, Resolution
from finance.extensions import db
from finance.orgs.models import OrgUnit
from finance.payment_requests.models import PaymentRequest
from finance.permissions import Permission, acting_role, can
from finance.roles import OrgKind, Role
from finance.workflow import Action

R = TypeVar("R", Resolution, Contract)


def managed_township(user: User, unit: OrgUnit | None) -> OrgUnit | None:
    """A township whose register, 负面清单 and control policy `user` keeps (the district admin over it)."""
    if unit is None or unit.kind != OrgKind.TOWNSHIP or not can(user, Permission.ORG_MANAGE, unit):
        return None
    return unit


def township_by_code(user: User, code: str) -> OrgUnit | None:
    """`managed_township` by the township's code (the API's path names townships by code)."""
    unit = db.session.execute(select(OrgUnit).where(OrgUnit.code == code)).scalar_one_or_none()
    return managed_township(user, unit)


def managed_official(user: User, official_id: int) -> User | None:
    """An official whose register `user` keeps: the admin over one of his units."""
    official = q.user_by_id(official_id)
    if official is None or not any(can(user, Permission.ORG_MANAGE, a.org_unit) for a in official.assignments):
        return None
    return official


def managed_person(user: User, person_id: int) -> RelatedPerson | None:
    """A line of the register of an official `user` keeps."""
    person = q.person(person_id)
    if person is None or managed_official(user, person.official_id) is None:
        return None
    return person


def managed_negative_item(user: User, item_id: int) -> NegativeItem | None:
    """A line of the 负面清单 of a township `user` keeps."""
    row = q.negative_item(item_id)
    if row is None or managed_township(user, q.unit(row.township_id)) is None:
        return None
    return row


def accountant_villages(user: User) -> list[OrgUnit]:
    """The villages where `user` is the accountant (whose resolutions and contracts the records page lists)."""
    return [a.org_unit for a in user.assignments if a.role == Role.ACCOUNTANT and a.org_unit.kind == OrgKind.VILLAGE]


def visible_record(user: User, record: R | None) -> R | None:
    """A resolution or contract, for whoever reads its village's requests."""
    if record is None or not can(user, Permission.REQUEST_READ, record.village):
        return None
    return record


def may_type_into(user: User, req: PaymentRequest) -> bool:
    """Whether `user` may type what the request carries (its invoices' facts, what it pays against, the
    payee's 身份证号): the accountant acting on a draft or a returned request. The request page's panel
    shows him the forms, and the payee's 身份证号 only to him."""
    return req.state.editable and acting_role(user, req, Action.EDIT) is not None

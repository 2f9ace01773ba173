"""Roles, the org levels they belong to, and their Chinese names."""

from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l


class OrgKind(StrEnum):
    DISTRICT = "district"
    TOWNSHIP = "township"
    VILLAGE = "village"

    @property
    def label(self) -> str:
        return str(ORG_KIND_LABELS[self])


class Role(StrEnum):
    ACCOUNTANT = "accountant"
    VILLAGE_LEAD = "village_lead"
    VILLAGE_SUPERVISOR = "village_supervisor"
    AGENCY_REVIEWER = "agency_reviewer"
    TOWNSHIP_LEADER = "township_leader"
    TOWNSHIP_HEAD = "township_head"
    CASHIER = "cashier"
    LIAISON = "liaison"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])

    def label_at(self, township_name: str | None) -> str:
        """The role's name in a given township: its head is 镇长, 乡长 or 街道主任 by the unit's name."""
        if self is Role.TOWNSHIP_HEAD and township_name:
            return head_title(township_name)
        return self.label

    @property
    def levels(self) -> tuple[OrgKind, ...]:
        """The org levels an assignment of this role may be bound to."""
        return ROLE_LEVELS[self]


def role_label(value: str | None) -> str:
    """The name of a recorded role (the stored value itself when the app no longer knows it)."""
    if not value:
        return ""
    try:
        return Role(value).label
    except ValueError:
        return value


ROLE_LABELS = {
    Role.ACCOUNTANT: _l("村报账员"),
    Role.VILLAGE_LEAD: _l("村负责人"),
    Role.VILLAGE_SUPERVISOR: _l("村务监督委员会主任"),
    Role.AGENCY_REVIEWER: _l("三资代理中心审核会计"),
    Role.TOWNSHIP_LEADER: _l("包村领导"),
    Role.TOWNSHIP_HEAD: _l("镇长"),
    Role.CASHIER: _l("代理中心出纳"),
    Role.LIAISON: _l("廉情联络员"),
    Role.ADMIN: _l("区三资办管理员"),
}

# The roles a step of an approval policy may name (and so the roles that decide on requests).
APPROVER_ROLES = (Role.VILLAGE_LEAD, Role.VILLAGE_SUPERVISOR, Role.AGENCY_REVIEWER, Role.TOWNSHIP_LEADER,
                  Role.TOWNSHIP_HEAD)

ROLE_LEVELS: dict[Role, tuple[OrgKind, ...]] = {
    Role.ACCOUNTANT: (OrgKind.VILLAGE,),
    Role.VILLAGE_LEAD: (OrgKind.VILLAGE,),
    Role.VILLAGE_SUPERVISOR: (OrgKind.VILLAGE,),
    Role.AGENCY_REVIEWER: (OrgKind.TOWNSHIP,),
    Role.TOWNSHIP_LEADER: (OrgKind.TOWNSHIP, OrgKind.VILLAGE),  # at a village: the 包村领导 of the villages he covers
    Role.TOWNSHIP_HEAD: (OrgKind.TOWNSHIP,),
    Role.CASHIER: (OrgKind.TOWNSHIP,),
    Role.LIAISON: (OrgKind.DISTRICT, OrgKind.TOWNSHIP, OrgKind.VILLAGE),  # district: 提级监督
    Role.ADMIN: (OrgKind.DISTRICT,),
}

ORG_KIND_LABELS = {OrgKind.DISTRICT: _l("区/县"), OrgKind.TOWNSHIP: _l("乡镇/街道"), OrgKind.VILLAGE: _l("村/社区")}


def head_title(township_name: str) -> str:
    """镇长, 乡长 or 街道主任, from what the township is (the end of its name: 镇, 乡, 街道/街道办事处)."""
    name = township_name.strip()
    if name.endswith(("街道", "街道办事处", "街道办")):
        return str(HEAD_TITLES["subdistrict"])
    if name.endswith("乡"):
        return str(HEAD_TITLES["xiang"])
    return str(HEAD_TITLES["zhen"])


HEAD_TITLES = {"zhen": _l("镇长"), "xiang": _l("乡长"), "subdistrict": _l("街道主任")}

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

    def label_at(self, township_name: str | None, level_name: str | None = None) -> str:
        """The role's name in a given township: its head is 镇长, 乡长 or 街道主任 by the unit's level name
        (乡 / 镇 / 街道, as imported, EXCHANGE.md §1) or else its name."""
        if self is Role.TOWNSHIP_HEAD and (township_name or level_name):
            return head_title(township_name or "", level_name)
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

# Other names a file may give a role by (EXCHANGE.md §2 角色: the key, its Chinese label, or one of these).
ROLE_ALIASES = {
    "报账员": Role.ACCOUNTANT, "村书记": Role.VILLAGE_LEAD, "书记": Role.VILLAGE_LEAD, "村主任": Role.VILLAGE_LEAD,
    "村监委会主任": Role.VILLAGE_SUPERVISOR, "监委会主任": Role.VILLAGE_SUPERVISOR, "审核会计": Role.AGENCY_REVIEWER,
    "分管领导": Role.TOWNSHIP_LEADER, "乡长": Role.TOWNSHIP_HEAD, "街道办事处主任": Role.TOWNSHIP_HEAD,
    "主要领导": Role.TOWNSHIP_HEAD, "出纳": Role.CASHIER, "联络员": Role.LIAISON, "管理员": Role.ADMIN,
}


def role_from_text(text: str) -> Role | None:
    """The role a file names: its key (accountant), its Chinese label (村报账员) or an alias (村书记)."""
    from flask_babel import force_locale

    key = "".join((text or "").split())
    try:
        return Role(key.lower())
    except ValueError:
        pass
    with force_locale("zh_Hans_CN"):
        names = {str(label): role for role, label in ROLE_LABELS.items()}
    return names.get(key) or ROLE_ALIASES.get(key)


def head_title(township_name: str, level_name: str | None = None) -> str:
    """镇长, 乡长 or 街道主任, from what the township is: its level name when it has one (乡, 镇, 街道, set by
    the org-unit import), else the end of its name (镇, 乡, 街道/街道办事处)."""
    name = (level_name or township_name).strip()
    if name.endswith(("街道", "街道办事处", "街道办")):
        return str(HEAD_TITLES["subdistrict"])
    if name.endswith("乡"):
        return str(HEAD_TITLES["xiang"])
    return str(HEAD_TITLES["zhen"])


HEAD_TITLES = {"zhen": _l("镇长"), "xiang": _l("乡长"), "subdistrict": _l("街道主任")}

"""Accounts: passwords (Argon2id), login throttling, users and role assignments. The only writers."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from finance import trail
from finance.auth.models import RoleAssignment, User
from finance.auth.passwords import password_problem
from finance.errors import InputError
from finance.extensions import db
from finance.orgs.models import OrgUnit
from finance.roles import Role
from finance.trail import AuditAction, AuditSubject

# Argon2id (time cost, memory KiB, parallelism) at OWASP's minimum m=19 MiB t=2 p=1, chosen by measurement
# (bench/argon2_bench.py, README "Benchmarks"): about 0.08 s of a core a login where argon2-cffi's RFC 9106
# low-memory profile (t=3, 64 MiB, p=4) took 0.7 s, and a third of the memory per login at a rush. A
# stored hash with other parameters is upgraded at its next successful login (`authenticate`).
ARGON2_PARAMS = (2, 19456, 1)

_hashers: dict[tuple[int, int, int], PasswordHasher] = {}
_dummy: dict[tuple[int, int, int], str] = {}


def _params() -> tuple[int, int, int]:
    time_cost, memory_kib, parallelism = current_app.config.get("ARGON2_PARAMS") or ARGON2_PARAMS
    return int(time_cost), int(memory_kib), int(parallelism)


def hasher() -> PasswordHasher:
    """Argon2id with the configured parameters (config ARGON2_PARAMS, else the module's ARGON2_PARAMS)."""
    params = _params()
    if params not in _hashers:
        _hashers[params] = PasswordHasher(time_cost=params[0], memory_cost=params[1], parallelism=params[2])
        # Verified against when the username is unknown, so both answers take the same time.
        _dummy[params] = _hashers[params].hash("sanzi-dummy-password")
    return _hashers[params]


def _dummy_hash() -> str:
    hasher()
    return _dummy[_params()]
MIN_PASSWORD = 8
UNUSABLE_PASSWORD = "!"  # noqa: S105 - a hash no password verifies against (argon2 refuses it): an account to activate
PHONE_RE = re.compile(r"\+?[0-9][0-9 -]{4,18}")


class AccountError(InputError):
    """A message for the user."""


def _field(name: str, message: str) -> AccountError:
    """A refusal naming the field that is wrong (the API names it; the page shows the message)."""
    return AccountError(message, {name: message})


def hash_password(password: str) -> str:
    return hasher().hash(password)


def load_user(token: str) -> User | None:
    """Flask-Login's loader. The token carries the session version, so a password change or a
    deactivation ends every other session on the next request; and the browser's server-side session
    must be live (finance.auth.sessions), so a logout ends a copied cookie too."""
    try:
        user_id, version = (int(part) for part in token.split(":", 1))
    except ValueError:
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.active or user.session_version != version or user.system_account:
        return None
    from finance.auth.sessions import current_is_live

    if not current_is_live(user.id):  # logged out (on the server), expired, or never signed in here
        return None
    return user


def authenticate(username: str, password: str) -> User | None:
    """The user if the password is right; None otherwise (unknown user and wrong password alike, in the
    same time). Throttling is the caller's, before this (finance.auth.throttle). Commits nothing."""
    username = normalise_username(username)
    user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    try:
        hasher().verify(user.password_hash if user else _dummy_hash(), password)
        # A system account (a bank's, the province's platform) is no person: it uses API tokens, never a page.
        ok = user is not None and user.active and not user.system_account
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None:
        return None
    if hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hasher().hash(password)
    return user


def normalise_username(username: str) -> str:
    return username.strip().lower()[:64]


def change_password(user: User, current: str, new: str, confirm: str) -> None:
    try:
        hasher().verify(user.password_hash, current)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        raise AccountError(_("当前密码不正确。")) from None
    check_password(new, confirm, user)
    user.password_hash = hasher().hash(new)
    user.session_version += 1
    user.must_change_password = False
    trail.record(village=None, user=user, role=None, action=AuditAction.PASSWORD_CHANGE,
                 subject_type=AuditSubject.USER, subject_id=user.id)


def check_password(new: str, confirm: str, user: User | None = None) -> None:
    if len(new) < MIN_PASSWORD:
        raise AccountError(_("新密码至少需要 %(n)d 位。", n=MIN_PASSWORD))
    if new != confirm:
        raise AccountError(_("两次输入的新密码不一致。"))
    if user is not None and hasher_verifies(user.password_hash, new):
        raise AccountError(_("新密码不能与当前密码相同。"))
    if problem := password_problem(new, username=user.username if user else "",
                                   display_name=user.display_name if user else ""):
        raise AccountError(problem)


def hasher_verifies(password_hash: str, password: str) -> bool:
    try:
        return bool(hasher().verify(password_hash, password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def create_user(*, username: str, display_name: str, password: str, role: Role, org_unit: OrgUnit,
                by: User | None = None, phone: str | None = None) -> User:
    username = username.strip().lower()
    if not username or not username.replace("_", "").replace(".", "").isalnum() or len(username) > 64:
        raise _field("username", _("用户名只能包含字母、数字、点和下划线。"))
    if not display_name.strip():
        raise _field("display_name", _("请填写姓名。"))
    if len(password) < MIN_PASSWORD:
        raise _field("password", _("密码至少需要 %(n)d 位。", n=MIN_PASSWORD))
    if by is not None and (problem := password_problem(password, username=username, display_name=display_name)):
        raise _field("password", problem)
    if phone and not PHONE_RE.fullmatch(phone):
        raise _field("phone", _("手机号只能包含数字，例如 13912345678。"))
    if db.session.execute(select(User.id).where(User.username == username)).first():
        raise _field("username", _("用户名 %(u)s 已被使用。", u=username))
    # A password an admin set is known to two people: its owner must choose their own at first login.
    user = User(username=username, display_name=display_name.strip(), phone=phone,
                password_hash=hasher().hash(password), must_change_password=by is not None)
    db.session.add(user)
    db.session.flush()
    trail.record(village=None, user=by, role=Role.ADMIN if by else None, action=AuditAction.USER_CREATE,
                 subject_type=AuditSubject.USER, subject_id=user.id,
                 after={"username": user.username, "display_name": user.display_name})
    assign_role(user, role, org_unit, by=by)
    return user


# Roles that raise, approve, pay or oversee requests: an admin never grants one to themself (else one
# person could build a whole approval chain); another admin must.
NOT_SELF_GRANTED = frozenset(Role) - {Role.ADMIN}


def admin_covers(admin: User, unit: OrgUnit) -> bool:
    """Is `unit` inside one of the units `admin` administers?"""
    return any(a.role == Role.ADMIN and a.org_unit.covers(unit) for a in admin.assignments)


def assign_role(user: User, role: Role, org_unit: OrgUnit, by: User | None = None) -> RoleAssignment:
    if by is not None and user.id == by.id and role in NOT_SELF_GRANTED:
        raise _field("role", _("不能给自己授予%(role)s角色，请由另一位管理员授予。", role=role.label))
    if org_unit.kind not in role.levels:
        raise _field("role", _("%(role)s 只能设置在%(levels)s一级。", role=role.label,
                               levels="/".join(k.label for k in role.levels)))
    if any(a.role == role and a.org_unit_id == org_unit.id for a in user.assignments):
        raise _field("role", _("该用户已有此角色。"))
    assignment = RoleAssignment(user=user, role=role, org_unit=org_unit)
    db.session.add(assignment)
    db.session.flush()
    trail.record(village=None, user=by, role=Role.ADMIN if by else None, action=AuditAction.ROLE_ASSIGN,
                 subject_type=AuditSubject.USER, subject_id=user.id,
                 after={"role": role.value, "org_unit": org_unit.code})
    return assignment


def remove_role(assignment: RoleAssignment, by: User) -> None:
    user = assignment.user
    if len(user.assignments) <= 1:
        raise AccountError(_("每个用户至少保留一个角色；不再使用的账号请停用。"))
    if user.id == by.id and assignment.role == Role.ADMIN:
        raise AccountError(_("不能撤销自己的管理员角色。"))
    trail.record(village=None, user=by, role=Role.ADMIN, action=AuditAction.ROLE_REMOVE,
                 subject_type=AuditSubject.USER, subject_id=user.id,
                 before={"role": assignment.role.value, "org_unit": assignment.org_unit.code})
    user.assignments.remove(assignment)
    db.session.flush()


def set_active(user: User, active: bool, by: User, reason: str | None = None) -> None:
    """Stop an account (its sessions end at once) or start it again; `reason`, when given, goes into the
    event."""
    if user.id == by.id:
        raise AccountError(_("不能停用自己的账号。"))
    # An account serves every unit where its holder has a role: only an admin of all of them may stop it.
    if any(not admin_covers(by, a.org_unit) for a in user.assignments):
        raise AccountError(_("此人在您管辖范围以外还有角色，不能由您停用或启用；请联系上级管理员。"))
    if user.active == active:
        return
    trail.record(village=None, user=by, role=Role.ADMIN,
                 action=AuditAction.USER_ACTIVATE if active else AuditAction.USER_DEACTIVATE,
                 subject_type=AuditSubject.USER, subject_id=user.id, before={"active": user.active},
                 after={"active": active}, reason=(reason or "").strip() or None)
    user.active = active
    user.session_version += 1


def create_invited_user(*, username: str, display_name: str, phone: str | None = None, by: User | None = None
                        ) -> User:
    """An account without a password (an imported person, EXCHANGE.md §2): nobody can sign in with it until
    its holder sets a password with a one-time activation (finance.auth.activation). Roles are assigned
    by `assign_role`, as for any user."""
    username = username.strip().lower()
    if not username or not username.replace("_", "").replace(".", "").isalnum() or len(username) > 64:
        raise AccountError(_("用户名只能包含字母、数字、点和下划线。"))
    if not display_name.strip() or len(display_name.strip()) > 64:
        raise AccountError(_("请填写姓名。"))
    if phone and not PHONE_RE.fullmatch(phone):
        raise AccountError(_("手机号只能包含数字，例如 13912345678。"))
    if db.session.execute(select(User.id).where(User.username == username)).first():
        raise AccountError(_("用户名 %(u)s 已被使用。", u=username))
    user = User(username=username, display_name=display_name.strip(), phone=phone or None,
                password_hash=UNUSABLE_PASSWORD)
    db.session.add(user)
    db.session.flush()
    trail.record(village=None, user=by, role=Role.ADMIN if by else None, action=AuditAction.USER_CREATE,
                 subject_type=AuditSubject.USER, subject_id=user.id,
                 after={"username": user.username, "display_name": user.display_name, "activation": True})
    return user


def update_details(user: User, *, display_name: str, phone: str | None, by: User | None = None) -> bool:
    """Correct a user's name or phone (where notices go); one event with what changed, or False when
    nothing did."""
    display_name = display_name.strip()
    if not display_name or len(display_name) > 64:
        raise AccountError(_("请填写姓名。"))
    if phone and not PHONE_RE.fullmatch(phone):
        raise AccountError(_("手机号只能包含数字，例如 13912345678。"))
    before = {"display_name": user.display_name, "phone": user.phone}
    after = {"display_name": display_name, "phone": phone or None}
    changed = [k for k in after if after[k] != before[k]]
    if not changed:
        return False
    user.display_name, user.phone = display_name, phone or None
    trail.record(village=None, user=by, role=Role.ADMIN if by else None, action=AuditAction.USER_UPDATE,
                 subject_type=AuditSubject.USER, subject_id=user.id, before={k: before[k] for k in changed},
                 after={k: after[k] for k in changed})
    return True

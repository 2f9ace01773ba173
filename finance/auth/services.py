"""Accounts: passwords (Argon2id), login throttling, users and role assignments. The only writers."""

from __future__ import annotations

import math
import re
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, select

from finance import trail
from finance.auth.models import LoginFailure, RoleAssignment, User
from finance.db import utcnow
from finance.errors import InputError
from finance.extensions import db
from finance.orgs.models import OrgUnit
from finance.roles import Role
from finance.trail import AuditAction, AuditSubject

_hashers: dict[tuple[int, int, int], PasswordHasher] = {}
_dummy: dict[tuple[int, int, int], str] = {}


def hasher() -> PasswordHasher:
    """Argon2id with the configured parameters (ARGON2_PARAMS = time cost, memory KiB, parallelism)."""
    params = tuple(current_app.config.get("ARGON2_PARAMS") or (3, 65536, 4))
    if params not in _hashers:
        _hashers[params] = PasswordHasher(time_cost=params[0], memory_cost=params[1], parallelism=params[2])
        # Verified against when the username is unknown, so both answers take the same time.
        _dummy[params] = _hashers[params].hash("sanzi-dummy-password")
    return _hashers[params]


def _dummy_hash() -> str:
    hasher()
    return _dummy[tuple(current_app.config.get("ARGON2_PARAMS") or (3, 65536, 4))]
MIN_PASSWORD = 8
PHONE_RE = re.compile(r"\+?[0-9][0-9 -]{4,18}")


class AccountError(InputError):
    """A message for the user."""


class Throttled(Exception):
    """Too many recent failures for this account; `retry_after` is the seconds until the next try."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


def hash_password(password: str) -> str:
    return hasher().hash(password)


def load_user(token: str) -> User | None:
    """Flask-Login's loader. The token carries the session version, so a password change or a
    deactivation ends every other session on the next request."""
    try:
        user_id, version = (int(part) for part in token.split(":", 1))
    except ValueError:
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.active or user.session_version != version:
        return None
    return user


def _throttled_for(username: str) -> int:
    """Seconds this account must still wait (0: it may try). Blocked while `limit` failures lie inside
    the window, that is until the oldest of the newest `limit` failures leaves it."""
    window = timedelta(seconds=current_app.config["LOGIN_FAILURE_WINDOW_SECONDS"])
    limit = current_app.config["LOGIN_FAILURE_LIMIT"]
    now = utcnow()
    recent = list(db.session.execute(
        select(LoginFailure.at).where(LoginFailure.username == username, LoginFailure.at > now - window)
        .order_by(LoginFailure.at.desc()).limit(limit)
    ).scalars())
    if len(recent) < limit:
        return 0
    return max(1, math.ceil((recent[-1] + window - now).total_seconds()))


def authenticate(username: str, password: str, client_addr: str | None) -> User | None:
    """The user if the password is right; None otherwise (unknown user and wrong password alike).
    Raises Throttled after too many recent failures for the account. Commits nothing."""
    username = username.strip().lower()
    if wait := _throttled_for(username):
        raise Throttled(wait)
    user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    try:
        hasher().verify(user.password_hash if user else _dummy_hash(), password)
        ok = user is not None and user.active
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None:
        db.session.add(LoginFailure(username=username, client_addr=client_addr))
        return None
    if hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hasher().hash(password)
    db.session.execute(delete(LoginFailure).where(LoginFailure.username == username))
    return user


def change_password(user: User, current: str, new: str, confirm: str) -> None:
    try:
        hasher().verify(user.password_hash, current)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        raise AccountError(_("当前密码不正确。")) from None
    check_password(new, confirm)
    user.password_hash = hasher().hash(new)
    user.session_version += 1
    trail.record(village=None, user=user, role=None, action=AuditAction.PASSWORD_CHANGE,
                 subject_type=AuditSubject.USER, subject_id=user.id)


def check_password(new: str, confirm: str) -> None:
    if len(new) < MIN_PASSWORD:
        raise AccountError(_("新密码至少需要 %(n)d 位。", n=MIN_PASSWORD))
    if new != confirm:
        raise AccountError(_("两次输入的新密码不一致。"))


def create_user(*, username: str, display_name: str, password: str, role: Role, org_unit: OrgUnit,
                by: User | None = None, phone: str | None = None) -> User:
    username = username.strip().lower()
    if not username or not username.replace("_", "").replace(".", "").isalnum() or len(username) > 64:
        raise AccountError(_("用户名只能包含字母、数字、点和下划线。"))
    if not display_name.strip():
        raise AccountError(_("请填写姓名。"))
    if len(password) < MIN_PASSWORD:
        raise AccountError(_("密码至少需要 %(n)d 位。", n=MIN_PASSWORD))
    if phone and not PHONE_RE.fullmatch(phone):
        raise AccountError(_("手机号只能包含数字，例如 13912345678。"))
    if db.session.execute(select(User.id).where(User.username == username)).first():
        raise AccountError(_("用户名 %(u)s 已被使用。", u=username))
    user = User(username=username, display_name=display_name.strip(), phone=phone,
                password_hash=hasher().hash(password))
    db.session.add(user)
    db.session.flush()
    trail.record(village=None, user=by, role=Role.ADMIN if by else None, action=AuditAction.USER_CREATE,
                 subject_type=AuditSubject.USER, subject_id=user.id,
                 after={"username": user.username, "display_name": user.display_name})
    assign_role(user, role, org_unit, by=by)
    return user


def assign_role(user: User, role: Role, org_unit: OrgUnit, by: User | None = None) -> RoleAssignment:
    if org_unit.kind not in role.levels:
        raise AccountError(_("%(role)s 只能设置在%(levels)s一级。", role=role.label,
                             levels="/".join(k.label for k in role.levels)))
    if any(a.role == role and a.org_unit_id == org_unit.id for a in user.assignments):
        raise AccountError(_("该用户已有此角色。"))
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


def set_active(user: User, active: bool, by: User) -> None:
    if user.id == by.id:
        raise AccountError(_("不能停用自己的账号。"))
    if user.active == active:
        return
    trail.record(village=None, user=by, role=Role.ADMIN,
                 action=AuditAction.USER_ACTIVATE if active else AuditAction.USER_DEACTIVATE,
                 subject_type=AuditSubject.USER, subject_id=user.id, before={"active": user.active},
                 after={"active": active})
    user.active = active
    user.session_version += 1

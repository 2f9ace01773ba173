"""Personal API tokens: made by their user (or by an admin for a system account), shown once, stored as
their SHA-256, with a name and an expiry, revocable, with their last use. A token acts as its user: the
API sets it as the request's user, so every `can()`, jurisdiction filter, separation-of-duties bar and
service is the pages' own. Creating and revoking are events on the system chain."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select

from finance import trail
from finance.api.models import ApiToken
from finance.auth.models import User
from finance.auth.services import admin_covers
from finance.db import utcnow
from finance.errors import Forbidden, InputError, NotFound
from finance.extensions import db
from finance.roles import Role
from finance.trail import AuditAction, AuditSubject

SECRET_PREFIX = "sz_"  # noqa: S105 - the visible start of every token, not a secret
MAX_NAME = 64
MAX_DAYS = 365
EXPIRY_CHOICES = (7, 30, 90, 180, 365)
MAX_LIVE_TOKENS = 20
LAST_USE_RESOLUTION = timedelta(minutes=1)  # last use is written at most once a minute per token


class TokenError(InputError):
    """Input the user must correct."""


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def may_manage(by: User, owner: User) -> bool:
    """May `by` make or revoke tokens of `owner`? Their own; an admin also those of a system account
    whose every role lies inside the admin's units."""
    if by.id == owner.id:
        return True
    return (owner.system_account and by.has_role(Role.ADMIN)
            and all(admin_covers(by, a.org_unit) for a in owner.assignments))


def create_token(owner: User, name: str, days: int, *, by: User) -> tuple[ApiToken, str]:
    """A new token for `owner`; returns the row and the secret, which is never stored or shown again."""
    if not may_manage(by, owner):
        raise Forbidden("api_token")
    name = (name or "").strip()
    errors = {}
    if not name:
        errors["name"] = _("请填写令牌名称。")
    elif len(name) > MAX_NAME:
        errors["name"] = _("名称最多 %(n)d 个字。", n=MAX_NAME)
    if not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        errors["days"] = _("有效期须在 1 到 %(n)d 天之间。", n=MAX_DAYS)
    if errors:
        raise TokenError(next(iter(errors.values())), errors)
    now = utcnow()
    live = db.session.execute(select(func.count(ApiToken.id)).where(
        ApiToken.user_id == owner.id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > now)).scalar_one()
    if live >= MAX_LIVE_TOKENS:
        message = _("有效令牌最多 %(n)d 个，请先撤销不用的令牌。", n=MAX_LIVE_TOKENS)
        raise TokenError(message, {"name": message})
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=owner, name=name, token_hash=digest(secret), prefix=secret[:10], created_at=now,
                     created_by_id=by.id, expires_at=now + timedelta(days=days))
    db.session.add(token)
    db.session.flush()
    trail.record(village=None, user=by, role=Role.ADMIN if by.id != owner.id else None,
                 action=AuditAction.API_TOKEN_CREATE, subject_type=AuditSubject.API_TOKEN, subject_id=token.id,
                 after={"user_id": owner.id, "name": name, "prefix": token.prefix,
                        "expires_at": token.expires_at.isoformat()})
    return token, secret


def revoke_token(token: ApiToken, *, by: User) -> None:
    """Revoke a token (at once: its next request is refused). Revoking a revoked one changes nothing."""
    if not may_manage(by, token.user):
        raise NotFound(token.id)
    if token.revoked_at is not None:
        return
    token.revoked_at = utcnow()
    trail.record(village=None, user=by, role=Role.ADMIN if by.id != token.user_id else None,
                 action=AuditAction.API_TOKEN_REVOKE, subject_type=AuditSubject.API_TOKEN, subject_id=token.id,
                 before={"revoked": False}, after={"revoked": True})
    db.session.flush()


def mark_system_account(user: User, *, by: User | None = None) -> None:
    """Make `user` the account of a system (a bank, the province's platform), for which an admin makes
    tokens. From the command line (`by` None) or by an admin."""
    if user.system_account:
        return
    user.system_account = True
    trail.record(village=None, user=by, role=Role.ADMIN if by else None, action=AuditAction.SYSTEM_ACCOUNT,
                 subject_type=AuditSubject.USER, subject_id=user.id, before={"system_account": False},
                 after={"system_account": True})
    db.session.flush()


def find(secret: str, now: datetime | None = None) -> ApiToken | None:
    """The live token with this secret, whose user is active; None otherwise."""
    if not secret.startswith(SECRET_PREFIX) or len(secret) > 100:
        return None
    token = db.session.execute(select(ApiToken).where(ApiToken.token_hash == digest(secret))).scalar_one_or_none()
    now = now or utcnow()
    if token is None or not token.live(now) or not token.user.active:
        return None
    return token


def touch(token: ApiToken, now: datetime | None = None) -> bool:
    """Note the token's use (at most once a minute: a busy client does not write on every request)."""
    now = now or utcnow()
    if token.last_used_at is None or token.last_used_at < now - LAST_USE_RESOLUTION:
        token.last_used_at = now
        return True
    return False


def tokens_of(user: User) -> list[ApiToken]:
    return list(db.session.execute(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    ).scalars())


def system_accounts_for(admin: User) -> list[User]:
    """The system accounts whose tokens this admin manages."""
    if not admin.has_role(Role.ADMIN):
        return []
    users = db.session.execute(select(User).where(User.system_account.is_(True), User.active.is_(True))
                               .order_by(User.username)).scalars()
    return [u for u in users if may_manage(admin, u)]

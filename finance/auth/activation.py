"""One-time activation of an account made without a password (an imported person, EXCHANGE.md §2).

The admin hands the person a link (or just its code, read out or on paper); on the activation page the
person chooses a password, once. No password is ever in a file or known to the admin. Only the code's
SHA-256 is stored (the code has 60 random bits, so a hash suffices; guesses are throttled per address),
it expires (ACTIVATION_DAYS, default 14), and issuing a new one ends the older ones. The only writers of
`account_activation`."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update

from finance import trail
from finance.auth.models import Activation, User
from finance.auth.services import UNUSABLE_PASSWORD, AccountError, check_password, hasher
from finance.db import utcnow
from finance.extensions import db
from finance.roles import Role
from finance.trail import AuditAction, AuditSubject

PATH = "/activate/"  # the page's URL rule is PATH + <code> (finance.auth.views)
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read out over the phone
GROUPS, GROUP = 3, 4  # ABCD-EFGH-JKLM: 12 characters, 60 bits
DEFAULT_DAYS = 14


def new_code() -> str:
    chars = "".join(secrets.choice(ALPHABET) for _i in range(GROUPS * GROUP))
    return "-".join(chars[i:i + GROUP] for i in range(0, len(chars), GROUP))


def normalise_code(text: str | None) -> str:
    """What a person typed, as issued: upper case, separators and spaces ignored, 0/1 read as O/I would
    not be in the alphabet so they are left to fail."""
    raw = "".join(ch for ch in (text or "").upper() if ch.isalnum())[: GROUPS * GROUP]
    return "-".join(raw[i:i + GROUP] for i in range(0, len(raw), GROUP))


def code_hash(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


def link(code: str) -> str:
    """The link to hand over: on PUBLIC_BASE_URL when it is set (production requires it), else the path."""
    base = str(current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    return f"{base}{PATH}{code}"


def issue(user: User, by: User | None = None) -> str:
    """A new activation code for `user` (ending any earlier one not yet used); one event, without the code.
    Returns the code: shown once to the admin, never stored."""
    if user.password_hash != UNUSABLE_PASSWORD:
        raise AccountError(_("%(name)s 已经设置过密码，不需要激活。", name=user.display_name))
    now = utcnow()
    db.session.execute(update(Activation).where(Activation.user_id == user.id, Activation.used_at.is_(None),
                                                Activation.revoked_at.is_(None)).values(revoked_at=now))
    code = new_code()
    days = int(current_app.config.get("ACTIVATION_DAYS") or DEFAULT_DAYS)
    row = Activation(user_id=user.id, code_hash=code_hash(code), created_at=now, expires_at=now + timedelta(days=days),
                     created_by_id=by.id if by else None)
    db.session.add(row)
    db.session.flush()
    trail.record(village=None, user=by, role=Role.ADMIN if by else None, action=AuditAction.ACTIVATION_ISSUE,
                 subject_type=AuditSubject.USER, subject_id=user.id,
                 after={"activation_id": row.id, "expires_at": row.expires_at})
    return code


def pending(code: str) -> Activation | None:
    """The activation this code opens, if it is still good (not used, not replaced, not expired)."""
    if len(normalise_code(code)) != GROUPS * GROUP + GROUPS - 1:
        return None
    row = db.session.execute(select(Activation).where(Activation.code_hash == code_hash(code))).scalar_one_or_none()
    if row is None or row.used_at is not None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    if not row.user.active:
        return None
    return row


def activate(code: str, password: str, confirm: str) -> User:
    """Set the password of the account this code belongs to, once; common passwords and ones made of the
    username or name are refused (finance.auth.passwords). One event, by the person."""
    row = pending(code)
    if row is None:
        raise AccountError(_("激活码无效、已经用过或已过期，请向管理员重新索取。"), {"code": _("激活码无效。")})
    user = row.user
    check_password(password, confirm, user)
    row.used_at = utcnow()
    user.password_hash = hasher().hash(password)
    user.session_version += 1
    user.must_change_password = False
    trail.record(village=None, user=user, role=None, action=AuditAction.ACCOUNT_ACTIVATE,
                 subject_type=AuditSubject.USER, subject_id=user.id, after={"activation_id": row.id})
    return user

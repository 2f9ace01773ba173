"""Server-side sign-in sessions. The Flask session cookie is signed but lives in the browser; on its own
a copy of it would stay valid after logout. So each sign-in gets a row (`LoginSession`, keyed by the
SHA-256 of a random token the cookie carries), every request checks it, and logout ends it.

Signing in also starts a fresh cookie session: whatever an earlier visitor left in it (a planted
session, the CSRF secret) is gone, so the CSRF secret is new after every login. The language is a
cookie of its own (`lang`) and stays."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app, g, has_request_context, session
from flask_login import login_user, logout_user
from sqlalchemy import delete, or_, select

from finance.auth.models import LoginSession, User
from finance.db import utcnow
from finance.extensions import db
from finance.security import client_addr

SESSION_KEY = "sid"
KEPT_ACROSS_LOGIN = ("lang",)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def lifetime() -> timedelta:
    return timedelta(hours=int(current_app.config.get("LOGIN_SESSION_HOURS", 24 * 14)))


def start(user: User) -> LoginSession:
    """Sign `user` in on this browser: a new cookie session (keeping the language), a new server-side
    row, a new CSRF secret. The caller commits."""
    kept = {k: session[k] for k in KEPT_ACROSS_LOGIN if k in session}
    session.clear()
    session.update(kept)
    g.pop("csrf_token", None)  # Flask-WTF caches the token of this request here
    now = utcnow()
    # This user's ended or expired rows go now: the table holds live sessions, not a history.
    db.session.execute(delete(LoginSession).where(
        LoginSession.user_id == user.id,
        or_(LoginSession.ended_at.is_not(None), LoginSession.created_at < now - lifetime()),
    ))
    token = secrets.token_urlsafe(32)
    row = LoginSession(id=_digest(token), user_id=user.id, created_at=now,
                       client_addr=client_addr())
    db.session.add(row)
    login_user(user)
    session[SESSION_KEY] = token
    return row


def end() -> None:
    """Sign out this browser: the server-side row is ended, so the cookie is worthless even if copied.
    The caller commits."""
    token = session.get(SESSION_KEY)
    if isinstance(token, str):
        row = db.session.get(LoginSession, _digest(token))
        if row is not None and row.ended_at is None:
            row.ended_at = utcnow()
    logout_user()
    session.clear()
    g.pop("csrf_token", None)


def current_is_live(user_id: int) -> bool:
    """Does this request carry a live session of `user_id`? (Checked by the user loader.)"""
    if not has_request_context():
        return False
    token = session.get(SESSION_KEY)
    if not isinstance(token, str) or len(token) > 100:
        return False
    row = db.session.execute(select(LoginSession.user_id, LoginSession.created_at, LoginSession.ended_at)
                             .where(LoginSession.id == _digest(token))).first()
    return (row is not None and row.user_id == user_id and row.ended_at is None
            and row.created_at > utcnow() - lifetime())

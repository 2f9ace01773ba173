"""Login throttling, in the database so that it holds across app servers (finance.ratelimit).

Each attempt is counted as a failure *before* the password is checked, under a row lock, so a burst of
parallel guesses cannot all pass the check at count 0; a right password then takes its count back.

- Per username, for browsers that never signed in as that user: the first few failures are free, then
  each further one doubles the wait before the next try (1 s, 2 s, 4 s ... up to 15 minutes). An attacker
  gets a few hundred guesses a day at most; a user's count is forgotten a day after their last failure.
- Per browser that signed in as that user before (a signed `sanzi_device` cookie names the usernames it
  signed in as): the same back-off, but on its own count. So guessing at an approver's password from
  elsewhere slows the guesser and never locks the approver out of their own phone.
- Per client address: a cap on failures in a window (a village office behind one address shares it),
  against one client spraying guesses over many usernames.
- Global: a cap on failures across the district in a window, against spraying from many addresses;
  past it only browsers that signed in before get through until the window ends.

Limits are settings (LOGIN_*), see finance/config.py."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app, request
from itsdangerous import BadData, URLSafeSerializer

from finance import ratelimit
from finance.db import utcnow

DEVICE_COOKIE = "sanzi_device"
DEVICE_SALT = "sanzi.auth.device.v1"
DEVICE_USERS = 8  # usernames a shared village PC remembers
PERSONAL = ("user", "device")


class Throttled(Exception):
    """Too many recent failures; `retry_after` is the seconds until the next try."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Attempt:
    """An attempt admitted and counted as a failure until `succeeded` takes it back."""

    keys: tuple[tuple[str, str], ...]


def _setting(name: str) -> int:
    return int(current_app.config[name])


def backoff(failures: int) -> timedelta:
    """The wait after the `failures`-th consecutive failure (none before LOGIN_FREE_FAILURES)."""
    free = _setting("LOGIN_FREE_FAILURES")
    if failures < free:
        return timedelta(0)
    seconds = _setting("LOGIN_BACKOFF_BASE_SECONDS") * 2 ** min(failures - free, 30)
    return timedelta(seconds=min(seconds, _setting("LOGIN_BACKOFF_MAX_SECONDS")))


def admit(username: str, client_addr: str | None, device: str | None) -> Attempt:
    """Count this login attempt as a failure, or raise Throttled. The caller commits before checking
    the password (so the count stands even if the check crashes or is slow)."""
    now = utcnow()
    if device is not None:
        keys: tuple[tuple[str, str], ...] = (("device", f"{device}:{username}"),)
    else:
        keys = (("user", username), ("client", client_addr or "unknown"), ("global", "*"))
    rows = ratelimit.lock(keys)
    forget = timedelta(hours=_setting("LOGIN_FORGET_HOURS"))
    waits = []
    for (scope, _key), row in rows.items():
        if scope in PERSONAL:
            if row.count and row.window_started_at <= now - forget:
                row.count, row.blocked_until = 0, None
            if row.blocked_until is not None and row.blocked_until > now:
                waits.append((row.blocked_until - now).total_seconds())
        else:
            name = "CLIENT" if scope == "client" else "GLOBAL"
            window = timedelta(seconds=_setting(f"LOGIN_{name}_WINDOW_SECONDS"))
            if ratelimit.window_count(row, window, now) >= _setting(f"LOGIN_{name}_LIMIT"):
                waits.append((row.window_started_at + window - now).total_seconds())
    if waits:
        raise Throttled(max(1, int(max(waits)) + 1))
    for (scope, _key), row in rows.items():
        row.count += 1
        if scope in PERSONAL:
            row.window_started_at = now  # the newest failure
            wait = backoff(row.count)
            row.blocked_until = now + wait if wait else None
    return Attempt(tuple(rows))


def succeeded(attempt: Attempt) -> None:
    """The password was right: the attempt was no failure. The user's or browser's count starts again;
    the address and global counts take this one back."""
    for (scope, _key), row in ratelimit.lock(attempt.keys).items():
        if scope in PERSONAL:
            row.count, row.blocked_until = 0, None
        elif row.count > 0:
            row.count -= 1


# --- browsers that signed in before -------------------------------------------------------------


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=DEVICE_SALT)


def _device_cookie() -> dict[str, Any] | None:
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw or len(raw) > 2000:
        return None
    try:
        data = _serializer().loads(raw)
    except BadData:
        return None
    if not (isinstance(data, dict) and isinstance(data.get("d"), str) and isinstance(data.get("u"), list)):
        return None
    return data


def known_device(username: str) -> str | None:
    """This browser's id when it signed in as `username` before, else None."""
    data = _device_cookie()
    if data is None or username not in data["u"]:
        return None
    return str(data["d"])


def remember_device(response: Any, username: str) -> None:
    """After a successful login: this browser is now one `username` signed in from."""
    data = _device_cookie() or {"d": secrets.token_urlsafe(16), "u": []}
    users = [u for u in data["u"] if isinstance(u, str) and u != username][-(DEVICE_USERS - 1):]
    value = _serializer().dumps({"d": data["d"], "u": [*users, username]})
    response.set_cookie(DEVICE_COOKIE, value, max_age=365 * 24 * 3600, httponly=True, samesite="Lax",
                        secure=current_app.config["SESSION_COOKIE_SECURE"])

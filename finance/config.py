"""Settings from the environment, overridable by the mapping given to `create_app`."""

from __future__ import annotations

import os
import secrets
from decimal import Decimal
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(RuntimeError):
    pass


def instance_path() -> Path:
    return Path(os.environ.get("SANZI_INSTANCE", PROJECT_ROOT / "instance")).resolve()


def _secret_key(instance: Path, production: bool) -> str:
    if key := os.environ.get("SECRET_KEY"):
        return key
    if production:
        raise ConfigError("SECRET_KEY must be set in production (SANZI_ENV=production)")
    # Local use: generated once and kept under instance/, never a default in the code.
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip()


def load(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    overrides = dict(overrides or {})
    instance = Path(overrides.get("INSTANCE_PATH") or instance_path())
    production = os.environ.get("SANZI_ENV", "development") == "production"
    config: dict[str, Any] = {
        "INSTANCE_PATH": str(instance),
        "PRODUCTION": production,
        "DATABASE_URL": os.environ.get("DATABASE_URL", f"sqlite:///{instance / 'sanzi.db'}"),
        "UPLOAD_DIR": os.environ.get("SANZI_UPLOAD_DIR", str(instance / "uploads")),
        "AUDIT_KEY_FILE": os.environ.get("SANZI_AUDIT_KEY_FILE", str(instance / "audit_signing_key.pem")),
        "AUDIT_SIGNING_KEY": os.environ.get("SANZI_AUDIT_SIGNING_KEY"),
        "MAX_AMOUNT": Decimal(os.environ.get("SANZI_MAX_AMOUNT", "10000000")),
        "MAX_UPLOAD_BYTES": int(os.environ.get("SANZI_MAX_UPLOAD_BYTES", str(10 * 1024 * 1024))),
        "MAX_CONTENT_LENGTH": int(os.environ.get("SANZI_MAX_REQUEST_BYTES", str(32 * 1024 * 1024))),
        # An uploaded image whose bitmap exceeds this is refused (its file can be small; its pixels are not).
        "MAX_IMAGE_PIXELS": int(os.environ.get("SANZI_MAX_IMAGE_PIXELS", str(40_000_000))),
        # Login throttling (finance/auth/throttle.py): free failures per user or browser, then a wait
        # doubling from BASE to MAX seconds; caps per client address and district-wide per window.
        "LOGIN_FREE_FAILURES": int(os.environ.get("SANZI_LOGIN_FREE_FAILURES", "5")),
        "LOGIN_BACKOFF_BASE_SECONDS": int(os.environ.get("SANZI_LOGIN_BACKOFF_BASE_SECONDS", "1")),
        "LOGIN_BACKOFF_MAX_SECONDS": int(os.environ.get("SANZI_LOGIN_BACKOFF_MAX_SECONDS", "900")),
        "LOGIN_FORGET_HOURS": 24,
        "LOGIN_CLIENT_LIMIT": int(os.environ.get("SANZI_LOGIN_CLIENT_LIMIT", "30")),
        "LOGIN_CLIENT_WINDOW_SECONDS": 900,
        "LOGIN_GLOBAL_LIMIT": int(os.environ.get("SANZI_LOGIN_GLOBAL_LIMIT", "300")),
        "LOGIN_GLOBAL_WINDOW_SECONDS": 300,
        # Attachment adds and deletes per request per day and per user per hour (finance/payment_requests/churn.py).
        "ATTACHMENT_CHANGES_PER_DAY": int(os.environ.get("SANZI_ATTACHMENT_CHANGES_PER_DAY", "60")),
        "ATTACHMENT_CHANGES_PER_HOUR": int(os.environ.get("SANZI_ATTACHMENT_CHANGES_PER_HOUR", "300")),
        "LOGIN_SESSION_HOURS": int(os.environ.get("SANZI_LOGIN_SESSION_HOURS", str(14 * 24))),
        "BABEL_DEFAULT_LOCALE": "zh_Hans_CN",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "LANGUAGES": {"zh": "中文", "en": "English"},
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,  # a form opened in the field may be sent hours later
        "SEND_FILE_MAX_AGE_DEFAULT": 365 * 24 * 3600,
        "PAGE_SIZE": 20,
        # The public address printed in QR codes and on the disclosure sheet; required in production, so
        # that no printed URL ever follows a request's Host header (finance.security.public_url).
        "PUBLIC_BASE_URL": os.environ.get("SANZI_PUBLIC_BASE_URL"),
        # How many reverse proxies in front of the app append X-Forwarded-For/-Proto (0: none trusted).
        "TRUSTED_PROXIES": int(os.environ.get("SANZI_TRUSTED_PROXIES", "0")),
    }
    if hosts := os.environ.get("SANZI_TRUSTED_HOSTS"):  # Flask answers 400 to any other Host header
        config["TRUSTED_HOSTS"] = [h.strip() for h in hosts.split(",") if h.strip()]
    config.update(overrides)
    if "SECRET_KEY" not in config:
        config["SECRET_KEY"] = _secret_key(instance, production)
    from finance.security import check_public_base_url

    try:
        config["PUBLIC_BASE_URL"] = check_public_base_url(config.get("PUBLIC_BASE_URL"), bool(config["PRODUCTION"]))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if config["PRODUCTION"] and not config["PUBLIC_BASE_URL"]:
        raise ConfigError("SANZI_PUBLIC_BASE_URL must be set in production (SANZI_ENV=production), e.g. "
                          "https://sanzi.example.gov.cn: QR codes and public pages are built on it")
    return config

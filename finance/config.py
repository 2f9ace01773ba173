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
        "LOGIN_FAILURE_LIMIT": 5,
        "LOGIN_FAILURE_WINDOW_SECONDS": 60,
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
        # The public address printed in QR codes (behind a proxy the request's Host may not be it).
        "PUBLIC_BASE_URL": os.environ.get("SANZI_PUBLIC_BASE_URL"),
    }
    config.update(overrides)
    if "SECRET_KEY" not in config:
        config["SECRET_KEY"] = _secret_key(instance, production)
    return config

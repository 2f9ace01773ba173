"""Channel adapters: each sends one message to one person and answers with the provider's reference, or
raises SendError saying whether a retry may help. Every send carries the delivery's dedupe key, so a
provider that honours it (the SMS interface requires it) never sends a retry twice.

    e-mail     SMTP (smtplib); the dedupe key is the Message-ID
    SMS        one HTTP adapter shape (docs/notices.md "The SMS provider interface")
    WeCom      企业微信 group robot webhook (…/cgi-bin/webhook/send?key=KEY), @mentions the mobile
    DingTalk   钉钉 group robot webhook (…/robot/send?access_token=TOKEN), optional 加签 (HMAC-SHA256)
    file       no provider configured outside production: appended to instance/notices-sent.log
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import smtplib
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any, Protocol

from flask import Flask

from finance.notices.models import Channel


class SendError(Exception):
    """The provider did not take the message. `retryable`: a later attempt may succeed (network, 5xx,
    429, busy); otherwise it never will as things stand (bad address, refused, not configured)."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason[:500]
        self.retryable = retryable


@dataclass(frozen=True)
class Message:
    """What a notice says: a title, the request's number, village and amount, and a link. Nothing else."""

    title: str
    number: str
    village: str
    amount: str
    link: str

    @property
    def text(self) -> str:
        parts = [p for p in (self.number, self.village, self.amount) if p]
        return f"【三资网报】{self.title}：{'，'.join(parts)}。{self.link}"

    @property
    def subject(self) -> str:
        return f"【三资网报】{self.title}：{self.number}" if self.number else f"【三资网报】{self.title}"


@dataclass(frozen=True)
class Recipient:
    name: str
    email: str | None = None
    mobile: str | None = None
    wecom_key: str | None = None
    dingtalk_token: str | None = None
    dingtalk_secret: str | None = None


class Adapter(Protocol):
    def send(self, to: Recipient, message: Message, dedupe_key: str) -> str: ...


@dataclass(frozen=True)
class NoticeConfig:
    base_url: str
    smtp_host: str | None
    smtp_port: int
    smtp_from: str
    smtp_user: str | None
    smtp_password: str | None
    smtp_starttls: bool
    sms_url: str | None
    sms_token: str | None
    sms_sign: str
    wecom_url: str
    dingtalk_url: str
    robots_on: bool
    file_path: str | None  # the local stand-in when a channel has no provider (never in production)
    timeout: float
    max_attempts: int
    backoff_seconds: int
    lease_seconds: int


def _setting(app: Flask, key: str, env: str, default: Any = None) -> Any:
    if key in app.config:
        return app.config[key]
    return os.environ.get(env, default)


def load_config(app: Flask) -> NoticeConfig:
    """Notice settings: the app's config (NOTICE_*) first, then the environment (SANZI_*)."""
    production = bool(app.config.get("PRODUCTION"))
    file_default = None if production else str(Path(app.instance_path) / "notices-sent.log")
    return NoticeConfig(
        base_url=(app.config.get("PUBLIC_BASE_URL") or _setting(app, "NOTICE_BASE_URL", "SANZI_PUBLIC_BASE_URL",
                                                                 "http://127.0.0.1:5000")).rstrip("/"),
        smtp_host=_setting(app, "NOTICE_SMTP_HOST", "SANZI_SMTP_HOST") or None,
        smtp_port=int(_setting(app, "NOTICE_SMTP_PORT", "SANZI_SMTP_PORT", 25)),
        smtp_from=_setting(app, "NOTICE_SMTP_FROM", "SANZI_SMTP_FROM", "sanzi@localhost"),
        smtp_user=_setting(app, "NOTICE_SMTP_USER", "SANZI_SMTP_USER") or None,
        smtp_password=_setting(app, "NOTICE_SMTP_PASSWORD", "SANZI_SMTP_PASSWORD") or None,
        smtp_starttls=str(_setting(app, "NOTICE_SMTP_STARTTLS", "SANZI_SMTP_STARTTLS", "0")) in ("1", "True", "true"),
        sms_url=_setting(app, "NOTICE_SMS_URL", "SANZI_SMS_URL") or None,
        sms_token=_setting(app, "NOTICE_SMS_TOKEN", "SANZI_SMS_TOKEN") or None,
        sms_sign=_setting(app, "NOTICE_SMS_SIGN", "SANZI_SMS_SIGN", "三资网报"),
        wecom_url=_setting(app, "NOTICE_WECOM_URL", "SANZI_WECOM_URL", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"),
        dingtalk_url=_setting(app, "NOTICE_DINGTALK_URL", "SANZI_DINGTALK_URL", "https://oapi.dingtalk.com/robot/send"),
        # Robots post to the real WeCom/DingTalk hosts; outside production they go to the file unless
        # switched on (or pointed at a local endpoint, as the tests do).
        robots_on=production or str(_setting(app, "NOTICE_ROBOTS", "SANZI_NOTICE_ROBOTS", "0")) == "1",
        file_path=_setting(app, "NOTICE_FILE", "SANZI_NOTICE_FILE", file_default) or None,
        timeout=float(_setting(app, "NOTICE_SEND_TIMEOUT", "SANZI_NOTICE_SEND_TIMEOUT", 10)),
        max_attempts=int(_setting(app, "NOTICE_MAX_ATTEMPTS", "SANZI_NOTICE_MAX_ATTEMPTS", 5)),
        backoff_seconds=int(_setting(app, "NOTICE_BACKOFF_SECONDS", "SANZI_NOTICE_BACKOFF_SECONDS", 60)),
        lease_seconds=int(_setting(app, "NOTICE_LEASE_SECONDS", "SANZI_NOTICE_LEASE_SECONDS", 120)),
    )


# ---- HTTP ------------------------------------------------------------------------------------------------

def post_json(url: str, body: dict[str, Any], headers: dict[str, str], timeout: float) -> dict[str, Any]:
    """POST JSON; the answer's JSON. Network trouble, timeouts, 429 and 5xx are retryable; other 4xx not."""
    if not url.startswith(("https://", "http://")):
        raise SendError(f"not an http(s) URL: {url[:80]}", retryable=False)
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    req = urllib.request.Request(url, data=data, method="POST",  # noqa: S310 - http(s) only, checked above
                                 headers={"Content-Type": "application/json; charset=utf-8", **headers})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
            raw = resp.read(65536)
    except urllib.error.HTTPError as exc:
        detail = exc.read(500).decode("utf-8", "replace") if exc.fp else ""
        raise SendError(f"HTTP {exc.code} {detail}".strip(), retryable=exc.code == 429 or exc.code >= 500) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SendError(f"network: {reason}", retryable=True) from None
    try:
        answer = json.loads(raw.decode("utf-8") or "{}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise SendError("provider answered something that is not JSON", retryable=True) from None
    return answer if isinstance(answer, dict) else {}


# ---- adapters --------------------------------------------------------------------------------------------

class EmailAdapter:
    def __init__(self, config: NoticeConfig) -> None:
        self.config = config

    def send(self, to: Recipient, message: Message, dedupe_key: str) -> str:
        if not to.email:
            raise SendError("no e-mail address", retryable=False)
        cfg = self.config
        msg = EmailMessage()
        msg["From"] = cfg.smtp_from
        msg["To"] = to.email
        msg["Subject"] = message.subject
        msg["Date"] = formatdate(localtime=False)
        # The same delivery always has the same Message-ID: a mail system that sees it twice can drop one.
        msg["Message-ID"] = f"<{dedupe_key}@sanzi.notice>"
        msg["X-Sanzi-Dedupe-Key"] = dedupe_key
        msg.set_content(message.text + "\n")
        assert cfg.smtp_host
        try:
            with smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=cfg.timeout) as smtp:
                if cfg.smtp_starttls:
                    smtp.starttls()
                if cfg.smtp_user:
                    smtp.login(cfg.smtp_user, cfg.smtp_password or "")
                refused = smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            raise SendError(f"SMTP refused the address: {exc.recipients}", retryable=False) from None
        except smtplib.SMTPResponseException as exc:
            error = exc.smtp_error
            text = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
            raise SendError(f"SMTP {exc.smtp_code} {text}", retryable=exc.smtp_code < 500) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise SendError(f"SMTP: {exc}", retryable=True) from None
        if refused:
            raise SendError(f"SMTP refused: {refused}", retryable=False)
        return msg["Message-ID"]


class SmsAdapter:
    """The SMS provider interface (docs/notices.md): POST JSON {to, text, sign, idempotency_key} with the
    key also in the Idempotency-Key header; 2xx {"id": ...}. The same key twice is one SMS."""

    def __init__(self, config: NoticeConfig) -> None:
        self.config = config

    def send(self, to: Recipient, message: Message, dedupe_key: str) -> str:
        if not to.mobile:
            raise SendError("no mobile number", retryable=False)
        cfg = self.config
        assert cfg.sms_url
        headers = {"Idempotency-Key": dedupe_key}
        if cfg.sms_token:
            headers["Authorization"] = f"Bearer {cfg.sms_token}"
        answer = post_json(cfg.sms_url, {"to": to.mobile, "text": message.text, "sign": cfg.sms_sign,
                                         "idempotency_key": dedupe_key}, headers, cfg.timeout)
        return str(answer.get("id") or "")


# WeCom and DingTalk answer HTTP 200 with an errcode; these mean "busy, try later".
ROBOT_BUSY = {-1, 45009, 130101, 410100}


def _robot_answer(answer: dict[str, Any], who: str) -> str:
    code = answer.get("errcode", 0)
    if code in (0, "0"):
        return f"{who}:ok"
    raise SendError(f"{who} errcode {code} {answer.get('errmsg', '')}".strip(), retryable=code in ROBOT_BUSY)


class WeComAdapter:
    def __init__(self, config: NoticeConfig) -> None:
        self.config = config

    def send(self, to: Recipient, message: Message, dedupe_key: str) -> str:
        if not to.wecom_key:
            raise SendError("no WeCom robot key", retryable=False)
        url = f"{self.config.wecom_url}?{urllib.parse.urlencode({'key': to.wecom_key})}"
        text: dict[str, Any] = {"content": message.text}
        if to.mobile:
            text["mentioned_mobile_list"] = [to.mobile]
        return _robot_answer(post_json(url, {"msgtype": "text", "text": text}, {}, self.config.timeout), "wecom")


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's 加签: base64(HMAC-SHA256(secret, "timestamp\\nsecret"))."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class DingTalkAdapter:
    def __init__(self, config: NoticeConfig) -> None:
        self.config = config

    def send(self, to: Recipient, message: Message, dedupe_key: str) -> str:
        if not to.dingtalk_token:
            raise SendError("no DingTalk robot token", retryable=False)
        query = {"access_token": to.dingtalk_token}
        if to.dingtalk_secret:
            stamp = int(time.time() * 1000)
            query.update(timestamp=str(stamp), sign=dingtalk_sign(to.dingtalk_secret, stamp))
        url = f"{self.config.dingtalk_url}?{urllib.parse.urlencode(query)}"
        body: dict[str, Any] = {"msgtype": "text", "text": {"content": message.text}}
        if to.mobile:
            body["at"] = {"atMobiles": [to.mobile], "isAtAll": False}
        return _robot_answer(post_json(url, body, {}, self.config.timeout), "dingtalk")


class FileAdapter:
    """No provider for this channel (a laptop, the demo): one line per message in a file, and the dedupe
    key keeps a retry from writing it twice."""

    def __init__(self, path: str, channel: Channel) -> None:
        self.path = Path(path)
        self.channel = channel

    def send(self, to: Recipient, message: Message, dedupe_key: str) -> str:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists() and f"\t{dedupe_key}\t" in self.path.read_text(encoding="utf-8"):
            return f"file:{dedupe_key}"
        line = f"{datetime.now(UTC).isoformat()}\t{self.channel.value}\t{dedupe_key}\t{to.name}\t{message.text}\n"
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(line)
        return f"file:{dedupe_key}"


class Unconfigured:
    def __init__(self, channel: Channel) -> None:
        self.channel = channel

    def send(self, to: Recipient, message: Message, dedupe_key: str) -> str:
        raise SendError(f"{self.channel.value} is not configured on this server", retryable=False)


def adapter_for(channel: Channel, config: NoticeConfig) -> Adapter:
    real: dict[Channel, tuple[bool, Any]] = {
        Channel.EMAIL: (bool(config.smtp_host), EmailAdapter),
        Channel.SMS: (bool(config.sms_url), SmsAdapter),
        Channel.WECOM: (config.robots_on, WeComAdapter),
        Channel.DINGTALK: (config.robots_on, DingTalkAdapter),
    }
    configured, cls = real[channel]
    if configured:
        return cls(config)  # type: ignore[no-any-return]
    if config.file_path:
        return FileAdapter(config.file_path, channel)
    return Unconfigured(channel)

"""Local stand-ins for the outside world of notices: an SMTP server (aiosmtpd) that keeps what it is
sent, and an HTTP endpoint that plays an SMS provider or a WeCom/DingTalk group robot. Both listen on
127.0.0.1 only.

The fake SMS provider honours the Idempotency-Key header the way docs/notices.md requires: the same key
twice is one SMS. It can answer with a scripted status per request, and can hold a request open until
the test lets it go (to kill a worker in the middle of a send)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiosmtpd.controller import Controller


@dataclass
class Received:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def key(self) -> str | None:
        return self.headers.get("idempotency-key")


@dataclass
class FakeProvider:
    """What the endpoint got, and how it answers."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    delivered: dict[str, Received] = field(default_factory=dict)  # SMS actually "sent", by dedupe key
    statuses: list[int] = field(default_factory=list)  # answers to give, in order; then 200
    hold: threading.Event | None = None  # while set to an unset Event, requests wait on it ...
    holding: threading.Event = field(default_factory=threading.Event)  # ... and this says one is waiting
    hold_first: int = 0  # hold only the n-th request (1-based); 0: every request while `hold` is set
    delay_until_second: bool = False  # the first request waits until a second one arrives
    second_arrived: threading.Event = field(default_factory=threading.Event)
    robot_answer: dict[str, Any] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def sms(self) -> list[Received]:
        return list(self.delivered.values())

    def requests_for(self, key: str) -> list[Received]:
        return [r for r in self.requests if r.key == key]


def _handler(provider: FakeProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            parts = urlsplit(self.path)
            got = Received(parts.path, parse_qs(parts.query), {k.lower(): v for k, v in self.headers.items()},
                           json.loads(raw.decode("utf-8") or "{}"))
            with provider.lock:
                provider.requests.append(got)
                number = len(provider.requests)
                status = provider.statuses.pop(0) if provider.statuses else 200
            if provider.delay_until_second:
                if number == 1:
                    provider.second_arrived.wait(10)
                else:
                    provider.second_arrived.set()
            if status >= 400:
                self._answer(status, {"error": f"fake provider says {status}"})
                return
            first = None
            if parts.path.startswith("/sms"):  # the SMS goes out now: a retry with this key sends nothing
                with provider.lock:
                    first = provider.delivered.setdefault(got.key or f"nokey-{number}", got)
            if provider.hold is not None and (provider.hold_first in (0, number)):
                provider.holding.set()  # sent, but the answer is held back (a worker may die waiting)
                provider.hold.wait(30)
            if first is not None:
                self._answer(200, {"id": f"sms-{id(first)}"})
            else:
                self._answer(200, provider.robot_answer or {"errcode": 0, "errmsg": "ok"})

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client was killed while we held the request

    return Handler


def start_provider() -> tuple[FakeProvider, ThreadingHTTPServer]:
    provider = FakeProvider()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(provider))
    server.daemon_threads = True
    provider.url = f"http://127.0.0.1:{server.server_port}"
    threading.Thread(target=server.serve_forever, name="fake-provider", daemon=True).start()
    return provider, server


def provider_fixture() -> Iterator[FakeProvider]:
    provider, server = start_provider()
    try:
        yield provider
    finally:
        if provider.hold is not None:
            provider.hold.set()
        server.shutdown()
        server.server_close()


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


@dataclass
class SmtpSink:
    host: str
    port: int
    inbox: _Inbox

    @property
    def messages(self) -> list[Message]:
        return self.inbox.messages

    def to(self, address: str) -> list[Message]:
        return [m for m in self.inbox.messages if m["To"] == address]


def smtp_fixture() -> Iterator[SmtpSink]:
    inbox = _Inbox()
    with socket.socket() as probe:  # aiosmtpd's start() connects to its port to check it: pick a free one
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpSink("127.0.0.1", port, inbox)
    finally:
        controller.stop()


# ---- fixtures (imported by the notice test modules) -------------------------------------------------------

def mobile_of(index: int) -> str:
    return f"139{index:08d}"


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    yield from provider_fixture()


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    yield from smtp_fixture()


def point_channels_at(config: dict[str, Any], provider: FakeProvider, smtp: SmtpSink | None = None) -> dict[str, Any]:
    """The notice settings that send everything to the local fakes (for app.config or a subprocess)."""
    values: dict[str, Any] = {"NOTICE_SMS_URL": provider.url + "/sms", "NOTICE_WECOM_URL": provider.url + "/wecom",
                              "NOTICE_DINGTALK_URL": provider.url + "/dingtalk", "NOTICE_ROBOTS": "1",
                              "NOTICE_FILE": "", "NOTICE_BASE_URL": "https://sanzi.example.cn"}
    if smtp is not None:
        values.update(NOTICE_SMTP_HOST=smtp.host, NOTICE_SMTP_PORT=smtp.port)
    config.update(values)
    return values

"""`Idempotency-Key` on every POST of the API: the same key with the same request answers with the first
answer again, without acting; the same key with another request is refused (422); a key lives 24 hours.

The key's row is inserted, under a unique (user, key) constraint, in the very transaction of the action,
before the action runs. Two sends of one key at the same moment: on PostgreSQL the second insert waits on
the first's uncommitted row, and fails once it commits; the second send then reads the answer the first
stored and replays it. A refused action (4xx) rolls its key back with it: the client may correct and
send again under the same key. This is the API's form of the pages' replay key (`client_key`), which
stays as it is."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import timedelta

from flask import Request
from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from finance.api.models import IdempotencyKey
from finance.api.problems import Problem, ProblemType
from finance.db import utcnow
from finance.extensions import db

HEADER = "Idempotency-Key"
KEY_PATTERN = r"^[A-Za-z0-9_.:-]{8,128}$"
_KEY_RE = re.compile(KEY_PATTERN)
LIFETIME = timedelta(hours=24)


@dataclass(frozen=True)
class Stored:
    status: int
    body: str
    location: str | None


def read_key(request: Request) -> str:
    """The request's key, or a 400 naming the header when it is missing or malformed."""
    key = request.headers.get(HEADER, "")
    if not _KEY_RE.fullmatch(key):
        message = _("每个 POST 请求都须带 Idempotency-Key 头：8 到 128 个字母、数字或 _.:- 。")
        raise Problem(ProblemType.BAD_REQUEST, message, {HEADER: message})
    return key


def fingerprint(request: Request) -> str:
    """What makes two sends "the same request": method, path and body. A JSON body counts by its content
    (key order and spacing aside); a form with files by its fields and the files' SHA-256 (a multipart
    boundary differs between two sends of the same content)."""
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.path}\n".encode())
    if request.mimetype == "multipart/form-data":
        fields = sorted((k, v) for k, v in request.form.items(multi=True))
        files = []
        for name, upload in sorted(request.files.items(multi=True), key=lambda item: item[0]):
            position = upload.stream.tell()
            files.append((name, upload.filename or "", hashlib.sha256(upload.stream.read()).hexdigest()))
            upload.stream.seek(position)
        digest.update(json.dumps({"form": fields, "files": sorted(files)}, ensure_ascii=False).encode())
        return digest.hexdigest()
    raw = request.get_data(cache=True)
    try:
        parsed = json.loads(raw) if raw else None
        digest.update(json.dumps(parsed, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode())
    except ValueError:
        digest.update(raw)
    return digest.hexdigest()


def _existing(user_id: int, key: str) -> IdempotencyKey | None:
    return db.session.execute(
        select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key,
                                     IdempotencyKey.expires_at > utcnow())
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def _answer_of(row: IdempotencyKey, print_: str) -> Stored:
    if row.fingerprint != print_:
        raise Problem(ProblemType.IDEMPOTENCY_KEY_REUSED,
                      errors={HEADER: _("该键已用于内容不同的请求。")})
    if row.status is None or row.body is None:  # cannot be seen committed; a defence only
        raise Problem(ProblemType.CONFLICT, _("使用该 Idempotency-Key 的请求正在处理，请稍后重试。"))
    return Stored(row.status, row.body, row.location)


def claim(user_id: int, key: str, print_: str) -> IdempotencyKey | Stored:
    """Claim `key` for this request in the current transaction: the new row (the caller acts, then
    `settle`s it), or the stored answer of the earlier send of the same request (the caller replays it,
    acting on nothing). A different request under the key is a 422."""
    if (row := _existing(user_id, key)) is not None:
        return _answer_of(row, print_)
    now = utcnow()
    # An expired key of this user may be used again: its old row goes (in this same transaction).
    db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key,
                                                   IdempotencyKey.expires_at <= now))
    row = IdempotencyKey(user_id=user_id, key=key, fingerprint=print_, created_at=now, expires_at=now + LIFETIME)
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()  # PostgreSQL: waits here while another send of the key is uncommitted
    except IntegrityError:
        won = _existing(user_id, key)
        if won is None:  # it was rolled back (refused): nothing to replay, the client may send again
            raise Problem(ProblemType.CONFLICT, _("使用该 Idempotency-Key 的请求正在处理，请稍后重试。")) from None
        return _answer_of(won, print_)
    return row


def settle(row: IdempotencyKey, status: int, body: str, location: str | None) -> None:
    """Store the answer with the key (committed with the action)."""
    row.status, row.body, row.location = status, body, location
    db.session.flush()


def purge_expired() -> int:
    """Delete the keys that have expired (a maintenance command); returns how many."""
    result = db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at <= utcnow()))
    return int(getattr(result, "rowcount", 0) or 0)

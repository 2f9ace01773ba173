"""Bulk imports through /api/v1 (docs/api.md, EXCHANGE.md): POST a file of one format and get what it did
(or every problem, each with its line and column); GET an earlier import's result. The same run as the
page (`finance.imports.views.run_upload`): the same services, checks, events and limits."""

from __future__ import annotations

from typing import Literal

from flask_login import current_user

from finance.api.framework import OneTime, api
from finance.api.schemas import Out, Schema, Time
from finance.errors import Forbidden, NotFound
from finance.imports import queries
from finance.imports.services import Outcome, kinds_for
from finance.imports.views import run_upload
from finance.permissions import Permission

TAG = api.tag("imports", "批量导入")
Kind = Literal["subjects", "org-units", "people", "register", "history", "members"]


class ImportIn(Schema):
    kind: Kind


class ActivationOut(Out):
    username: str
    name: str
    code: str
    link: str


class ImportOut(Out):
    batch_id: int | None  # null when the file changed nothing
    kind: str
    file: str
    sha256: str
    lines: int
    added: int
    updated: int
    unchanged: int
    changed: bool
    message: str
    activations: list[ActivationOut]  # imported people's one-time links: shown in this answer only


class ImportRecordOut(Out):
    id: int
    kind: str
    file: str
    sha256: str
    lines: int
    added: int
    updated: int
    unchanged: int
    via: str
    created_at: Time


def _out(outcome: Outcome) -> ImportOut:
    return ImportOut(batch_id=outcome.batch_id, kind=outcome.kind, file=outcome.file, sha256=outcome.sha256,
                     lines=outcome.lines, added=outcome.added, updated=outcome.updated, unchanged=outcome.unchanged,
                     changed=outcome.changed, message=outcome.message(),
                     activations=[ActivationOut(**s) for s in outcome.secrets])


@api.operation("POST", "/imports", summary="批量导入一个文件", tag=TAG, form=ImportIn, files=("file",),
               response=ImportOut, errors=(403, 409),
               description="kind 为 EXCHANGE.md 的格式之一；整个文件要么全部导入，要么一条也不导入"
                           "（422，逐条列出行与列）；同一文件再导入一次不会重复（changed 为 false）。"
                           "导入人员时答复含一次性激活码：不随 Idempotency-Key 保存，同一个键再发一次得到 409。")
def import_file(form: ImportIn, files: dict[str, list[tuple[str, bytes]]]) -> ImportOut | OneTime:
    if not kinds_for(current_user):
        raise Forbidden(Permission.IMPORT_RUN)  # a user who imports nothing (the page is not there for them)
    filename, data = files["file"][0]
    outcome = run_upload(form.kind, data, filename, "api")
    # Activation codes are shown in this answer only: not kept with the Idempotency-Key (the same key again
    # is a 409; GET /imports/{batch_id} gives the counts, the admin API a new code for a person).
    return OneTime(_out(outcome)) if outcome.secrets else _out(outcome)


@api.operation("GET", "/imports/<int:batch_id>", summary="一次导入的结果", tag=TAG, response=ImportRecordOut)
def get_import(batch_id: int) -> ImportRecordOut:
    batch = queries.batch(batch_id)
    everyone = "subjects" in kinds_for(current_user)  # the district admin sees every import
    if batch is None or not kinds_for(current_user) or (not everyone and batch.by_id != current_user.id):
        raise NotFound(batch_id)
    return ImportRecordOut(id=batch.id, kind=batch.kind, file=batch.filename, sha256=batch.sha256, lines=batch.lines,
                           added=batch.added, updated=batch.updated, unchanged=batch.unchanged, via=batch.via,
                           created_at=batch.created_at)

"""EXCHANGE.md §4: payment history from an earlier system. `flask --app finance import history FILE.jsonl`.

JSON Lines, one payment or receipt a line. History is imported as it happened, even where today's rules
would refuse it (a payer account that is not the village's, an invoice number used before, a payee ID
with a bad check digit, a business paid on a receipt, amounts split under a band): the risk flags find
those afterwards. Only what cannot be read is refused: a missing required field, an unreadable amount or
time, an unknown village or subject, an attachment file that is missing or not a photo or PDF, one number
twice with different content. Key: the earlier system's number. A line already imported (same number,
same content) adds nothing; the same number with other content is refused.

Files named in `attachments` are paths relative to the JSONL file (`base`), or members of the .zip that
holds the JSONL file (an upload through the page or the API)."""

from __future__ import annotations

import io
import posixpath
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from flask_babel import gettext as _
from sqlalchemy import select

from finance import storage
from finance.attachment_kinds import AttachmentKind
from finance.auth.models import User
from finance.controls.normalise import normalise_account, normalise_id_number
from finance.extensions import db
from finance.imports.reader import DEFAULT_MAX_BYTES, MAX_PROBLEMS, ImportFileError, JsonLines, Line, read_jsonl
from finance.imports.services import Outcome, finish, may_import, serialise, start_batch
from finance.orgs.models import AccountSubject, OrgUnit
from finance.payment_requests import history
from finance.payment_requests.models import MAX_LENGTH
from finance.roles import OrgKind, role_from_text

KIND = "history"
class Opener:
    """The files named in `attachments`: whether one is there, and its bytes."""

    def __init__(self, read: Callable[[str], bytes | None], exists: Callable[[str], bool]) -> None:
        self.read, self.exists = read, exists


def folder_opener(base: Path) -> Opener:
    """Files relative to the JSONL file's folder; nothing outside it."""
    root = base.resolve()

    def resolve(name: str) -> Path | None:
        path = (root / name).resolve()
        return path if path.is_relative_to(root) and path.is_file() else None

    def read(name: str) -> bytes | None:
        path = resolve(name)
        return path.read_bytes() if path is not None else None

    return Opener(read, lambda name: resolve(name) is not None)


def _zip_contents(data: bytes, filename: str) -> tuple[bytes, str, Opener]:
    """The JSONL file inside an uploaded .zip, and an opener for the other members."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ImportFileError.one(filename, None, None, _("无法读取这个 zip 文件。")) from None
    names = [n for n in archive.namelist() if n.lower().endswith(".jsonl") and not n.startswith("__MACOSX")]
    if len(names) != 1:
        raise ImportFileError.one(filename, None, None, _("zip 文件中应有且只有一个 .jsonl 文件，现在有 %(n)d 个。",
                                                          n=len(names)))
    folder = posixpath.dirname(names[0])
    members = set(archive.namelist())

    def member(name: str) -> str | None:
        path = posixpath.normpath(posixpath.join(folder, name))
        return None if path.startswith("../") or path not in members else path

    def read(name: str) -> bytes | None:
        path = member(name)
        return archive.read(path) if path is not None else None

    return archive.read(names[0]), posixpath.basename(names[0]), Opener(read, lambda name: member(name) is not None)


T = TypeVar("T")


def _must(value: T | None) -> T:
    """A value read as required (the reader raised when it was missing)."""
    assert value is not None
    return value


def _village(lines: JsonLines, line: Line, villages: dict[str, OrgUnit], by: User | None) -> OrgUnit:
    code = lines.text(line, "village", required=True).upper()
    village = villages.get(code)
    if village is None:
        raise lines.error(line, "village", _("村 %(code)s 不存在（请先导入组织单位）。", code=code))
    if not may_import(by, KIND, village):
        raise lines.error(line, "village", _("单位 %(code)s 不在您的管辖范围内。", code=code))
    return village


def _payment(lines: JsonLines, line: Line, villages: dict[str, OrgUnit], subjects: dict[str, AccountSubject],
             opener: Opener | None, by: User | None
             ) -> tuple[history.HistoryPayment, list[tuple[int, AttachmentKind, str]]]:
    village = _village(lines, line, villages, by)
    number = lines.text(line, "number", required=True, max_length=32)
    subject = None
    if code := lines.text(line, "subject"):
        subject = subjects.get(code)
        if subject is None:
            raise lines.error(line, "subject", _("科目 %(code)s 不在科目表中（请先导入科目表）。", code=code))
    approvals = []
    for i, item in enumerate(lines.items(line, "approvals")):
        sub = Line(line.number, item, line.sha256)
        where = f"approvals[{i}]"
        role_text = lines.text(sub, "role", max_length=32)
        try:
            at = lines.time(sub, "at", required=False)
        except ImportFileError as exc:
            raise lines.error(line, f"{where}.at", exc.message) from None
        approvals.append(history.Approval(role_from_text(role_text) if role_text else None, role_text,
                                          lines.text(sub, "name", max_length=64), at))
    invoices = []
    for i, item in enumerate(lines.items(line, "invoices")):
        sub = Line(line.number, item, line.sha256)
        where = f"invoices[{i}]"
        try:
            raw_number = "".join(lines.text(sub, "number", required=True).split())
            if len(raw_number) > 20:
                raise lines.error(sub, "number", _("发票号码最多 20 位。"))
            invoice = history.Invoice(
                number=raw_number, code=lines.text(sub, "code", max_length=12) or None,
                invoice_date=_must(lines.date(sub, "date")),
                seller=lines.text(sub, "seller", required=True, max_length=100),
                amount=_must(lines.amount(sub, "amount")))
        except ImportFileError as exc:
            raise lines.error(line, f"{where}.{exc.column}", exc.message) from None
        invoices.append(invoice)
    wanted: list[tuple[int, AttachmentKind, str]] = []
    for i, item in enumerate(lines.items(line, "attachments")):
        sub = Line(line.number, item, line.sha256)
        where = f"attachments[{i}]"
        kind = AttachmentKind.parse(lines.text(sub, "kind", required=True))
        if kind is None:
            raise lines.error(line, f"{where}.kind", _("附件类型“%(kind)s”不认识。", kind=str(item.get("kind"))[:20]))
        name = lines.text(sub, "file", required=True, max_length=300)
        if opener is None:
            message = _("无法读取附件文件：请把 .jsonl 和附件一起打包成 zip 上传，或用命令导入。")
            raise lines.error(line, f"{where}.file", message)
        if not opener.exists(name):
            raise lines.error(line, f"{where}.file", _("找不到文件 %(name)s（路径相对于 .jsonl 文件）。", name=name))
        wanted.append((i, kind, name))
    id_number = normalise_id_number(lines.text(line, "payee_id_number")) or None
    if id_number and len(id_number) > 32:
        raise lines.error(line, "payee_id_number", _("最多 %(n)d 个字。", n=32))
    payer = lines.text(line, "payer_account", max_length=60)
    return history.HistoryPayment(
        village=village, number=number, requester_name=lines.text(line, "requester", max_length=64),
        submitted_at=_must(lines.time(line, "submitted_at")),
        payee_name=lines.text(line, "payee_name", required=True, max_length=MAX_LENGTH["payee_name"]),
        payee_bank=lines.text(line, "payee_bank", max_length=MAX_LENGTH["payee_bank"]),
        payee_account=lines.text(line, "payee_account", max_length=MAX_LENGTH["payee_account"]),
        payee_id_number=id_number, amount=_must(lines.amount(line, "amount")),
        purpose=lines.text(line, "purpose", max_length=MAX_LENGTH["purpose"]), subject=subject,
        fund_source=lines.text(line, "fund_source", max_length=MAX_LENGTH["fund_source"]),
        paid_at=lines.time(line, "paid_at", required=False),
        bank_reference=lines.text(line, "bank_reference", max_length=64),
        payer_account=(normalise_account(payer) or payer)[:40], line_sha256=line.sha256,
        approvals=approvals, invoices=invoices), wanted


def _store_files(lines: JsonLines, line: Line, opener: Opener, wanted: list[tuple[int, AttachmentKind, str]]
                 ) -> list[history.File]:
    """The attachment files of a line, stored (by SHA-256); an ImportFileError names a missing or refused one.
    Called once the whole file has read without a problem."""
    files = []
    for i, kind, name in wanted:
        where = f"attachments[{i}]"
        data = opener.read(name)
        if data is None:
            raise lines.error(line, f"{where}.file", _("找不到文件 %(name)s（路径相对于 .jsonl 文件）。", name=name))
        try:
            stored = storage.save(data)
        except storage.StorageError as exc:
            raise lines.error(line, f"{where}.file", f"{name}：{exc}") from None
        files.append(history.File(kind, posixpath.basename(name), stored))
    return files


def _receipt(lines: JsonLines, line: Line, villages: dict[str, OrgUnit], by: User | None
             ) -> history.HistoryIncome:
    village = _village(lines, line, villages, by)
    payer = lines.text(line, "payer_account", max_length=60)
    account = lines.text(line, "account", max_length=60)
    return history.HistoryIncome(
        village=village, number=lines.text(line, "number", required=True, max_length=32),
        received_at=_must(lines.time(line, "received_at")),
        payer_name=lines.text(line, "payer_name", required=True, max_length=100),
        payer_account=(normalise_account(payer) or payer)[:40], amount=_must(lines.amount(line, "amount")),
        type=lines.text(line, "type", max_length=50), receipt_number=lines.text(line, "receipt_number", max_length=40),
        account=(normalise_account(account) or account)[:40], line_sha256=line.sha256)


def run(data: bytes, filename: str, *, by: User | None = None, via: str = "cli", base: Path | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES) -> Outcome:
    opener: Opener | None = folder_opener(base) if base is not None else None
    if data[:4] == b"PK\x03\x04":
        data, filename, opener = _zip_contents(data, filename)
    lines = read_jsonl(data, filename, max_bytes=max_bytes)
    serialise(KIND)
    villages = {u.code: u for u in db.session.execute(
        select(OrgUnit).where(OrgUnit.kind == OrgKind.VILLAGE)).scalars()}
    subjects = {s.code: s for s in db.session.execute(select(AccountSubject)).scalars()}
    outcome = Outcome(KIND, lines.file, lines.sha256, lines.line_count)

    # first pass: what each line is, which are new, and every problem (nothing is written yet)
    problems = []
    first: dict[tuple[str, str], Line] = {}
    fresh: list[tuple[str, Line]] = []
    for line in lines.lines:
        kind = line.data.get("kind")
        if kind not in ("payment", "receipt"):
            problems.append(lines.problem(line, "kind", _("应为 payment 或 receipt。")))
            continue
        try:
            number = lines.text(line, "number", required=True, max_length=32)
        except ImportFileError as exc:
            problems.extend(exc.problems)
            continue
        key = (str(kind), number)
        if key in first:
            if first[key].sha256 != line.sha256:
                problems.append(lines.problem(line, "number", _("编号 %(number)s 与第 %(row)d 行相同，内容却不同。",
                                                                number=number, row=first[key].number)))
            else:
                outcome.unchanged += 1
            continue
        first[key] = line
        fresh.append((str(kind), line))
        if len(problems) >= MAX_PROBLEMS:
            break
    known_payments = history.existing_payments(n for (k, n) in first if k == "payment")
    known_receipts = history.existing_receipts(n for (k, n) in first if k == "receipt")
    new: list[tuple[str, Line]] = []
    for kind, line in fresh:
        number = str(line.data["number"]).strip()
        if kind == "payment" and number in known_payments:
            imported, sha = known_payments[number]
            if not imported:
                message = _("编号 %(number)s 已被本系统中的申请使用。", number=number)
                problems.append(lines.problem(line, "number", message))
            elif sha != line.sha256:
                problems.append(lines.problem(line, "number", _("编号 %(number)s 此前已导入，内容与这一行不同。",
                                                                number=number)))
            else:
                outcome.unchanged += 1
            continue
        if kind == "receipt" and number in known_receipts:
            if known_receipts[number] != line.sha256:
                problems.append(lines.problem(line, "number", _("编号 %(number)s 此前已导入，内容与这一行不同。",
                                                                number=number)))
            else:
                outcome.unchanged += 1
            continue
        new.append((kind, line))
    # second pass: read every new line; then the attachment files, once every line has read
    payments: list[history.HistoryPayment] = []
    receipts: list[history.HistoryIncome] = []
    pending: list[tuple[history.HistoryPayment, Line, list[tuple[int, AttachmentKind, str]]]] = []
    for kind, line in new:
        try:
            if kind == "payment":
                payment, wanted = _payment(lines, line, villages, subjects, opener, by)
                payments.append(payment)
                if wanted:
                    pending.append((payment, line, wanted))
            else:
                receipts.append(_receipt(lines, line, villages, by))
        except ImportFileError as exc:
            problems.extend(exc.problems)
        if len(problems) >= MAX_PROBLEMS:
            break
    for payment, line, wanted in pending:
        if problems or opener is None:
            break
        try:
            payment.files = _store_files(lines, line, opener, wanted)
        except ImportFileError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ImportFileError(problems[:MAX_PROBLEMS])
    batch = start_batch(KIND, lines.file, lines.sha256, lines.line_count, by, via) if new else None
    batch_id = batch.id if batch else None
    outcome.added = history.import_payments(payments, batch_id=batch_id, by=by) + \
        history.import_receipts(receipts, batch_id=batch_id, by=by)
    outcome.details = {"payments": len(payments), "receipts": len(receipts)}
    return finish(outcome, by, batch, via=via)

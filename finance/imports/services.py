"""What every import shares once its format module has done its work: the outcome (what was added,
changed and left as it was), the import's one audit event (file SHA-256, line count) and its
`ImportBatch` row. A file that changes nothing writes nothing and says so: importing the same file
twice is idempotent."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select, text

from finance import trail
from finance.auth.models import User
from finance.extensions import db
from finance.imports.models import ImportBatch
from finance.orgs.models import OrgUnit
from finance.permissions import Permission, can
from finance.roles import Role
from finance.trail import AuditAction, AuditSubject

KINDS = ("subjects", "org-units", "people", "register", "history", "members")
# Who may import what, over the units their role covers: the district admin everything; the township's
# agency reviewer (三资代理中心) the history and member rolls of its villages.
KIND_ROLES: dict[str, frozenset[Role]] = {
    "subjects": frozenset({Role.ADMIN}), "org-units": frozenset({Role.ADMIN}), "people": frozenset({Role.ADMIN}),
    "register": frozenset({Role.ADMIN}), "history": frozenset({Role.ADMIN, Role.AGENCY_REVIEWER}),
    "members": frozenset({Role.ADMIN, Role.AGENCY_REVIEWER}),
}


def kinds_for(user: Any) -> list[str]:
    """The kinds `user` may import somewhere (the page's choices)."""
    if not can(user, Permission.IMPORT_RUN):
        return []
    held = {a.role for a in user.assignments}
    return [kind for kind in KINDS if held & KIND_ROLES[kind]]


def may_import(user: User | None, kind: str, unit: OrgUnit | None) -> bool:
    """May `user` import records of `kind` for `unit` (None: the district-wide chart)? None as the user is
    the command line, which may do anything."""
    if user is None:
        return True
    allowed = can(user, Permission.IMPORT_RUN, unit) if unit is not None else can(user, Permission.IMPORT_RUN)
    if not allowed:
        return False
    return any(a.role in KIND_ROLES[kind] and (unit is None or a.org_unit.covers(unit)) for a in user.assignments)


@dataclass
class Outcome:
    """What an import did. `secrets` holds what must be handed over once and is never stored in clear (the
    activation links of imported people)."""

    kind: str
    file: str
    sha256: str
    lines: int
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    details: dict[str, int] = field(default_factory=dict)
    batch_id: int | None = None
    previous: ImportBatch | None = None
    secrets: list[dict[str, str]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated)

    def message(self) -> str:
        if not self.changed:
            if self.previous is not None:
                return _("%(file)s：没有新内容，什么也没有改变（同一文件已于 %(at)s 导入过，SHA-256 %(sha)s…）。",
                         file=self.file, at=f"{self.previous.created_at:%Y-%m-%d %H:%M} UTC",
                         sha=self.sha256[:12])
            return _("%(file)s：没有新内容，什么也没有改变（%(n)d 条记录与系统中的一致）。", file=self.file,
                     n=self.unchanged)
        return _("%(file)s：已导入，新增 %(added)d 条，更新 %(updated)d 条，未变 %(unchanged)d 条（共 %(lines)d 行）。",
                 file=self.file, added=self.added, updated=self.updated, unchanged=self.unchanged, lines=self.lines)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "file": self.file, "sha256": self.sha256, "lines": self.lines,
                "added": self.added, "updated": self.updated, "unchanged": self.unchanged,
                "details": self.details, "batch_id": self.batch_id, "changed": self.changed,
                "message": self.message()}


def serialise(kind: str) -> None:
    """Let one import of `kind` run at a time (a transaction-scoped advisory lock on PostgreSQL; SQLite's
    write lock, taken at BEGIN, already does): a second import of the same file, started while the first
    runs, waits and then finds everything there, so nothing is written twice."""
    if db.session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"sanzi-import:{kind}".encode()).digest()[:8], "big", signed=True)
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def start_batch(kind: str, file: str, sha256: str, lines: int, by: User | None, via: str = "cli") -> ImportBatch:
    """The batch row, flushed for its id (history rows point at it); `finish` fills in its counts or,
    when nothing changed, removes it again."""
    batch = ImportBatch(kind=kind, filename=file[-200:], sha256=sha256, lines=lines, by_id=by.id if by else None,
                        via=via)
    db.session.add(batch)
    db.session.flush()
    return batch


def finish(outcome: Outcome, by: User | None, batch: ImportBatch | None = None, via: str = "cli") -> Outcome:
    """Close an import: when it changed something, the batch row and the import's audit event on the system
    chain; when not, nothing is written and the outcome names the earlier import of the same file."""
    if not outcome.changed:
        if batch is not None:
            db.session.delete(batch)
            db.session.flush()
        outcome.previous = db.session.execute(
            select(ImportBatch).where(ImportBatch.kind == outcome.kind, ImportBatch.sha256 == outcome.sha256)
            .order_by(ImportBatch.id.desc()).limit(1)
        ).scalar_one_or_none()
        return outcome
    if batch is None:
        batch = start_batch(outcome.kind, outcome.file, outcome.sha256, outcome.lines, by, via)
    batch.added, batch.updated, batch.unchanged = outcome.added, outcome.updated, outcome.unchanged
    batch.summary = json.dumps(outcome.details, ensure_ascii=False, sort_keys=True)
    outcome.batch_id = batch.id
    trail.record(village=None, user=by, role=Role.ADMIN if by else None, action=AuditAction.IMPORT,
                 subject_type=AuditSubject.IMPORT_BATCH, subject_id=batch.id,
                 after={"kind": outcome.kind, "file": outcome.file, "sha256": outcome.sha256, "lines": outcome.lines,
                        "added": outcome.added, "updated": outcome.updated, "unchanged": outcome.unchanged,
                        "via": via})
    db.session.flush()
    return outcome

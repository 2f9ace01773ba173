"""Reads for the import page: the recent imports a user may see."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from finance.extensions import db
from finance.imports.models import ImportBatch


def recent_imports(user: Any, limit: int = 20, *, all_of_them: bool = False) -> list[ImportBatch]:
    """The newest imports: every one for the district admin (`all_of_them`), else the user's own."""
    stmt = select(ImportBatch).order_by(ImportBatch.id.desc()).limit(limit)
    if not all_of_them:
        stmt = stmt.where(ImportBatch.by_id == user.id)
    return list(db.session.execute(stmt).scalars())


def batch(batch_id: int) -> ImportBatch | None:
    return db.session.get(ImportBatch, batch_id)

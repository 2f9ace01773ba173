"""Shared by the tests/test_imports_*.py files: running an import command, counting events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from audit.models import Event
from finance.imports.models import ImportBatch


def run(app: Any, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=list(args))


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def events(db: Any, action: str | None = None, chain: str | None = None) -> int:
    stmt = select(func.count(Event.id))
    if action:
        stmt = stmt.where(Event.action == action)
    if chain:
        stmt = stmt.where(Event.chain_id == chain)
    return int(db.execute(stmt).scalar_one())


def batches(db: Any, kind: str) -> list[ImportBatch]:
    return list(db.execute(select(ImportBatch).where(ImportBatch.kind == kind).order_by(ImportBatch.id)).scalars())

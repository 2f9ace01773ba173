from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from finance.db import Base, UTCDateTime, str_enum, utcnow
from finance.roles import OrgKind


class OrgUnit(Base):
    """A district, township or village. `path` ("/1/4/9/") makes "this unit and everything under it"
    one indexed prefix match."""

    __tablename__ = "org_unit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[OrgKind] = mapped_column(str_enum(OrgKind, 16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    path: Mapped[str] = mapped_column(String(255), index=True, default="")
    bank_name: Mapped[str | None] = mapped_column(String(100))
    bank_account: Mapped[str | None] = mapped_column(String(40))
    bank_account_name: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    parent: Mapped[OrgUnit | None] = relationship(remote_side=[id])

    def covers(self, other: OrgUnit) -> bool:
        return other.path.startswith(self.path)

    @property
    def township(self) -> OrgUnit | None:
        unit: OrgUnit | None = self
        while unit is not None and unit.kind != OrgKind.TOWNSHIP:
            unit = unit.parent
        return unit

    def __repr__(self) -> str:
        return f"<OrgUnit {self.code} {self.name}>"


class AccountSubject(Base):
    """A line of the village collective accounting chart (会计科目)."""

    __tablename__ = "account_subject"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

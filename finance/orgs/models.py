from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from finance.db import Base, UTCDateTime, str_enum, utcnow
from finance.roles import OrgKind, head_title


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
    # What a township calls itself (乡 / 镇 / 街道, EXCHANGE.md §1): the title of its head role follows it.
    level_name: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    parent: Mapped[OrgUnit | None] = relationship(remote_side=[id])

    @property
    def head_title(self) -> str:
        """The title of the unit's head (乡长, 镇长, 街道主任): finance.roles.head_title."""
        return head_title(self.name, self.level_name)

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


class SubjectCategory(StrEnum):
    """The five classes of the village collective chart (EXCHANGE.md §0 类别)."""

    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    COST = "cost"
    PROFIT_LOSS = "profit_loss"

    @property
    def label(self) -> str:
        return str(SUBJECT_CATEGORY_LABELS[self])


SUBJECT_CATEGORY_LABELS = {
    SubjectCategory.ASSET: _l("资产"), SubjectCategory.LIABILITY: _l("负债"), SubjectCategory.EQUITY: _l("所有者权益"),
    SubjectCategory.COST: _l("成本"), SubjectCategory.PROFIT_LOSS: _l("损益"),
}


class AccountSubject(Base):
    """A line of the village collective accounting chart (会计科目): a first-level subject, or a 明细科目
    whose code extends its parent's (541 -> 541001)."""

    __tablename__ = "account_subject"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    category: Mapped[SubjectCategory | None] = mapped_column(str_enum(SubjectCategory, 16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("account_subject.id"))

    parent: Mapped[AccountSubject | None] = relationship(remote_side=[id])


class MemberStatus(StrEnum):
    """A member's standing on the roll (EXCHANGE.md §5b 状态)."""

    ON_ROLL = "on_roll"  # 在册
    MOVED_OUT = "moved_out"  # 迁出
    DECEASED = "deceased"  # 死亡

    @property
    def label(self) -> str:
        return str(MEMBER_STATUS_LABELS[self])


MEMBER_STATUS_LABELS = {MemberStatus.ON_ROLL: _l("在册"), MemberStatus.MOVED_OUT: _l("迁出"),
                        MemberStatus.DECEASED: _l("死亡")}


class Member(Base):
    """A member of a village collective (成员名册, EXCHANGE.md §5b), keyed by village and 身份证号. The
    payee lists of 分红 and 补贴 payments are checked against it (`finance.orgs.queries.member_standing`).
    Written only by `finance.orgs.services.save_members`."""

    __tablename__ = "village_member"
    __table_args__ = (
        UniqueConstraint("village_id", "id_number", name="uq_village_member"),
        Index("ix_village_member_name", "village_id", "name_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    name_key: Mapped[str] = mapped_column(String(64))  # finance.controls.normalise.name_key
    id_number: Mapped[str] = mapped_column(String(18), index=True)
    status: Mapped[MemberStatus] = mapped_column(str_enum(MemberStatus, 16))
    status_date: Mapped[date | None] = mapped_column(Date)  # when they moved out or died
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

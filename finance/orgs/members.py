"""Reads of the member roll (成员名册, EXCHANGE.md §5b) for the checks of 补贴 and 分红 payments (the risk
flags of issue 12 and any control). Written only by `finance.orgs.services.save_members`.

    roll = Roll.of([village.id for village in villages])          # one query for many payments
    standing = roll.standing(village_id, payee_name, payee_id_number, on=payment_date)
    if standing.status in ("not_on_roll", "deceased", "moved_out"): ...   # a finding

or, for a single payment, `member_standing(village_id, name, id_number, on)`.

How a payee is found: by 身份证号 when the payment has one (normalised, not checksum-checked: history keeps
what was written); else by name (`controls.normalise.name_key`), which in a village where many share a
name can only say "some member of that name": several matches where any was on the roll count as on the
roll (`ambiguous` is then True). A member who moved out or died counts as such only from the date
recorded: paid before that date, they were on the roll."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from sqlalchemy import select

from finance.controls.normalise import name_key, normalise_id_number
from finance.extensions import db
from finance.orgs.models import Member, MemberStatus

Status = Literal["on_roll", "not_on_roll", "moved_out", "deceased", "no_roll"]


@dataclass(frozen=True)
class Standing:
    """Where a payee stood on the village's roll on a day. `status`: on_roll, not_on_roll (the village has a
    roll and the payee is not on it), moved_out / deceased (before that day, `since` says when), or no_roll
    (the village has no roll loaded: nothing can be said). `member` is the matching line, if any."""

    status: Status
    member: Member | None = None
    since: date | None = None
    ambiguous: bool = False


@dataclass
class Roll:
    """The rolls of some villages, loaded once (one query) for checking many payments."""

    by_id: dict[tuple[int, str], Member] = field(default_factory=dict)
    by_name: dict[tuple[int, str], list[Member]] = field(default_factory=lambda: defaultdict(list))
    villages: set[int] = field(default_factory=set)

    @classmethod
    def of(cls, village_ids: Iterable[int]) -> Roll:
        roll = cls()
        ids = list(set(village_ids))
        for start in range(0, len(ids), 1000):
            for m in db.session.execute(select(Member).where(Member.village_id.in_(ids[start:start + 1000]))).scalars():
                roll.by_id[(m.village_id, m.id_number)] = m
                roll.by_name[(m.village_id, m.name_key)].append(m)
                roll.villages.add(m.village_id)
        return roll

    def standing(self, village_id: int, name: str | None, id_number: str | None, on: date) -> Standing:
        if village_id not in self.villages:
            return Standing("no_roll")
        key = normalise_id_number(id_number)
        if key:
            member = self.by_id.get((village_id, key))
            return _standing(member, on) if member is not None else Standing("not_on_roll")
        found = self.by_name.get((village_id, name_key(name)), [])
        if not found:
            return Standing("not_on_roll")
        results = [_standing(m, on) for m in found]
        best = next((r for r in results if r.status == "on_roll"), results[0])
        return Standing(best.status, best.member, best.since, ambiguous=len(found) > 1)


def _standing(member: Member, on: date) -> Standing:
    if member.status == MemberStatus.ON_ROLL or member.status_date is None or member.status_date > on:
        return Standing("on_roll", member)
    status: Status = "deceased" if member.status == MemberStatus.DECEASED else "moved_out"
    return Standing(status, member, member.status_date)


def member_standing(village_id: int, name: str | None, id_number: str | None, on: date) -> Standing:
    """`Roll.of([village_id]).standing(...)`, for one payment."""
    return Roll.of([village_id]).standing(village_id, name, id_number, on)

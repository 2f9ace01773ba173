"""fast_approval: a chain of at least two steps approved in under a minute from submission.

Signal: in the request's latest round, the last approval comes less than `fast_seconds` after the
submission, with at least `fast_min_steps` approvals. Yellow: context for the liaison, not proof."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _

from finance.flags.data import Data
from finance.flags.engine import Detector, Finding, request_evidence
from finance.flags.models import Colour, FlagType


def detect(data: Data) -> Iterable[Finding]:
    for r in data.focused():
        rules = data.rules(r.village_id)
        approvals = data.approvals(r.id)
        if len(approvals) < rules.fast_min_steps:
            continue
        latest = max(a.round for a in approvals)
        this_round = sorted((a for a in approvals if a.round == latest), key=lambda a: a.at)
        submits = sorted(data.submits(r.id))
        start = next((s for s in reversed(submits) if s <= this_round[0].at), r.at)
        if len(this_round) < rules.fast_min_steps:
            continue
        seconds = (this_round[-1].at - start).total_seconds()
        if seconds >= rules.fast_seconds:
            continue
        yield Finding(FlagType.FAST_APPROVAL, Colour.YELLOW, r.village_id, f"fast_approval:{r.id}:{latest}",
                      _("%(n)d 级审批在提交后 %(s)d 秒内全部完成", n=len(this_round), s=int(seconds)),
                      [r], {"requests": [request_evidence(r)], "seconds": int(seconds),
                            "approvals": [{"role": a.role, "actor": data.user_name(a.actor_id),
                                           "at": a.at.isoformat()} for a in this_round]},
                      amount=r.amount, occurred_at=this_round[-1].at)


DETECTOR = Detector(FlagType.FAST_APPROVAL, "一个申请的多级审批在提交后一分钟内全部完成。", detect)

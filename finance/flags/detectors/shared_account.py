"""shared_account: one bank account under several payee names.

Signal: counted requests anywhere in the district whose normalised payee account (normalise_account) is
the same while their payee names differ (name_key, and neither name inside the other, so 宏达建材 and
濮阳市华龙区宏达建材商店 are one payee). One supplier serving twenty villages under its one name is not
flagged; a village's own account is not a payee. Red."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _

from finance.flags.data import Data, Req, fellows_by_account
from finance.flags.detectors.common import same_name
from finance.flags.engine import Detector, Finding, request_evidence, total
from finance.flags.models import Colour, FlagType

MAX_LISTED = 20


def name_groups(rows: list[Req]) -> list[list[Req]]:
    """Requests grouped by payee, names that are one payee together (in order of first appearance)."""
    groups: list[tuple[str, list[Req]]] = []
    for r in sorted(rows, key=lambda r: (r.at, r.id)):
        for key, members in groups:
            if same_name(key, r.name_key):
                members.append(r)
                break
        else:
            groups.append((r.name_key, [r]))
    return [members for _key, members in groups]


def detect(data: Data) -> Iterable[Finding]:
    own = {v.bank_account for v in data.villages.values() if v.bank_account}
    if data.full:
        by_account: dict[str, list[Req]] = {}
        for r in data.reqs.values():
            if r.account_key:
                by_account.setdefault(r.account_key, []).append(r)
    else:
        by_account = fellows_by_account(r.account_key for r in data.focused())
    for account, rows in sorted(by_account.items()):
        if account in own or len(rows) < 2:
            continue
        groups = name_groups([r for r in rows if r.name_key])
        if len(groups) < 2:
            continue
        listed = [r for g in groups for r in g[:MAX_LISTED]]
        second = groups[1][0]
        names = [g[0].payee_name for g in groups]
        yield Finding(FlagType.SHARED_ACCOUNT, Colour.RED, second.village_id, f"shared_account:{account}",
                      _("同一账户 %(account)s 以 %(n)d 个不同收款人名称收款：%(names)s", account=account, n=len(groups),
                        names="、".join(names)),
                      listed, {"account": account, "names": names,
                               "requests": [request_evidence(r) for r in listed]},
                      amount=total(listed), occurred_at=max(r.at for r in listed))


DETECTOR = Detector(FlagType.SHARED_ACCOUNT, "同一银行账户（规范化后）在全区以不同收款人名称收款。", detect)

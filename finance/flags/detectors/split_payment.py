"""split_payment: payments split to stay under an amount band (审批线).

Signal: within one village, a sliding window (30 days by default) over the counted requests to one
payee, grouped first by normalised account, then by normalised name (different accounts), then by similar
purpose (different payees, 7 days); a window of at least two requests each under a band whose sum reaches
the band, where either every part is at least `split_min_share` of the band (parts "just under") or the
parts lie within `split_close_days` of each other (one bill cut up on one day). Not splitting: requests
that are all instalments of one contract or resolution (approved as a whole), wages and member payouts,
and periodic payments (every gap between two of them at least PERIODIC_GAP_DAYS, like a cleaner or a bill
paid monthly). Red."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import timedelta
from decimal import Decimal

from flask_babel import gettext as _

from finance.controls.normalise import normalise_name
from finance.flags.data import Data, Req
from finance.flags.detectors.common import is_payout
from finance.flags.engine import Detector, Finding, money, request_evidence, total
from finance.flags.models import Colour, FlagType
from finance.flags.policy import FlagRules

PERIODIC_GAP_DAYS = 20


def windows(rows: list[Req], days: int, band: Decimal, min_parts: int, floor: Decimal = Decimal("0")
            ) -> list[list[Req]]:
    """Clusters (merged overlapping windows) of requests under `band` (and at least `floor`), each window
    spanning at most `days`, whose sum reaches `band`. `rows` sorted by time."""
    under = [r for r in rows if floor <= r.amount < band]
    span = timedelta(days=days)
    clusters: list[list[Req]] = []
    current: dict[int, Req] = {}
    last_end = -1
    j = 0
    running = Decimal("0")
    for i, first in enumerate(under):
        if j < i:
            j, running = i, Decimal("0")
        while j < len(under) and under[j].at - first.at <= span:
            running += under[j].amount
            j += 1
        if j - i >= min_parts and running >= band:
            if current and i > last_end:
                clusters.append(sorted(current.values(), key=lambda r: (r.at, r.id)))
                current = {}
            for r in under[i:j]:
                current[r.id] = r
            last_end = max(last_end, j - 1)
        running -= first.amount
    if current:
        clusters.append(sorted(current.values(), key=lambda r: (r.at, r.id)))
    return clusters


def _one_matter(cluster: list[Req]) -> bool:
    contracts = {r.contract_id for r in cluster}
    resolutions = {r.resolution_id for r in cluster}
    return (len(contracts) == 1 and None not in contracts) or (len(resolutions) == 1 and None not in resolutions)


def _periodic(cluster: list[Req]) -> bool:
    gaps = [(b.at - a.at).days for a, b in zip(cluster, cluster[1:], strict=False)]
    return bool(gaps) and min(gaps) >= PERIODIC_GAP_DAYS


def _bigrams(text: str) -> set[str]:
    clean = "".join(ch for ch in normalise_name(text) if not ch.isdigit())
    return {clean[i:i + 2] for i in range(len(clean) - 1)}


def similar(a: str, b: str, threshold: float) -> bool:
    x, y = _bigrams(a), _bigrams(b)
    if len(x) < 3 or len(y) < 3:
        return False
    return 2 * len(x & y) / (len(x) + len(y)) >= threshold


def _purpose_groups(rows: list[Req], rules: FlagRules) -> list[list[Req]]:
    """Requests linked by similar purposes within the purpose window (union-find over near pairs)."""
    parent = {r.id: r.id for r in rows}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    span = timedelta(days=rules.split_purpose_window_days)
    grams = {r.id: _bigrams(r.purpose) for r in rows}
    for i, a in enumerate(rows):
        for b in rows[i + 1:]:
            if b.at - a.at > span:
                break
            x, y = grams[a.id], grams[b.id]
            if len(x) >= 3 and len(y) >= 3 and 2 * len(x & y) / (len(x) + len(y)) >= rules.split_purpose_similarity:
                parent[find(a.id)] = find(b.id)
    groups: dict[int, list[Req]] = defaultdict(list)
    for r in rows:
        groups[find(r.id)].append(r)
    return [g for g in groups.values() if len(g) > 1]




def _summary(basis: str, days: int, cluster: list[Req], band: Decimal) -> str:
    params = {"days": days, "n": len(cluster), "total": money(total(cluster)), "band": money(band)}
    if basis == "account":
        return _("%(days)d 天内向同一账户支付 %(n)d 笔共 %(total)s 元，每笔低于 %(band)s 元审批线", **params)
    if basis == "name":
        return _("%(days)d 天内向同一收款人（不同账户）支付 %(n)d 笔共 %(total)s 元，每笔低于 %(band)s 元审批线",
                 **params)
    return _("%(days)d 天内以相近用途分 %(n)d 笔支付共 %(total)s 元，每笔低于 %(band)s 元审批线", **params)


def _groups(rows: list[Req], rules: FlagRules) -> Iterator[tuple[str, int, list[Req]]]:
    by_account: dict[str, list[Req]] = defaultdict(list)
    by_name: dict[str, list[Req]] = defaultdict(list)
    for r in rows:
        if r.account_key:
            by_account[r.account_key].append(r)
        if r.name_key:
            by_name[r.name_key].append(r)
    for group in by_account.values():
        if len(group) > 1:
            yield "account", rules.split_window_days, group
    for group in by_name.values():
        if len({r.account_key for r in group}) > 1:
            yield "name", rules.split_window_days, group
    for group in _purpose_groups([r for r in rows if not is_payout(r, rules)], rules):
        if len({r.account_key or r.name_key for r in group}) > 1:
            yield "purpose", rules.split_purpose_window_days, group


def detect(data: Data) -> Iterable[Finding]:
    for village_id, rows in data.by_village().items():
        if not data.full and not any(r.id in data.focus for r in rows):
            continue
        rules = data.rules(village_id)
        bands = sorted(data.bands(village_id), reverse=True)
        rows = [r for r in rows if not (r.subject_code and r.subject_code in rules.salary_subjects)]
        covered: set[int] = set()
        for basis, days, group in _groups(rows, rules):
            group.sort(key=lambda r: (r.at, r.id))
            for band in bands:
                near = windows(group, days, band, rules.split_min_parts, band * rules.split_min_share)
                close = windows(group, min(days, rules.split_close_days), band, rules.split_min_parts)
                for cluster in near + close:
                    ids = {r.id for r in cluster}
                    if ids <= covered or _one_matter(cluster) or _periodic(cluster):
                        continue
                    if not data.full and not ids & data.focus:
                        continue
                    covered |= ids
                    yield Finding(
                        FlagType.SPLIT_PAYMENT, Colour.RED, village_id,
                        f"split_payment:{village_id}:{basis}:{cluster[0].id}",
                        _summary(basis, days, cluster, band), cluster,
                        {"basis": basis, "band": str(band), "window_days": days, "total": str(total(cluster)),
                         "requests": [request_evidence(r) for r in cluster]},
                        amount=total(cluster), occurred_at=cluster[-1].at)


DETECTOR = Detector(FlagType.SPLIT_PAYMENT,
                    "同一村在滑动窗口内向同一账户、同名收款人或相近用途分多笔支付，每笔低于审批线而合计达到审批线。",
                    detect)

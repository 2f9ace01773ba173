"""Benchmark of delegation (not a test): what reading the delegations in force costs the to-do list and
a decision.

With --pending requests waiting at step 1 in 东岳村 (village lead) and as many in 西岳村:
1. the to-do list (inbox_for, first page, plus inbox_count) of 王建国, 东岳村's lead, with no delegation in
   the database (the baseline), and of 陈志强, 西岳村's lead, who acts for 王建国 (his own village plus the
   delegated one: twice the candidates);
2. one approval (service plus commit) by 王建国 in his own right and by 陈志强 for him.
Runs are interleaved; medians in milliseconds and the ratios against the baseline.

    PYTHONPATH=$PWD .venv/bin/python bench/delegation_bench.py                 # SQLite
    PYTHONPATH=$PWD .venv/bin/python bench/delegation_bench.py --postgresql    # the tests' server
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from finance import create_app  # noqa: E402
from finance.delegations import services as delegations  # noqa: E402
from finance.demo import seed_base  # noqa: E402
from finance.extensions import db  # noqa: E402
from finance.migrate import upgrade  # noqa: E402
from finance.payment_requests import services as requests  # noqa: E402
from finance.payment_requests.queries import inbox_count, inbox_for  # noqa: E402
from finance.roles import Role  # noqa: E402
from finance.timefmt import today_local  # noqa: E402
from tests import factories as f  # noqa: E402
from tests import pg  # noqa: E402
from tests.conftest import app_config  # noqa: E402


def ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgresql", action="store_true")
    parser.add_argument("--pending", type=int, default=150, help="requests waiting in each of the two villages")
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sanzi-deleg-") as tmp_name:
        tmp = Path(tmp_name)
        url = pg.create_database() if args.postgresql else f"sqlite:///{tmp / 'bench.db'}"
        upgrade(url)
        app = create_app(app_config(url, tmp))
        try:
            with app.app_context():
                seed_base("benchpassword")
                db.session.commit()
                for _ in range(args.pending):
                    for who, village in (("dy_baozhang", "HL-YC-01"), ("xy_baozhang", "HL-YC-02")):
                        req = f.draft("1200.00", accountant=who, village=village)
                        requests.submit(f.user(who), req, client_key=uuid.uuid4().hex)
                db.session.commit()
                lead, other = f.user("dy_shuji"), f.user("xy_shuji")

                def todo(user: object) -> float:
                    t0 = time.perf_counter()
                    inbox_for(user)
                    inbox_count(user)
                    elapsed = time.perf_counter() - t0
                    db.session.rollback()
                    return elapsed

                baseline = [todo(lead) for _ in range(args.runs)]
                today = today_local()
                delegations.create(lead, delegations.DelegationInput(
                    role=Role.VILLAGE_LEAD.value, delegate_id=other.id, village_ids=[f.unit("HL-YC-01").id],
                    starts_on=today, ends_on=today + timedelta(days=7)))
                db.session.commit()
                own_after, delegate = [], []
                for _ in range(args.runs):
                    own_after.append(todo(lead))
                    delegate.append(todo(other))
                assert len(inbox_for(other, limit=500)) == 2 * args.pending
                db.session.rollback()
                mine = list(inbox_for(lead, limit=2 * args.runs))
                own_approve, for_approve = [], []
                for i, req in enumerate(mine[: 2 * args.runs]):
                    who = other if i % 2 else lead
                    t0 = time.perf_counter()
                    requests.approve(who, req, "同意", client_key=uuid.uuid4().hex)
                    db.session.commit()
                    (for_approve if i % 2 else own_approve).append(time.perf_counter() - t0)
                db.scoped.remove()
        finally:
            app.extensions["sanzi.db"][0].dispose()
            if args.postgresql:
                pg.drop_database(url)
    base = ms(baseline)
    print(f"backend {'postgresql' if args.postgresql else 'sqlite'}, {args.pending} waiting per village, "
          f"{args.runs} runs, medians")
    print(f"to-do, lead, no delegation (baseline)   {base:8.2f} ms")
    print(f"to-do, lead, a delegation exists        {ms(own_after):8.2f} ms  x{ms(own_after) / base:.2f}")
    print(f"to-do, delegate (own + delegated)       {ms(delegate):8.2f} ms  x{ms(delegate) / base:.2f}")
    print(f"approve, lead in own right              {ms(own_approve):8.2f} ms")
    print(f"approve, delegate for the lead          {ms(for_approve):8.2f} ms  "
          f"x{ms(for_approve) / ms(own_approve):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

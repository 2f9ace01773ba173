"""Benchmark of notices (not a test).

1. What the notices hook adds to one hand-off: the approve service plus its commit, timed with the hook
   (a notice and its deliveries written in the transaction; the next approver has chosen SMS and e-mail)
   and without it (the trail's listeners, finance.trail.on_record, emptied), interleaved; medians and
   the ratio.
2. Worker throughput: N deliveries drained to a local fake SMS provider by one `flask --app finance
   worker --once` process, then by two at once; deliveries per second (median of --rounds) and the ratio.
   The two-worker runs also count how many deliveries reached the provider twice (must be 0).

    PYTHONPATH=$PWD .venv/bin/python bench/notices_bench.py                  # PostgreSQL (tests' server)
    PYTHONPATH=$PWD .venv/bin/python bench/notices_bench.py --sqlite --approves 100 -n 500

PostgreSQL databases are created on the tests' server (tests/pg.py) and dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from finance import create_app, trail  # noqa: E402
from finance.demo import seed_base  # noqa: E402
from finance.extensions import db  # noqa: E402
from finance.migrate import upgrade  # noqa: E402
from finance.notices import services as notices  # noqa: E402
from finance.notices.models import NoticeKind  # noqa: E402
from finance.notices.outbox import enqueue  # noqa: E402
from finance.payment_requests import services as requests  # noqa: E402
from finance.workflow import State  # noqa: E402
from tests import factories as f  # noqa: E402
from tests import pg  # noqa: E402
from tests.conftest import app_config  # noqa: E402
from tests.notices_fakes import start_provider  # noqa: E402


def make_database(sqlite: bool, tmp: Path) -> str:
    url = f"sqlite:///{tmp / 'bench.db'}" if sqlite else pg.create_database()
    upgrade(url)
    return url


def measure_hand_off(url: str, tmp: Path, runs: int) -> tuple[float, float]:
    app = create_app(app_config(url, tmp))
    listeners = list(trail._LISTENERS)
    hooked, plain = [], []
    with app.app_context():
        seed_base("benchpassword")
        for name in ("dy_shuji", "dy_jianwei"):
            notices.save_settings(f.user(name), notices.SettingsInput(sms_on=True, mobile="13900000001",
                                                                      email_on=True, email=f"{name}@example.cn"))
        db.session.commit()
        pending = [f.in_state(State.PENDING) for _ in range(2 * runs)]
        approver = f.user("dy_shuji")
        for i, req in enumerate(pending):
            without = i % 2 == 1
            if without:
                trail._LISTENERS.clear()
            try:
                t0 = time.perf_counter()
                requests.approve(approver, req, "同意", client_key=uuid.uuid4().hex)
                db.session.commit()
                elapsed = time.perf_counter() - t0
            finally:
                trail._LISTENERS[:] = listeners
            (plain if without else hooked).append(elapsed)
        db.scoped.remove()
    app.extensions["sanzi.db"][0].dispose()
    return statistics.median(hooked), statistics.median(plain)


def fill(url: str, tmp: Path, n: int, tag: str) -> None:
    """N deliveries due now (SMS only), and nothing else due: the hand-off part's are marked done."""
    from sqlalchemy import update

    from finance.notices.models import DeliveryState, NoticeDelivery

    app = create_app(app_config(url, tmp))
    with app.app_context():
        db.session.execute(update(NoticeDelivery).where(NoticeDelivery.state != DeliveryState.SENT)
                           .values(state=DeliveryState.SENT))
        lead = f.user("dy_shuji")
        notices.save_settings(lead, notices.SettingsInput(sms_on=True, mobile="13900000001"))
        village = f.unit("HL-YC-01")
        for i in range(n):
            enqueue(NoticeKind.ALERT, key=f"bench-{tag}-{i}", village=village, recipients=[lead], link="/")
        db.session.commit()
        db.scoped.remove()
    app.extensions["sanzi.db"][0].dispose()


def drain(url: str, tmp: Path, provider_url: str, workers: int) -> float:
    env = {**os.environ, "DATABASE_URL": url, "SANZI_INSTANCE": str(tmp), "SECRET_KEY": "bench",
           "SANZI_SMS_URL": provider_url + "/sms", "SANZI_NOTICE_FILE": ""}
    flask = str(Path(sys.executable).parent / "flask")
    t0 = time.perf_counter()
    procs = [subprocess.Popen([flask, "--app", "finance", "worker", "--once", "--batch", "20"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL) for _ in range(workers)]
    for p in procs:
        p.wait()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL (one worker only)")
    parser.add_argument("--approves", type=int, default=200, help="approves timed with and without the hook")
    parser.add_argument("-n", type=int, default=2000, help="deliveries drained per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="sanzi-nbench-"))
    url = make_database(args.sqlite, tmp)
    provider, server = start_provider()
    try:
        hooked, plain = measure_hand_off(url, tmp, args.approves)
        print(f"approve + commit: with notices {hooked * 1000:.2f} ms, without {plain * 1000:.2f} ms "
              f"(median of {args.approves} each), ratio {hooked / plain:.2f}")
        counts = (1,) if args.sqlite else (1, 2)
        rates: dict[int, list[float]] = {w: [] for w in counts}
        for r in range(args.rounds):
            for workers in counts:
                before = len(provider.requests)
                fill(url, tmp, args.n, f"{r}-{workers}")
                seconds = drain(url, tmp, provider.url, workers)
                got = provider.requests[before:]
                twice = sum(1 for c in Counter(x.key for x in got).values() if c > 1)
                assert len(got) == args.n and twice == 0, (len(got), twice)
                rates[workers].append(args.n / seconds)
        for workers in counts:
            print(f"worker throughput, {workers} process(es): {statistics.median(rates[workers]):.0f} deliveries/s "
                  f"(median of {args.rounds} rounds of {args.n}; process start-up included; none sent twice)")
        if not args.sqlite:
            print(f"ratio 2 workers / 1 worker: {statistics.median(rates[2]) / statistics.median(rates[1]):.2f}")
    finally:
        server.shutdown()
        if not args.sqlite:
            pg.drop_database(url)


if __name__ == "__main__":
    main()

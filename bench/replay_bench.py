"""Benchmark of the replay (not a test): what checking the business rows against the events adds to
verifying a village chain, as the liaison's index page does live for each village (issue 15 item 1).

Makes a throwaway SQLite database with the demo district and N requests of one village brought to
paid (or pending, returned) through the services, then times, interleaved, `audit.verify_chain` of that
village's chain without a replayer (links, hashes, checkpoints: the baseline) and with the app's
replayer (every request's fields, history rows, attachments, payment and questions compared); medians of
--runs runs each and the ratio. Also times the system chain's verification with and without its replay.

    PYTHONPATH=$PWD .venv/bin/python bench/replay_bench.py [-n 200] [--runs 9]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import audit  # noqa: E402
from finance import create_app  # noqa: E402
from finance.audit_keys import trusted_keys  # noqa: E402
from finance.demo import seed_base  # noqa: E402
from finance.extensions import db  # noqa: E402
from finance.migrate import upgrade  # noqa: E402
from finance.oversight.verification import replayer_for  # noqa: E402
from finance.workflow import State  # noqa: E402
from tests import factories as f  # noqa: E402

PASSWORD = "sanzi-bench-2026"
CHAIN = "village:HL-YC-01"


def median_ms(fn, runs: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=200, help="requests of the village (3 in 4 paid)")
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sanzi-replay-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "INSTANCE_PATH": tmp, "TESTING": True,
                          "UPLOAD_DIR": str(Path(tmp) / "uploads"), "AUDIT_KEY_FILE": str(Path(tmp) / "key.pem"),
                          "ATTACHMENT_CHANGES_PER_HOUR": 1_000_000, "ATTACHMENT_CHANGES_PER_DAY": 1_000_000})
        with app.app_context():
            seed_base(PASSWORD)
            db.session.commit()
            started = time.perf_counter()
            for i in range(args.n):
                state = State.PAID if i % 4 else State.PENDING
                # each its own payee: the controls' cumulative band for one payee stays out of the way
                f.in_state(state, "1200.00", payee_name=f"兴农农资经营部{i:04d}", payee_account=f"62284800{i:011d}")
            db.session.commit()
            print(f"made {args.n} requests in {time.perf_counter() - started:.0f} s")
            keys = trusted_keys()
            session = db.session
            size = session.get(audit.ChainHead, CHAIN).seq  # type: ignore[union-attr]
            for chain in (CHAIN, audit.SYSTEM_CHAIN):
                def plain(chain: str = chain) -> None:
                    assert audit.verify_chain(session, chain, trusted_keys=keys).ok

                def replayed(chain: str = chain) -> None:
                    report = audit.verify_chain(session, chain, trusted_keys=keys, replayer=replayer_for(chain))
                    assert report.ok, report.failures[:3]

                base, full = [], []
                for _ in range(args.runs):  # interleaved, so load from other jobs hits both alike
                    base.append(median_ms(plain, 1))
                    full.append(median_ms(replayed, 1))
                b, r = statistics.median(base), statistics.median(full)
                events = size if chain == CHAIN else session.get(audit.ChainHead, chain).seq  # type: ignore[union-attr]
                print(f"{chain:<18} {events:>6} events  chain only {b:8.1f} ms  with replay {r:8.1f} ms  "
                      f"ratio {r / b:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How long seeding the demo takes (every request through the services, so the controls' checks at submit
and at each approval included), not a test. Each run uses a fresh SQLite database.

    .venv/bin/python -m bench.demo_seed_bench --runs 3

To compare with a tree before the controls were wired in (issue 11), export it and run the same file there:

    git archive 11a38ab | tar -x -C /tmp/base && (cd /tmp/base && PYTHONPATH=/tmp/base \\
        /path/to/.venv/bin/python /path/to/bench/demo_seed_bench.py --runs 3)

Prints each run and the median, in seconds."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    import finance
    from finance import create_app
    from finance.migrate import upgrade
    from tests.conftest import app_config

    times = []
    for _ in range(args.runs):
        tmp = Path(tempfile.mkdtemp(prefix="sanzi-seed-"))
        url = f"sqlite:///{tmp / 'demo.db'}"
        upgrade(url)
        app = create_app(app_config(url, tmp))
        with app.app_context():
            started = time.perf_counter()
            result = app.test_cli_runner().invoke(args=["seed-demo", "--password", "demo-password-1"])
            times.append(time.perf_counter() - started)
            if result.exit_code != 0:
                raise SystemExit(result.output)
    print(f"{finance.__file__}: runs {[round(t, 1) for t in times]} s, median {statistics.median(times):.1f} s")


if __name__ == "__main__":
    main()

"""What a login's password check costs with candidate Argon2id parameters (issue 16, item 15): the median
time of one hash (a verify costs the same: it hashes again and compares), and how many password checks
two cores do in a second when every worker is busy logging people in. The baseline, measured in the same
run, is the parameter set the app used before, argon2-cffi's RFC 9106 low-memory profile (t=3, 64 MiB,
p=4).

    .venv/bin/python bench/argon2_bench.py [--runs 15] [--workers 2]

The candidates are OWASP's password storage cheat sheet's equivalent minimums for Argon2id (m=47104 KiB
t=1, m=19456 KiB t=2, m=12288 KiB t=3, m=9216 KiB t=4, m=7168 KiB t=5, all p=1): each is as costly to an
attacker with GPUs as the others. The app uses the one chosen here, finance/auth/services.py ARGON2_PARAMS.
"""

from __future__ import annotations

import argparse
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from typing import NamedTuple

from argon2 import PasswordHasher


class Params(NamedTuple):
    time_cost: int
    memory_kib: int
    parallelism: int

    def __str__(self) -> str:
        return f"t={self.time_cost} m={self.memory_kib // 1024} MiB p={self.parallelism}"


BASELINE = Params(3, 65536, 4)  # argon2-cffi's RFC_9106_LOW_MEMORY, the app's default before
CANDIDATES = [
    Params(1, 47104, 1),
    Params(2, 19456, 1),
    Params(3, 12288, 1),
    Params(4, 9216, 1),
    Params(5, 7168, 1),
]
PASSWORD = "sanzi2026-一个中文密码"


def hash_times(params: Params, runs: int) -> list[float]:
    hasher = PasswordHasher(time_cost=params.time_cost, memory_cost=params.memory_kib,
                            parallelism=params.parallelism)
    stored = hasher.hash(PASSWORD)  # warm-up, and what verify checks against
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        hasher.verify(stored, PASSWORD)
        times.append(time.perf_counter() - start)
    return times


def _checks_for(params: Params, seconds: float) -> int:
    hasher = PasswordHasher(time_cost=params.time_cost, memory_cost=params.memory_kib,
                            parallelism=params.parallelism)
    stored = hasher.hash(PASSWORD)
    done, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        hasher.verify(stored, PASSWORD)
        done += 1
    return done


def throughput(params: Params, workers: int, seconds: float) -> float:
    """Password checks a second with `workers` processes checking at once (gunicorn workers at a rush)."""
    with ProcessPoolExecutor(workers) as pool:
        counts = list(pool.map(_checks_for, [params] * workers, [seconds] * workers))
    return sum(counts) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--workers", type=int, default=2, help="processes checking passwords at once")
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each throughput run")
    args = parser.parse_args()

    base_times = hash_times(BASELINE, args.runs)
    base = statistics.median(base_times)
    base_rate = throughput(BASELINE, args.workers, args.seconds)
    print(f"{'parameters':<22} {'median':>9} {'min':>9} {'max':>9} {'x base':>7} "
          f"{'checks/s (' + str(args.workers) + ' workers)':>24}")
    print(f"{str(BASELINE) + ' (before)':<22} {base * 1000:8.1f}ms {min(base_times) * 1000:8.1f}ms "
          f"{max(base_times) * 1000:8.1f}ms {1:7.2f} {base_rate:24.1f}")
    for params in CANDIDATES:
        times = hash_times(params, args.runs)
        median = statistics.median(times)
        rate = throughput(params, args.workers, args.seconds)
        print(f"{params!s:<22} {median * 1000:8.1f}ms {min(times) * 1000:8.1f}ms {max(times) * 1000:8.1f}ms "
              f"{median / base:7.2f} {rate:24.1f}")


if __name__ == "__main__":
    main()

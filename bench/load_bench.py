"""Load benchmark of the to-do page and the approve action (issue 3), beside a bare Flask route.

Seeds 100,000 requests across 200 villages in a fresh PostgreSQL database (created here, dropped at the
end), serves the app with gunicorn on loopback, and drives it with wrk at 16 concurrent connections.
Prints requests/second and p50/p99 latency of each, and each rate as a ratio of the bare route's rate
measured in the same run.

    .venv/bin/python bench/load_bench.py [--requests 100000] [--villages 200] [--seconds 10]

Needs: a PostgreSQL server (SANZI_BENCH_PG_URL, default postgresql://postgres@127.0.0.1:5432/postgres),
gunicorn (a dependency) and wrk (Debian package `wrk`).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.cookiejar import CookieJar
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy import insert, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "bench-password-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def create_db(admin: str) -> str:
    name = f"sanzi_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name


def drop_db(admin: str, name: str) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def seed(url: str, tmp: Path, n_requests: int, n_villages: int, hot_backlog: int = 10_000) -> dict[str, object]:
    """Demo district through the services, then villages, people and requests in bulk."""
    from finance import create_app
    from finance.approval_policy.models import RoutingPolicy
    from finance.auth.models import RoleAssignment, User
    from finance.auth.services import hash_password
    from finance.demo import seed_base
    from finance.extensions import db
    from finance.migrate import upgrade
    from finance.orgs.models import AccountSubject, OrgUnit
    from finance.payment_requests.models import PaymentRequest
    from finance.roles import OrgKind, Role
    from finance.workflow import State

    upgrade(url)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "INSTANCE_PATH": str(tmp),
                      "UPLOAD_DIR": str(tmp / "up"), "AUDIT_KEY_FILE": str(tmp / "key.pem")})
    rng = random.Random(7)
    with app.app_context():
        users = seed_base(PASSWORD)
        s = db.session
        townships = s.execute(select(OrgUnit).where(OrgUnit.kind == OrgKind.TOWNSHIP)).scalars().all()
        policies = {p.township_id: p.id for p in s.execute(select(RoutingPolicy)).scalars()}
        subject_id = s.execute(select(AccountSubject.id).where(AccountSubject.code == "5401")).scalar_one()
        pw = hash_password(PASSWORD)
        villages = []
        for i in range(n_villages):
            t = townships[i % len(townships)]
            v = OrgUnit(code=f"B-V{i:04d}", name=f"测试村{i:04d}", kind=OrgKind.VILLAGE, parent=t, path="",
                        bank_name="濮阳农村商业银行", bank_account=f"62305900{i:08d}", bank_account_name="合作社")
            s.add(v)
            villages.append(v)
        s.flush()
        for v in villages:
            v.path = f"{v.parent.path}{v.id}/"
        accountants, leads = {}, {}
        for i, v in enumerate(villages):
            a = User(username=f"b_acc_{i:04d}", display_name=f"报账员{i}", password_hash=pw)
            lead = User(username=f"b_lead_{i:04d}", display_name=f"书记{i}", password_hash=pw)
            s.add_all([a, lead])
            s.flush()
            s.add_all([RoleAssignment(user_id=a.id, role=Role.ACCOUNTANT, org_unit_id=v.id),
                       RoleAssignment(user_id=lead.id, role=Role.VILLAGE_LEAD, org_unit_id=v.id)])
            accountants[v.id], leads[v.id] = a.id, lead.id
        s.commit()
        now = datetime.now(UTC)
        states = ([(State.PENDING, 1)] * 20 + [(State.PENDING, 2)] * 10 + [(State.PENDING, 3)] * 10
                  + [(State.PAID, 0)] * 35 + [(State.DRAFT, 0)] * 10 + [(State.APPROVED, 0)] * 5
                  + [(State.RETURNED, 0)] * 5 + [(State.REJECTED, 0)] * 5)
        table = PaymentRequest.__table__
        # whose move it is, as the services keep it (amounts stay under 10,000: three steps)
        waiting = {(State.PENDING, 1): Role.VILLAGE_LEAD, (State.PENDING, 2): Role.VILLAGE_SUPERVISOR,
                   (State.PENDING, 3): Role.AGENCY_REVIEWER, (State.DRAFT, 0): Role.ACCOUNTANT,
                   (State.RETURNED, 0): Role.ACCOUNTANT, (State.APPROVED, 0): Role.CASHIER}
        batch = []
        hot = villages[0]
        hot_pending = []
        next_id = 1_000_000
        for k in range(n_requests):
            if k < hot_backlog:  # the measured village: a backlog waiting at step 1, for the approvals
                v, (state, step) = hot, (State.PENDING, 1)
            else:
                v = villages[k % len(villages)]
                state, step = rng.choice(states)
            created = now - timedelta(minutes=rng.randint(1, 200_000))
            next_id += 1
            if v is hot and state == State.PENDING and step == 1:
                hot_pending.append(next_id)
            batch.append({
                "id": next_id, "number": f"ZF{next_id}", "village_id": v.id, "requester_id": accountants[v.id],
                "state": state.value, "payee_name": rng.choice(["兴农农资经营部", "华龙区建筑队", "张三", "李四"]),
                "payee_bank": "中国农业银行", "payee_account": f"6228{rng.randint(10**14, 10**15 - 1)}",
                "amount": Decimal(rng.randint(100, 9_000_00)) / 100, "purpose": "村内道路维修",
                "subject_id": subject_id, "fund_source": "村集体收入", "budget_line": "",
                "policy_id": policies[v.parent_id], "step": step, "round": 1 if state != State.DRAFT else 0,
                "waiting_role": waiting.get((state, step)),
                "submitted_at": created, "waiting_since": created, "created_at": created, "updated_at": created,
                "version": 1,
            })
            if len(batch) == 5000:
                s.execute(insert(table), batch)
                batch = []
        if batch:
            s.execute(insert(table), batch)
        s.commit()
        s.execute(text("ANALYZE"))  # as autovacuum would soon after a bulk load
        s.commit()
        info = {"hot_lead": f"b_lead_{villages.index(hot):04d}", "hot_pending": hot_pending,
                "reviewer": "yc_shenhe", "users": len(users)}
    app.extensions["sanzi.db"][0].dispose()
    return info


class Session:
    """A logged-in HTTP session (cookie and CSRF token) for wrk to reuse."""

    def __init__(self, base: str, username: str) -> None:
        self.base = base
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        token = self._token("/login")
        body = urllib.parse.urlencode({"username": username, "password": PASSWORD, "csrf_token": token})
        self.opener.open(base + "/login", body.encode())
        self.token = self._token("/account/password")

    def _token(self, path: str) -> str:
        html = self.opener.open(self.base + path).read().decode()
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
        assert match, f"no csrf token on {path}"
        return match.group(1)

    @property
    def cookie(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)


def wrk(url: str, seconds: int, connections: int, script: Path | None = None,
        headers: dict[str, str] | None = None) -> dict[str, float]:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    for k, v in (headers or {}).items():
        cmd += ["-H", f"{k}: {v}"]
    if script:
        cmd += ["-s", str(script)]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def pct(p: str) -> float:
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)", out, re.M)
        assert m, out
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50": pct("50"), "p99": pct("99"),
            "non2xx": float(errors.group(1)) if errors else 0.0}


APPROVE_LUA = """
local ids = {%s}
local counter = 0
local thread_no = 0
local token = "%s"
setup = function(thread) thread:set("tid", thread_no); thread_no = thread_no + 1 end
request = function()
  counter = counter + 1
  local i = (counter - 1) * 2 + tid + 1
  if i > #ids then i = #ids end
  local body = "csrf_token=" .. token .. "&comment=&client_key=bench" .. tid .. "x" .. counter
  local headers = {}
  for k, v in pairs(wrk.headers) do headers[k] = v end  -- keep the session cookie given with -H
  headers["Content-Type"] = "application/x-www-form-urlencoded"
  return wrk.format("POST", "/requests/" .. ids[i] .. "/approve", headers, body)
end
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--villages", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--keep", action="store_true", help="keep the database (its URL is printed)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    admin = os.environ.get("SANZI_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = create_db(admin)
    url = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + "/" + name
    tmp = Path(tempfile.mkdtemp(prefix="sanzi-bench-"))
    server = None
    try:
        t0 = time.perf_counter()
        info = seed(url, tmp, args.requests, args.villages)
        print(f"seeded {args.requests} requests in {args.villages} villages in {time.perf_counter() - t0:.1f} s")
        port = free_port()
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench", "SANZI_INSTANCE": str(tmp),
               "SANZI_AUDIT_KEY_FILE": str(tmp / "key.pem"), "PYTHONPATH": str(ROOT)}
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", str(args.workers), "-b", f"127.0.0.1:{port}",
             "--log-level", "warning", "bench.wsgi_bench:app"], cwd=ROOT, env=env)
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/_bench/bare", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        lead = Session(base, str(info["hot_lead"]))
        hdr = {"Cookie": lead.cookie}
        wrk(base + "/_bench/bare", 2, args.connections)  # warm-up
        wrk(base + "/", 2, args.connections, headers=hdr)
        bare = wrk(base + "/_bench/bare", args.seconds, args.connections)
        todo = wrk(base + "/", args.seconds, args.connections, headers=hdr)
        ids = info["hot_pending"]
        assert isinstance(ids, list)
        script = tmp / "approve.lua"
        script.write_text(APPROVE_LUA % (",".join(map(str, ids)), urllib.parse.quote(lead.token)))
        approve = wrk(base + "/", args.seconds, args.connections, script=script, headers=hdr)
        print(f"\n{'route':<12}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'ratio':>8}{'non-2xx/3xx':>13}")
        for label, r in (("bare", bare), ("to-do", todo), ("approve", approve)):
            print(f"{label:<12}{r['rps']:>10.1f}{r['p50']:>10.2f}{r['p99']:>10.2f}"
                  f"{r['rps'] / bare['rps']:>8.3f}{int(r['non2xx']):>13}")
        print(f"\nto-do user {info['hot_lead']} ({len(ids)} waiting in their village); "
              f"{args.connections} connections, {args.workers} gunicorn workers, {args.seconds} s each")
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=20)
        if args.keep:
            print(f"kept database {url}")
        else:
            drop_db(admin, name)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

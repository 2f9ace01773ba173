"""Lighthouse (mobile: a mid-range phone, simulated slow 4G) on the login, to-do, request form and request
detail pages of the demo app served by gunicorn, on the controls' pages (the accountant's resolutions
and contracts, the resolution form; the admin's register and 负面清单), and on the bank's pages (import,
reconciliation, exceptions, accounts, receipts, month close: the agency reviewer's), and the API reference
and the API tokens page; prints the performance,
accessibility, best-practices and SEO scores of each page. Aim (issue 6): performance, accessibility and
best practices at least 95.

    PYTHONPATH=$PWD .venv/bin/python bench/lighthouse.py [--runs 3] [--verbose]

Needs Node 20 and Debian's chromium; installs lighthouse@12.2.3 into node_modules/ on first use (npm).
Reports (JSON) go to bench/out/. A page not in this build (its URL is not routed) is listed as missing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LIGHTHOUSE = ROOT / "node_modules" / ".bin" / "lighthouse"
OUT = ROOT / "bench" / "out"
PASSWORD = "sanzi-bench-2026"
USER = "dy_baozhang"  # the village accountant: the to-do, the form and her village's requests
CHROME_FLAGS = ("--headless=new --no-sandbox --disable-gpu --disable-background-networking "
                "--disable-component-update --disable-sync --disable-dev-shm-usage")
CATEGORIES = ["performance", "accessibility", "best-practices", "seo"]


def ensure_lighthouse() -> None:
    if LIGHTHOUSE.exists():
        return
    print("installing lighthouse@12.2.3 into node_modules/ ...", file=sys.stderr)
    env = {**os.environ, "PUPPETEER_SKIP_DOWNLOAD": "1"}
    subprocess.run(["npm", "install", "--no-save", "--no-audit", "--no-fund", "lighthouse@12.2.3"],
                   cwd=ROOT, check=True, env=env)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare_database(instance: Path) -> tuple[dict[str, str], int | None]:
    """A fresh SQLite database with the demo data; returns the server's environment and the id of a
    request of the accountant's village (None when the request pages are not in this build)."""
    env = {
        **os.environ,
        "SANZI_INSTANCE": str(instance),
        "DATABASE_URL": f"sqlite:///{instance / 'sanzi.db'}",
        "SANZI_UPLOAD_DIR": str(instance / "uploads"),
        "SECRET_KEY": os.urandom(24).hex(),
        "SANZI_ENV": "development",
        "PYTHONPATH": str(ROOT),
    }
    script = r"""
import sys
from decimal import Decimal
from sqlalchemy import select
from finance import create_app
from finance.demo import seed
from finance.extensions import db
from finance.migrate import upgrade
from finance.orgs.models import OrgUnit
from finance.payment_requests.models import PaymentRequest

app = create_app()
upgrade(app.config["DATABASE_URL"])
with app.app_context():
    users = seed(sys.argv[1])
    db.session.commit()
    village = db.session.execute(select(OrgUnit).where(OrgUnit.code == "HL-YC-01")).scalar_one()
    req = db.session.execute(select(PaymentRequest).where(PaymentRequest.village_id == village.id)
                             .order_by(PaymentRequest.id.desc()).limit(1)).scalar_one_or_none()
    if req is None:
        from finance.auth.models import User
        from finance.payment_requests import services
        from tests.factories import request_input
        user = db.session.execute(select(User).where(User.username == "dy_baozhang")).scalar_one()
        req = services.create_draft(user, village, request_input("12000.00"))
        db.session.commit()
    township = db.session.execute(select(OrgUnit).where(OrgUnit.code == "HL-YC")).scalar_one()
    print(req.id, township.id)
"""
    result = subprocess.run([sys.executable, "-c", script, PASSWORD], env=env, cwd=ROOT, check=True,
                            capture_output=True, text=True)
    request_id, township_id = (int(x) for x in result.stdout.strip().splitlines()[-1].split())
    env["SANZI_BENCH_TOWNSHIP"] = str(township_id)
    return env, request_id


def start_server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    proc = subprocess.Popen([gunicorn, "-w", "2", "-b", f"127.0.0.1:{port}", "--log-level", "warning",
                             "finance:create_app()"], env=env, cwd=ROOT)
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit("the app did not start")


def login(base: str, user: str = USER) -> str:
    """Log in like a browser; returns the Cookie header for Lighthouse."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    html = opener.open(base + "/login").read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert token, "no CSRF token on the login page"
    data = urllib.parse.urlencode({"csrf_token": token.group(1), "username": user, "password": PASSWORD})
    page = opener.open(base + "/login", data=data.encode()).read().decode()
    assert "退出登录" in page, "login failed"
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def routed(base: str, path: str, cookie: str) -> bool:
    request = urllib.request.Request(base + path, headers={"Cookie": cookie})
    try:
        with urllib.request.urlopen(request) as response:
            return bool(response.status == 200)
    except urllib.error.HTTPError:
        return False


def run_lighthouse(url: str, name: str, cookie: str | None) -> dict[str, Any]:
    OUT.mkdir(parents=True, exist_ok=True)
    report = OUT / f"lighthouse-{name}.json"
    command = [str(LIGHTHOUSE), url, "--output=json", f"--output-path={report}", "--quiet",
               f"--only-categories={','.join(CATEGORIES)}", f"--chrome-flags={CHROME_FLAGS}",
               "--locale=zh"]
    if cookie:
        command.append("--extra-headers=" + json.dumps({"Cookie": cookie}))
    env = {**os.environ, "CHROME_PATH": shutil.which("chromium") or "/usr/bin/chromium",
           "LANGUAGE": "zh_CN"}
    subprocess.run(command, check=True, env=env, cwd=ROOT)
    data = json.loads(report.read_text())
    scores: dict[str, Any] = {c: round(100 * (data["categories"][c]["score"] or 0)) for c in CATEGORIES}
    failing = [f"{a['id']} ({a['score']})" for a in data["audits"].values()
               if a.get("score") is not None and a["score"] < 0.9 and a.get("scoreDisplayMode") in
               ("binary", "numeric", "metricSavings")]
    scores["_failing"] = failing
    metrics = data["audits"]
    scores["_metrics"] = {k: metrics[k]["displayValue"] for k in
                          ("first-contentful-paint", "largest-contentful-paint", "total-blocking-time",
                           "cumulative-layout-shift", "speed-index") if k in metrics}
    return scores


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--verbose", action="store_true", help="also list the audits below 0.9 per page")
    parser.add_argument("--runs", type=int, default=3,
                        help="Lighthouse runs per page; the run with the median performance score is shown "
                             "(a busy machine makes single runs noisy)")
    args = parser.parse_args()
    if not shutil.which("chromium"):
        raise SystemExit("Debian's chromium is needed (apt-get install chromium)")
    ensure_lighthouse()
    with tempfile.TemporaryDirectory(prefix="sanzi-lh-") as tmp:
        env, request_id = prepare_database(Path(tmp))
        port = free_port()
        server = start_server(env, port)
        base = f"http://127.0.0.1:{port}"
        try:
            cookie = login(base)
            pages = [("login", "/login", None), ("todo", "/", cookie),
                     ("request-form", "/requests/new", cookie),
                     ("request-detail", f"/requests/{request_id}", cookie),
                     ("notice-settings", "/notices/settings", cookie),
                     ("records", "/controls/", cookie), ("resolution-form", "/controls/resolutions/new", cookie),
                     ("api-docs", "/api/v1/docs", None), ("api-tokens", "/account/tokens", cookie)]
            admin = login(base, "hl_admin")
            township = env["SANZI_BENCH_TOWNSHIP"]
            pages += [("register", f"/controls/townships/{township}/register", admin),
                      ("negative-list", f"/controls/townships/{township}/negative-list", admin),
                      ("control-policy", f"/controls/townships/{township}/policy", admin),
                      ("imports", "/imports", admin), ("activate", "/activate", None)]
            reviewer = login(base, "yc_shenhe")  # the bank's pages (issue 10): the agency reviewer's
            pages += [("bank-import", "/bank/import", reviewer),
                      ("bank-reconcile", "/bank/HL-YC-01/reconcile", reviewer),
                      ("bank-exceptions", "/bank/exceptions?village=HL-YC-01", reviewer),
                      ("bank-accounts", "/bank/HL-YC-01/accounts", reviewer),
                      ("bank-receipts", "/bank/HL-YC-01/receipts", reviewer),
                      ("bank-months", "/bank/HL-YC-01/months", reviewer)]
            # delegation (代理审批): a village lead's page with its form, and the admin's list
            pages += [("delegations", "/delegations", login(base, "dy_shuji")),
                      ("delegations-admin", "/delegations/admin", admin)]
            print(f"{'page':<16}{'perf':>6}{'a11y':>6}{'best':>6}{'seo':>6}   FCP / LCP / TBT / CLS")
            for name, path, page_cookie in pages:
                if not routed(base, path, page_cookie or cookie):
                    print(f"{name:<16}  missing: {path} is not in this build")
                    continue
                runs = sorted((run_lighthouse(base + path, name, page_cookie) for _ in range(args.runs)),
                              key=lambda r: r["performance"])
                s = runs[len(runs) // 2]
                m = s["_metrics"]
                print(f"{name:<16}{s['performance']:>6}{s['accessibility']:>6}{s['best-practices']:>6}"
                      f"{s['seo']:>6}   {m.get('first-contentful-paint')} / "
                      f"{m.get('largest-contentful-paint')} / {m.get('total-blocking-time')} / "
                      f"{m.get('cumulative-layout-shift')}")
                if args.verbose and s["_failing"]:
                    print("    below 0.9:", ", ".join(s["_failing"]))
        finally:
            server.terminate()
            server.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())

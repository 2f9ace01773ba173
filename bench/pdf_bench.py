"""Render times and sizes of the printed documents, in process, after warm-up: the 支付审批单 and a
20-page 审计轨迹报告, median of 20 runs each (issue 5), and what each weighs (issue 16: at most 100 KB a
page). The baseline, measured in the same run, is the same documents with the whole system CJK fonts
handed to WeasyPrint (no cut to the document's characters, finance/documents/fonts.py).
Seeds its own SQLite database in a temporary folder.

    PYTHONPATH=$PWD .venv/bin/python bench/pdf_bench.py [--runs 20] [--out /tmp/pdf-bench]

Aim on the 2-core build machine: the form under 0.5 s, the report under 0.5 s a page; 100 KB a page.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import render_template  # noqa: E402

from finance import create_app  # noqa: E402
from finance.demo import seed_base  # noqa: E402
from finance.documents import fonts, services  # noqa: E402
from finance.documents.rendering import (  # noqa: E402
    fast_subsetting_available,
    render_document,
    render_one_page,
)
from finance.extensions import db  # noqa: E402
from finance.migrate import upgrade  # noqa: E402
from finance.payment_requests import services as requests  # noqa: E402
from finance.timefmt import today_local  # noqa: E402
from finance.workflow import State  # noqa: E402


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, list[float]]:
    fn()  # warm-up: fonts loaded, templates compiled
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--out", type=Path, default=None, help="folder to keep the rendered samples")
    args = parser.parse_args()

    from tests import factories as f  # the same helpers the tests use, through the services

    tmp = Path(tempfile.mkdtemp(prefix="pdf-bench-"))
    url = f"sqlite:///{tmp / 'bench.db'}"
    upgrade(url)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "INSTANCE_PATH": str(tmp),
                      "UPLOAD_DIR": str(tmp / "uploads"), "AUDIT_KEY_FILE": str(tmp / "key.pem"),
                      "ARGON2_PARAMS": (1, 1024, 1), "SERVER_NAME": "sanzi.example.cn",
                      "PREFERRED_URL_SCHEME": "https"})
    with app.app_context():
        seed_base("password123")
        db.session.commit()
        print(f"HarfBuzz subsetting (fast path): {'yes' if fast_subsetting_available() else 'NO'}")
        seeded = time.perf_counter()
        paid = []
        for i in range(90):  # about 10 events each: enough for a report of well over 20 pages
            req = f.draft(f"{12000 + 37 * i}.50", purpose=f"村内道路维修第 {i + 1} 批材料款")
            requests.submit(f.user("dy_baozhang"), req, client_key=uuid.uuid4().hex)
            if i % 5 == 0:
                requests.return_for_revision(f.user("dy_shuji"), req, "请补充验收单")
                requests.submit(f.user("dy_baozhang"), req, client_key=uuid.uuid4().hex)
            for name in f.approvers_for(req):
                requests.approve(f.user(name), req, "同意", client_key=uuid.uuid4().hex)
            db.session.commit()
            paid.append(req)
        form_req = f.in_state(State.PAID, "60000.00")
        print(f"seeded {len(paid) + 1} requests in {time.perf_counter() - seeded:.1f} s")

        with app.test_request_context():
            printer = f.user("yc_lianqing")

            def form() -> bytes:
                context = services.approval_form(form_req, printer)
                return render_one_page(
                    lambda compact: render_template("pdf/approval_form.html", compact=compact, **context))

            context = services.trail_report(form_req.village, today_local() - timedelta(days=1),
                                            today_local() + timedelta(days=1), printer)
            all_rows = context["rows"]
            first = render_document(render_template("pdf/trail_report.html", **context))
            per_page = len(all_rows) / len(first.pages)
            count = max(1, int(per_page * (args.pages - 0.5)))
            for _attempt in range(30):  # the first `count` events that fill exactly `--pages` pages
                rows = all_rows[:count]
                html = render_template("pdf/trail_report.html", **{**context, "rows": rows})
                pages = len(render_document(html).pages)
                if pages == args.pages or count >= len(all_rows):
                    break
                count += max(1, int(per_page / 3)) if pages < args.pages else -max(1, int(per_page / 3))

            def report() -> bytes:
                return bytes(render_document(html).write_pdf())

            def report_with_queries() -> bytes:
                ctx = services.trail_report(form_req.village, date(2000, 1, 1), today_local(), printer)
                ctx["rows"] = ctx["rows"][: len(rows)]
                return bytes(render_document(render_template("pdf/trail_report.html", **ctx)).write_pdf())

            form_median, form_times = timed(form, args.runs)
            report_median, report_times = timed(report, args.runs)
            full_median, _ = timed(report_with_queries, max(5, args.runs // 4))
            form_size, report_size = len(form()), len(report())
            with whole_fonts():
                base_form_median, _ = timed(form, max(5, args.runs // 4))
                base_report_median, _ = timed(report, max(5, args.runs // 4))
                base_form_size, base_report_size = len(form()), len(report())
            if args.out:
                args.out.mkdir(parents=True, exist_ok=True)
                (args.out / "approval_form.pdf").write_bytes(form())
                (args.out / "trail_report.pdf").write_bytes(report())

    kb = 1024
    print(f"approval form (1 page): median {form_median:.3f} s  (min {min(form_times):.3f}, "
          f"max {max(form_times):.3f}; aim < 0.5 s); {form_size / kb:.0f} KB (aim <= 100 KB)")
    print(f"  baseline, whole fonts: median {base_form_median:.3f} s, {base_form_size / kb:.0f} KB; "
          f"cut fonts: time x{form_median / base_form_median:.2f}, size x{form_size / base_form_size:.2f}")
    print(f"trail report ({pages} pages, {len(rows)} events): median {report_median:.3f} s = "
          f"{report_median / pages:.3f} s/page  (min {min(report_times):.3f}, max {max(report_times):.3f}; "
          f"aim < 0.5 s/page); {report_size / kb:.0f} KB = {report_size / kb / pages:.0f} KB/page")
    print(f"  baseline, whole fonts: median {base_report_median:.3f} s, {base_report_size / kb:.0f} KB; "
          f"cut fonts: time x{report_median / base_report_median:.2f}, size x{report_size / base_report_size:.2f}")
    print(f"trail report incl. queries and chain verification: median {full_median:.3f} s")


@contextmanager
def whole_fonts() -> Iterator[None]:
    """The documents as before issue 16: WeasyPrint gets the whole system CJK faces."""
    saved = fonts._libraries
    fonts._libraries = lambda: None  # type: ignore[assignment]
    try:
        yield
    finally:
        fonts._libraries = saved


if __name__ == "__main__":
    main()

"""The app as gunicorn serves it in the benchmark, plus one bare route as the baseline."""

from __future__ import annotations

from finance import create_app
from finance.extensions import csrf

app = create_app()


@app.route("/_bench/bare")
@csrf.exempt
def bare() -> str:
    return "ok"

"""PostgreSQL for the tests: the server named by SANZI_TEST_PG_URL (default the local one on
127.0.0.1:5432) when it answers, else a throwaway cluster started from the PostgreSQL binaries. Every
database the suite uses is created and dropped by it; no other database is touched."""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid

import psycopg
from psycopg import sql

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
_server_url: str | None = None
_tried = False


def _answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _throwaway_cluster() -> str | None:
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        return None
    base = tempfile.mkdtemp(prefix="sanzi-pg-")
    data = os.path.join(base, "data")
    port = _free_port()
    prefix: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        os.chmod(base, 0o777)
        prefix = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*prefix, initdb, "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8"],
                   check=True, capture_output=True)
    subprocess.run([*prefix, pg_ctl, "-D", data, "-w", "-l", os.path.join(base, "log"), "-o",
                    f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off "
                    "-c max_connections=200", "start"], check=True, capture_output=True)
    atexit.register(lambda: subprocess.run([*prefix, pg_ctl, "-D", data, "-m", "immediate", "stop"],
                                           capture_output=True))
    return f"postgresql://postgres@127.0.0.1:{port}/postgres"


def server_url() -> str | None:
    """The admin URL of a reachable PostgreSQL server, or None when there is none to be had."""
    global _server_url, _tried
    if not _tried:
        _tried = True
        url = os.environ.get("SANZI_TEST_PG_URL", DEFAULT_URL)
        if _answers(url):
            _server_url = url
        else:
            try:
                _server_url = _throwaway_cluster()
            except (subprocess.CalledProcessError, OSError):
                _server_url = None
            if _server_url:
                for _ in range(50):
                    if _answers(_server_url):
                        break
                    time.sleep(0.1)
    return _server_url


def create_database() -> str:
    """Create an empty database for this test run; returns its SQLAlchemy URL."""
    admin = server_url()
    assert admin is not None
    name = f"sanzi_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base = admin.rsplit("/", 1)[0]
    return f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"


def drop_database(url: str) -> None:
    admin = server_url()
    if admin is None:
        return
    name = url.rsplit("/", 1)[1]
    assert name.startswith("sanzi_test_")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

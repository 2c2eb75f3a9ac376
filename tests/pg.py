"""A throwaway PostgreSQL (+ PostGIS when installed) server for tests.

Debian's server binaries (``/usr/lib/postgresql/<v>/bin``: ``initdb``, ``pg_ctl``) start a
cluster in a temporary folder on a free 127.0.0.1 port, with a password that needs URL
escaping (``@`` and ``%``), so every URL the product builds goes through the escaping path.
When the binaries (or ``psycopg``) are missing, :func:`start_server` raises
:class:`PgUnavailable` with the reason; fixtures turn that into a skip.

Use it from a test module::

    from tests.pg import PgServer, PgUnavailable, start_server

or through the fixtures of ``tests/conftest.py``: ``pg_server`` (one per session),
``pg_url`` (a fresh empty database per test). ``DISASTER_OPS_TEST_DB=postgres`` makes the
``data_dir``/``engine`` fixtures (and so every test using them, and the CLI processes they
start) use a fresh database on that server instead of SQLite.

Ports: ``DISASTER_OPS_TEST_PG_PORTS`` (``first-last``, default ``18300-18399``) is searched
for a free one.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

PASSWORD = "s3cr@t%pw"  # needs URL escaping: '@' and '%'
USER = "ops"
TEMPLATE_DB = "dops_template"
_counter = itertools.count(1)


class PgUnavailable(RuntimeError):
    """No PostgreSQL server can be started here (the message says why)."""


@dataclass
class PgServer:
    """A running throwaway cluster. ``postgis``: the extension is available (and created in
    the template every new database is copied from)."""

    root: Path
    port: int
    postgis: bool
    run_as: list[str] = field(default_factory=list)
    pg_ctl: str = "pg_ctl"
    host: str = "127.0.0.1"
    user: str = USER
    password: str = PASSWORD

    def url(self, dbname: str) -> str:
        """SQLAlchemy URL (psycopg 3 driver) with the password URL-escaped."""
        return f"postgresql+psycopg://{self.user}:{quote(self.password, safe='')}@{self.host}:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres", **kw):
        import psycopg

        return psycopg.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                               dbname=dbname, **kw)

    def create_database(self, name: str | None = None, *, template: str | None = TEMPLATE_DB) -> str:
        """A new empty database (PostGIS created in it when available); returns its name."""
        name = name or f"t{os.getpid()}_{next(_counter)}"
        tmpl = f" TEMPLATE {template} STRATEGY FILE_COPY" if template else ""
        with self.connect(autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"{tmpl}')
        return name

    def drop_database(self, name: str) -> None:
        with self.connect(autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        subprocess.run([*self.run_as, self.pg_ctl, "-D", str(self.root / "data"), "-m", "immediate", "stop"],
                       check=False, capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)


def _port_range() -> range:
    text = os.environ.get("DISASTER_OPS_TEST_PG_PORTS", "18300-18399")
    first, _, last = text.partition("-")
    return range(int(first), int(last or first) + 1)


def _free_port() -> int:
    ports = list(_port_range())
    start = os.getpid() % len(ports)  # processes starting together try different ports first
    for port in ports[start:] + ports[:start]:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise PgUnavailable(f"no free port in {_port_range()} (DISASTER_OPS_TEST_PG_PORTS)")


def server_binaries() -> tuple[str, str]:
    """``initdb`` and ``pg_ctl`` (Debian keeps them off PATH), or PgUnavailable."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    path = os.pathsep.join([*reversed(bins), os.environ.get("PATH", "")])
    initdb, pg_ctl = shutil.which("initdb", path=path), shutil.which("pg_ctl", path=path)
    if not initdb or not pg_ctl:
        raise PgUnavailable("PostgreSQL server binaries not installed (apt-get install postgresql)")
    return initdb, pg_ctl


def start_server(*, port: int | None = None, with_postgis: bool = True, attempts: int = 4) -> PgServer:
    """Start a cluster in a new temporary folder; the caller stops it (:meth:`PgServer.stop`).
    A port taken between the probe and the server's bind (another test run) is retried."""
    for attempt in range(1, attempts + 1):
        try:
            return _start(port=port, with_postgis=with_postgis)
        except PgUnavailable as exc:
            if port is not None or "already in use" not in str(exc) or attempt == attempts:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _start(*, port: int | None, with_postgis: bool) -> PgServer:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise PgUnavailable("psycopg not installed (pip install 'disaster-ops[postgres]')") from None
    initdb, pg_ctl = server_binaries()
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run the server as the postgres user
        if not shutil.which("runuser") or subprocess.run(["id", "postgres"], check=False,
                                                         capture_output=True).returncode:
            raise PgUnavailable("running as root without a postgres user to run the server as")
        run_as = ["runuser", "-u", "postgres", "--"]
    # Not under pytest's tmp (0700, root's): the postgres user must reach it.
    root = Path(tempfile.mkdtemp(prefix="disaster-ops-pg-"))
    os.chmod(root, 0o777)
    pw = root / "pw"
    pw.write_text(PASSWORD + "\n")
    os.chmod(pw, 0o644)
    data = root / "data"
    port = port or _free_port()
    server = PgServer(root=root, port=port, postgis=False, run_as=run_as, pg_ctl=pg_ctl)
    try:
        subprocess.run([*run_as, initdb, "-D", str(data), "-U", USER, "--auth=scram-sha-256",
                        f"--pwfile={pw}", "-E", "UTF8", "--locale=C.UTF-8"],
                       check=True, capture_output=True, text=True)
        # A test server: durability off (the folder is deleted afterwards), small footprint.
        opts = (f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200 "
                "-c shared_buffers=64MB")
        subprocess.run([*run_as, pg_ctl, "-D", str(data), "-w", "-t", "60", "-l", str(root / "log"),
                        "-o", opts, "start"], check=True, capture_output=True, text=True)
    except subprocess.CalledProcessError as exc:
        log = (root / "log").read_text(errors="replace")[-2000:] if (root / "log").exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise PgUnavailable(f"could not start PostgreSQL: {exc.stderr.strip()[-500:]} {log}") from None
    try:
        with server.connect(autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {TEMPLATE_DB}")
            server.postgis = with_postgis and conn.execute(
                "SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis'").fetchone()[0] > 0
        if server.postgis:
            with server.connect(TEMPLATE_DB, autocommit=True) as conn:
                conn.execute("CREATE EXTENSION postgis")
    except Exception:
        server.stop()
        raise
    return server

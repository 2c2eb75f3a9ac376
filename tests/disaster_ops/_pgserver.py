"""A throwaway PostgreSQL server in a temporary folder (Debian's server binaries), for the
cluster tests and ``benchmarks/scale.py``: ``with pg_server(PORT) as url: ...``."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def pg_binaries() -> tuple[str, str] | None:
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    path = os.pathsep.join([*bins, os.environ.get("PATH", "")])
    initdb, pg_ctl = shutil.which("initdb", path=path), shutil.which("pg_ctl", path=path)
    return (initdb, pg_ctl) if initdb and pg_ctl else None


@contextmanager
def pg_server(port: int, *, settings: tuple[str, ...] = ("fsync=off",)) -> Iterator[str]:
    """Start a server on 127.0.0.1:``port`` (trust auth, user ops, database dops); yields its URL."""
    found = pg_binaries()
    if found is None:
        raise RuntimeError("PostgreSQL server binaries not installed (apt-get install postgresql)")
    initdb, pg_ctl = found
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root
        run_as = ["runuser", "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="disaster-ops-pg-"))
    os.chmod(root, 0o777)
    data = root / "data"
    subprocess.run([*run_as, initdb, "-D", str(data), "-U", "ops", "--auth=trust"], check=True,
                   capture_output=True)
    opts = " ".join([f"-p {port}", f"-k {root}", "-c listen_addresses=127.0.0.1",
                     *[f"-c {s}" for s in settings]])
    subprocess.run([*run_as, pg_ctl, "-D", str(data), "-w", "-l", str(root / "log"), "-o", opts, "start"],
                   check=True, capture_output=True)
    try:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=port, user="ops", dbname="postgres", autocommit=True) as c:
            c.execute("CREATE DATABASE dops")
        yield f"postgresql+psycopg://ops@127.0.0.1:{port}/dops"
    finally:
        subprocess.run([*run_as, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], check=False,
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)

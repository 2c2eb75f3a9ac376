"""ArduPilot's ArduCopter SITL (``../shared/sitl``) as a test peer: a real autopilot.

Each test gets its own instance in a scratch folder under the test's tmp dir, on a free
instance number ``-I 10..19`` (TCP 5860..5950; this project's range), started as the
README of ``../shared/sitl`` says. Tests skip with the reason where the binary is absent
(CI always has it).
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SITL_DIR = Path(os.environ.get("DISASTER_OPS_SHARED_SITL", REPO.parent / "shared" / "sitl"))
BINARY = SITL_DIR / "arducopter-3.6"
PARAMS = SITL_DIR / "copter.parm"
INSTANCES = range(10, 20)


def sitl_binary() -> Path:
    if not BINARY.is_file() or not os.access(BINARY, os.X_OK):
        pytest.skip(f"ArduCopter SITL not present: {BINARY} (CI always has ../shared/sitl)")
    return BINARY


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class Sitl:
    """One running ArduCopter SITL; ``connection`` is what ``fly --connect`` takes."""

    def __init__(self, workdir: Path, *, home: tuple[float, float, float, float],
                 speedup: int = 10) -> None:
        binary = sitl_binary()
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.home = home
        for instance in INSTANCES:
            port = 5760 + 10 * instance
            if all(_port_free(p) for p in (port, port + 2, port + 3)):
                break
        else:
            pytest.skip("no free SITL instance in -I 10..19")
        self.instance, self.port = instance, port
        self.log = open(workdir / "sitl.log", "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [str(binary), "-w", "--model", "quad", "--speedup", str(speedup),
             "--home=" + ",".join(f"{v:g}" for v in home), "--defaults", str(PARAMS),
             "-I", str(instance)],
            cwd=workdir, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        end = time.monotonic() + 20
        while _port_free(port):
            if self.proc.poll() is not None or time.monotonic() > end:
                self.stop()
                raise RuntimeError(f"SITL did not open TCP {port}: {(workdir / 'sitl.log').read_text()[-500:]}")
            time.sleep(0.05)

    @property
    def connection(self) -> str:
        return f"tcp:127.0.0.1:{self.port}"

    def kill(self) -> None:
        """The vehicle vanishes (link loss)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()

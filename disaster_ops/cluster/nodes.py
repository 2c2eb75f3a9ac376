"""``ray start`` command lines with every port pinned, and a local node started and
stopped as one process group (for ``watch --workers N``, the tests and the benchmark).

Ports of a node come from one base: GCS (head only) ``base``, node manager ``base+1``,
object manager ``base+2``, dashboard agent ``base+4``/``base+5``, metrics ``base+6``,
runtime-env agent ``base+7``, workers ``base+100`` .. ``base+199``. The dashboard and
usage statistics are off.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

SLOT_RESOURCE = "watch_slot"


@dataclass(frozen=True)
class NodeSpec:
    port_base: int
    head_address: str | None = None  # None: this is the head
    node_ip: str = "127.0.0.1"
    num_cpus: float = 1
    slots: int = 1  # camera workers this node may host
    object_store_bytes: int = 100_000_000
    temp_dir: str | None = None  # head only
    worker_port_offset: int = 100  # worker processes listen on port_base + offset ...
    worker_ports: int = 100  # ... up to this many ports (a node hosting one camera worker needs few)

    @property
    def gcs_address(self) -> str:
        return self.head_address or f"{self.node_ip}:{self.port_base}"


def ray_executable() -> str:
    exe = Path(sys.executable).with_name("ray")
    return str(exe) if exe.exists() else (shutil.which("ray") or "ray")


def ray_start_command(spec: NodeSpec, *, block: bool = True) -> list[str]:
    b = spec.port_base
    cmd = [ray_executable(), "start", f"--node-ip-address={spec.node_ip}",
           f"--node-manager-port={b + 1}", f"--object-manager-port={b + 2}",
           f"--dashboard-agent-listen-port={b + 4}", f"--dashboard-agent-grpc-port={b + 5}",
           f"--metrics-export-port={b + 6}", f"--runtime-env-agent-port={b + 7}",
           f"--min-worker-port={b + spec.worker_port_offset}",
           f"--max-worker-port={b + spec.worker_port_offset + spec.worker_ports - 1}",
           f"--num-cpus={spec.num_cpus:g}", f"--object-store-memory={spec.object_store_bytes}",
           f"--resources={json.dumps({SLOT_RESOURCE: spec.slots})}", "--disable-usage-stats"]
    if spec.head_address is None:
        cmd += ["--head", f"--port={b}", "--include-dashboard=false"]
        if spec.temp_dir:
            cmd.append(f"--temp-dir={spec.temp_dir}")
    else:
        cmd.append(f"--address={spec.head_address}")
    if block:
        cmd.append("--block")
    return cmd


def node_env() -> dict[str, str]:
    """Environment of a node: no usage stats, this checkout on the workers' path. Ray's own
    dead-node detection keeps its tolerant defaults: on a loaded machine a stricter one
    declared live nodes dead; the coordinator's pings find dead workers in seconds anyway."""
    env = dict(os.environ)
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    repo = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join([repo, *[p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]])
    return env


class LocalNode:
    """One Ray node on this machine, its processes in one process group."""

    def __init__(self, spec: NodeSpec, *, log_path: Path | None = None) -> None:
        self.spec = spec
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self, *, timeout_s: float = 60.0) -> LocalNode:
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115 (the node keeps it)
        self.proc = subprocess.Popen(ray_start_command(self.spec), env=node_env(), stdout=log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        if log is not subprocess.DEVNULL:
            log.close()  # the child has its own copy
        port = self.spec.port_base if self.spec.head_address is None else self.spec.port_base + 1
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ray node on port {port} exited with {self.proc.returncode}"
                                   + (f"; see {self.log_path}" if self.log_path else ""))
            with socket.socket() as s:
                s.settimeout(0.5)
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return self
            time.sleep(0.3)
        self.kill()
        raise TimeoutError(f"ray node on port {port} did not start within {timeout_s:.0f} s")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """End every process of the node (SIGKILL: as if the machine died)."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        if sig != signal.SIGKILL:
            time.sleep(2)
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def stop(self) -> None:
        self.kill(signal.SIGTERM)

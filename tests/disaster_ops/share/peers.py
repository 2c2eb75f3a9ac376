"""Real peers for the sharing tests and benchmarks/share.py: a certificate authority with
server and client certificates, Debian's mosquitto broker with TLS and a password file,
and ports in the share range (18600-18699 on 127.0.0.1)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

PORT_RANGE = range(18600, 18700)


def free_port() -> int:
    """A port of this suite's range that nothing listens on."""
    for port in PORT_RANGE:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        if port not in _used:
            _used.add(port)
            return port
    _used.clear()
    return free_port()


_used: set[int] = set()


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    rogue_cert: Path  # a client certificate signed by some other CA
    rogue_key: Path


def _key():
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _write(path: Path, key, cert) -> None:
    from cryptography.hazmat.primitives import serialization

    path.with_suffix(".key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                           serialization.PrivateFormat.PKCS8,
                                                           serialization.NoEncryption()))
    path.with_suffix(".pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _cert(subject_cn: str, key, issuer_cn: str, issuer_key, *, ca: bool = False, server: bool = False):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)
    b = (x509.CertificateBuilder()
         .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)]))
         .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_cn)]))
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=2))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        b = b.add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
    else:
        b = b.add_extension(x509.ExtendedKeyUsage(
            [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    if server:
        b = b.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def make_pki(d: Path) -> Pki:
    ca_key = _key()
    _write(d / "ca", ca_key, _cert("test-ca", ca_key, "test-ca", ca_key, ca=True))
    k = _key()
    _write(d / "server", k, _cert("localhost", k, "test-ca", ca_key, server=True))
    k = _key()
    _write(d / "client", k, _cert("disaster-ops", k, "test-ca", ca_key))
    other_ca = _key()
    k = _key()
    _write(d / "rogue", k, _cert("rogue", k, "other-ca", other_ca))
    return Pki(d / "ca.pem", d / "server.pem", d / "server.key", d / "client.pem", d / "client.key",
               d / "rogue.pem", d / "rogue.key")


@dataclass(frozen=True)
class Broker:
    port: int
    username: str
    password: str
    ca: Path
    proc: subprocess.Popen


def mosquitto_paths() -> tuple[str, str] | None:
    exe = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
    pw_tool = shutil.which("mosquitto_passwd")
    return (exe, pw_tool) if exe and pw_tool else None


def _wait_port(port: int, proc: subprocess.Popen, log: Path, timeout_s: float = 10.0) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        if proc.poll() is not None:
            raise RuntimeError(f"mosquitto exited: {log.read_text(errors='replace')[-2000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"mosquitto did not listen on {port}")


def start_mosquitto(d: Path, pki: Pki) -> Broker:
    """A real mosquitto on 127.0.0.1 with TLS and user/password (anonymous refused)."""
    exe, pw_tool = mosquitto_paths()
    d.mkdir(parents=True, exist_ok=True)
    pwfile = d / "passwd"
    subprocess.run([pw_tool, "-c", "-b", str(pwfile), "ops", "s3cret-pw"], check=True, capture_output=True)
    pwfile.chmod(0o600)
    port = free_port()
    conf = d / "mosquitto.conf"
    conf.write_text("\n".join([
        "per_listener_settings false", "allow_anonymous false", f"password_file {pwfile}",
        "persistence false", "log_dest stderr", "log_type error", "log_type warning", "user root",
        "max_inflight_messages 1000", "max_queued_messages 100000",
        f"listener {port} 127.0.0.1", f"cafile {pki.ca}", f"certfile {pki.server_cert}",
        f"keyfile {pki.server_key}", "require_certificate false", ""]))
    log = d / "log"
    with log.open("wb") as fh:
        proc = subprocess.Popen([exe, "-c", str(conf)], stdout=fh, stderr=subprocess.STDOUT)
    _wait_port(port, proc, log)
    return Broker(port, "ops", "s3cret-pw", pki.ca, proc)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()

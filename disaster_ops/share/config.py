"""Typed configuration of the live sinks (a TOML file given to ``disaster-ops share run``).

Secrets never sit in the file: MQTT passwords are read from the environment variable the
file names (``password_env``); TLS keys are files the operator protects.

Example::

    poll_s = 1.0
    [cap]
    sender = "ops@gg.go.kr"
    [[mqtt]]
    name = "broker"
    host = "127.0.0.1"
    port = 8883
    tls = true
    ca_file = "ca.pem"
    username = "disaster-ops"
    password_env = "SHARE_MQTT_PASSWORD"
    agencies = ["*"]            # every agency, each under disaster-ops/<agency>/...
    [[tak]]
    name = "police-tak"
    url = "tls://tak.police.example:8089"
    cert_file = "client.pem"
    key_file = "client.key"
    ca_file = "tak-ca.pem"
    agency = "police"
    [[cap_dir]]
    name = "cap"
    dir = "var/cap"
    agencies = ["*"]
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from disaster_ops.errors import InputError


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MqttSinkConfig(_Base):
    name: str = Field("mqtt", description="Name in the audit trail and delivery state.")
    host: str = Field("127.0.0.1", description="Broker host.")
    port: int = Field(1883, ge=1, le=65535, description="Broker port (8883 for TLS by convention).")
    username: str | None = Field(None, description="MQTT user name.")
    password_env: str | None = Field(None, description="Environment variable that holds the password.")
    tls: bool = Field(False, description="Connect over TLS.")
    ca_file: Path | None = Field(None, description="CA certificate(s) to verify the broker (PEM).")
    cert_file: Path | None = Field(None, description="Client certificate (PEM), when the broker asks for one.")
    key_file: Path | None = Field(None, description="Client key (PEM).")
    topic_prefix: str = Field("disaster-ops", pattern=r"^[^#+]+$", description="First topic level(s).")
    agencies: list[str] = Field(["*"], description="Agency names served; '*' = every agency.")
    qos: int = Field(1, ge=0, le=2, description="QoS of every publish.")
    keepalive_s: int = Field(30, ge=5, le=3600, description="MQTT keep-alive, seconds.")
    ack_timeout_s: float = Field(30.0, gt=0, le=600, description="Wait for the broker's PUBACKs, seconds.")

    def password(self) -> str | None:
        if not self.password_env:
            return None
        pw = os.environ.get(self.password_env)
        if pw is None:
            raise InputError(f"mqtt {self.name}: environment variable {self.password_env} (password) is not set")
        return pw


class TakSinkConfig(_Base):
    name: str = Field("tak", description="Name in the audit trail and delivery state.")
    url: str = Field(..., pattern=r"^(tcp|tls)://[^/]+:\d+$", description="tcp://host:port or tls://host:port.")
    cert_file: Path | None = Field(None, description="Client certificate (PEM) for TLS.")
    key_file: Path | None = Field(None, description="Client key (PEM) for TLS.")
    ca_file: Path | None = Field(None, description="CA that signed the TAK server's certificate (PEM).")
    agency: str | None = Field(None, description="Agency whose rule filters this server; None = everything.")
    stale_s: float = Field(300.0, ge=30, le=86400, description="Stale time of incident events, seconds.")
    resend_s: float = Field(120.0, ge=5, le=86400, description="Re-send live incidents this often, seconds.")

    @model_validator(mode="after")
    def _tls_needs_cert(self) -> TakSinkConfig:
        if self.url.startswith("tls://") and not (self.cert_file and self.key_file):
            raise ValueError("a tls:// TAK server needs cert_file and key_file (client certificate)")
        if self.resend_s >= self.stale_s:
            raise ValueError("resend_s must be shorter than stale_s, or live incidents go stale")
        return self


class CapDirSinkConfig(_Base):
    name: str = Field("cap", description="Name in the audit trail.")
    dir: Path = Field(..., description="Folder served to CAP aggregators; one sub-folder per agency.")
    agencies: list[str] = Field(["*"], description="Agency names served; '*' = every agency.")


class CapConfig(_Base):
    sender: str = Field("disaster-ops@localhost", pattern=r"^[^\s,<&]+$", description="CAP <sender>.")
    id_prefix: str = Field("disaster-ops", pattern=r"^[^\s,<&]+$", description="Prefix of CAP identifiers.")
    expires_after_s: float = Field(3600.0, ge=60, le=7 * 86400, description="CAP <expires> after sent, s.")
    public_url: str | None = Field(None, pattern=r"^https?://[^\s<>\"&]+$",
                                   description="The GIS feed (share gis) as agencies reach it; when set, CAP "
                                               "<resource> and CoT <link> point to its blurred snapshots.")


class ShareConfig(_Base):
    poll_s: float = Field(1.0, gt=0.0, le=60.0, description="How often the database is read, seconds.")
    camera_poll_s: float = Field(30.0, ge=1.0, le=3600.0, description="How often camera health is read, s.")
    audit_window_s: float = Field(60.0, ge=0.0, le=3600.0,
                                  description="One audit row per sink and agency per window (0: per push).")
    cap: CapConfig = Field(default_factory=CapConfig)
    mqtt: list[MqttSinkConfig] = Field(default_factory=list)
    tak: list[TakSinkConfig] = Field(default_factory=list)
    cap_dir: list[CapDirSinkConfig] = Field(default_factory=list)


def load_share_config(path: Path) -> ShareConfig:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not TOML: {exc}") from exc
    try:
        return ShareConfig.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        raise InputError(f"{path}: field {field!r}: {err['msg']}") from exc

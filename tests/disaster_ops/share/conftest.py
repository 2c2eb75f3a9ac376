"""Fixtures for the sharing tests: real peers from :mod:`peers` (CA, mosquitto)."""

from __future__ import annotations

import pytest

from tests.disaster_ops.share.peers import (
    Broker,
    Pki,
    make_pki,
    mosquitto_paths,
    start_mosquitto,
    stop,
)


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def broker(tmp_path, pki) -> Broker:
    """A real mosquitto on 127.0.0.1 with TLS and user/password (anonymous refused)."""
    if mosquitto_paths() is None:
        pytest.skip("Debian's mosquitto is not installed (apt-get install mosquitto; .ci/run installs it)")
    b = start_mosquitto(tmp_path / "mosquitto", pki)
    try:
        yield b
    finally:
        stop(b.proc)

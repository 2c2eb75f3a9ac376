"""``disaster-ops share run``: the publisher as a user starts it, with a CAP directory per
agency that an aggregator polls; bad configuration is one line and exit 2."""

from __future__ import annotations

from datetime import UTC, datetime

import shapely
from lxml import etree

from disaster_ops.incidents import GroundDetection
from disaster_ops.services.agencies import create_agency
from disaster_ops.services.incidents import ingest
from disaster_ops.services.roles import Principal, Role
from tests.conftest import REPO, run_cli

ADMIN = Principal("admin", Role.ADMIN)


def test_share_run_once_writes_a_cap_directory_per_agency(engine, data_dir, tmp_path):
    create_agency("south", principal=ADMIN, engine=engine,
                  region_geojson=shapely.to_geojson(shapely.box(129.0, 35.05, 129.06, 35.13)))
    create_agency("north", principal=ADMIN, engine=engine,
                  region_geojson=shapely.to_geojson(shapely.box(129.0, 35.18, 129.06, 35.25)))
    det = GroundDetection(source_kind="cctv", source_id="c1", observed_at=datetime.now(UTC), kind="fire",
                          confidence=0.9, bbox_px=(0, 0, 9, 9), ground_lat=35.1, ground_lon=129.03)
    inc = ingest([det], engine=engine)[0].incident_id
    cfg = tmp_path / "share.toml"
    cfg.write_text(f'[cap]\nsender = "ops@gg.go.kr"\n[[cap_dir]]\ndir = "{tmp_path / "cap"}"\n')
    r = run_cli("share", "run", "--config", str(cfg), "--once",
                env_extra={"DISASTER_OPS_DATA_DIR": str(data_dir)})
    assert r.returncode == 0, r.stderr
    south = sorted(p.name for p in (tmp_path / "cap" / "south").iterdir())
    assert south == [f"disaster-ops.incident.{inc}.1.xml", "index.atom"]
    assert [p.name for p in (tmp_path / "cap" / "north").iterdir()] == ["index.atom"]  # nothing from the south
    schema_path = REPO.parent / "shared" / "standards" / "CAP-v1.2-schema.xsd"
    if schema_path.exists():
        etree.XMLSchema(etree.parse(str(schema_path))).assertValid(
            etree.parse(str(tmp_path / "cap" / "south" / south[0])))


def test_bad_config_is_one_line_and_exit_2(data_dir, tmp_path):
    env = {"DISASTER_OPS_DATA_DIR": str(data_dir)}
    cases = {
        "nope = 1\n": "nope",
        "[[tak]]\nurl = \"tls://h:1\"\n": "cert_file",
        "[[mqtt]]\nport = 99999\n": "mqtt.0.port",
        "poll_s = \n": "not TOML",
        "": "no sink",
    }
    for text, word in cases.items():
        cfg = tmp_path / "c.toml"
        cfg.write_text(text)
        r = run_cli("share", "run", "--config", str(cfg), "--once", env_extra=env)
        assert r.returncode == 2 and word in r.stderr and len(r.stderr.strip().splitlines()) == 1, (text, r.stderr)
    r = run_cli("share", "run", "--config", str(tmp_path / "missing.toml"), env_extra=env)
    assert r.returncode == 2 and "cannot read" in r.stderr

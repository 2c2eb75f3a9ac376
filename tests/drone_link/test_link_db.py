"""Drones, missions and live state recorded through disaster_ops.services.drones (real SQLite)."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from disaster_ops.services import drones
from disaster_ops.storage.models import AuditEvent, DroneState, MissionStatus
from disaster_ops.storage.models import Mission as MissionRow
from drone_link.link import MissionProgress, Telemetry
from drone_link.mission import Mission

from .conftest import square_mission


def test_register_is_an_upsert_by_name(engine):
    with Session(engine) as s:
        a = drones.register_drone(s, name="alpha", connection="udpin:0.0.0.0:14550", system_id=1)
        b = drones.register_drone(s, name="alpha", connection="udpin:0.0.0.0:14551", system_id=2,
                                  autopilot="px4", signing_key_ref="env:ALPHA_KEY")
        s.commit()
        assert a.id == b.id and b.connection.endswith("14551") and b.system_id == 2
        assert b.signing_key_ref == "env:ALPHA_KEY"
        assert len(s.exec(select(AuditEvent).where(AuditEvent.action == "drone.register")).all()) == 1
    with Session(engine) as s, pytest.raises(ValueError, match="name"):
        drones.register_drone(s, name=" ", connection="udp:127.0.0.1:1")


def test_mission_row_life_cycle_and_state(engine):
    mission = square_mission(3)
    with Session(engine) as s:
        d = drones.register_drone(s, name="bravo", connection="udpin:0.0.0.0:14550")
        row = drones.record_mission(s, mission, name="m1", drone_id=d.id,
                                    status=MissionStatus.UPLOADING)
        drones.set_mission_status(s, row.id, MissionStatus.UPLOADED)
        drones.set_mission_status(s, row.id, MissionStatus.ACTIVE, current_seq=2)
        drones.set_mission_status(s, row.id, MissionStatus.COMPLETED, current_seq=5)
        t = Telemetry(lat_deg=37.57, lon_deg=126.98, alt_rel_m=20.0, mode="AUTO", armed=True,
                      battery_pct=80.0, vn_m_s=3.0, ve_m_s=4.0)
        drones.update_drone_state(s, d.id, t, link_ok=True,
                                  progress=MissionProgress(4, (0, 1, 2, 3), 6))
        drones.update_drone_state(s, d.id, t, link_ok=False)  # overwrites the one row
        s.commit()
        drone_id, row_id = d.id, row.id
    with Session(engine) as s:
        row = s.get(MissionRow, row_id)
        assert str(getattr(row.status, "value", row.status)) == "completed" and row.current_seq == 5
        items = json.loads(row.items_json)
        assert len(items) == len(mission.items) and items[0]["command"] == 22
        geom = json.loads(row.zone_geojson)
        assert geom["type"] == "Polygon" and row.min_lat <= 37.5665 <= row.max_lat
        states = s.exec(select(DroneState)).all()
        assert len(states) == 1 and states[0].drone_id == drone_id
        assert states[0].ground_speed_m_s == pytest.approx(5.0) and states[0].link_ok is False
        actions = [e.action for e in s.exec(select(AuditEvent)).all()]
        assert "mission.active" in actions and "mission.completed" in actions
        with pytest.raises(LookupError):
            drones.set_mission_status(s, 999, MissionStatus.ACTIVE)


def test_mission_without_position_is_refused(engine):
    with Session(engine) as s, pytest.raises(ValueError, match="no positioned item"):
        drones.record_mission(s, Mission(items=[]))

"""The live publisher: watches the database and pushes changes to every configured sink,
each agency filtered by its sharing rule, every push audited (aggregated per window).

One ``tick`` reads open incidents (plus those a sink still shows as live, so it can send
their ``end``), drones and, every ``camera_poll_s``, camera health; diffs them against
what each sink told each agency (:class:`DeliveryBook`), pushes the changes and records
them. CAP messages come from the ledger (so they chain) and are written per agency.
A sink that fails is logged and retried on the next tick; nothing is recorded as sent
until the broker or server took it.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from disaster_ops.exports.cot import drone_event, expire_event, incident_events
from disaster_ops.services import cap_ledger
from disaster_ops.services.agencies import list_agencies as _list_agencies
from disaster_ops.services.agencies import scope_of
from disaster_ops.services.evidence import snapshot_url
from disaster_ops.services.roles import Principal
from disaster_ops.share.audit_batch import AuditBatcher
from disaster_ops.share.cap_dir import write_cap_directory
from disaster_ops.share.config import ShareConfig
from disaster_ops.share.delivery import Change, ChangeType, DeliveryBook
from disaster_ops.share.mqtt_sink import MqttSink, SinkError
from disaster_ops.share.scope import AgencyScope
from disaster_ops.share.tak_sink import TakSink
from disaster_ops.share.views import (
    CameraShare,
    DroneShare,
    IncidentShare,
    fingerprint,
    load_cameras,
    load_drones,
    load_incidents,
)
from disaster_ops.storage.models import ShareDelivery

logger = logging.getLogger(__name__)
ALL = "*"


@dataclass
class TickReport:
    changes: int = 0
    messages: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class _Snapshot:
    incidents: list[IncidentShare]
    drones: list[DroneShare]
    cameras: list[CameraShare] | None


class Publisher:
    def __init__(self, cfg: ShareConfig, *, engine: Engine, mqtt_sinks: list[MqttSink] = (),
                 tak_sinks: list[TakSink] = (), clock=time.monotonic):
        self.cfg, self.engine, self.clock = cfg, engine, clock
        self.mqtt_sinks, self.tak_sinks = list(mqtt_sinks), list(tak_sinks)
        self.principal = Principal.system("share")
        self.audit = AuditBatcher(engine, self.principal, window_s=cfg.audit_window_s, clock=clock)
        self.cap_settings = cap_ledger.CapSettings(cfg.cap.sender, cfg.cap.id_prefix, cfg.cap.expires_after_s,
                                                   cfg.cap.public_url)
        self._books: dict[tuple[str, str], DeliveryBook] = {}
        self._scopes: dict[str, AgencyScope] = {}
        self._scopes_at = -1e18
        self._cameras_at = -1e18
        self._tak_sent_at: dict[tuple[str, str], float] = {}
        self._cap_written = False
        self._states: dict[tuple[int, bool], tuple] = {}  # (id, media) -> (version, state, fingerprint)

    # -- audiences ---------------------------------------------------------------------
    def _refresh_scopes(self) -> None:
        if self.clock() - self._scopes_at < 10.0:
            return
        self._scopes = {a.name: scope_of(a) for a in _list_agencies(engine=self.engine)}
        self._scopes_at = self.clock()

    def _audience(self, names: list[str]) -> list[tuple[str, AgencyScope | None]]:
        out: list[tuple[str, AgencyScope | None]] = []
        for n in names:
            if n == ALL:
                out += sorted(self._scopes.items())
            else:  # a configured agency without a record receives nothing (fail closed)
                out.append((n, self._scopes.get(n) or AgencyScope.nothing(n)))
        return list(dict(out).items())

    def _book(self, sink: str, agency: str) -> DeliveryBook:
        key = (sink, agency)
        if key not in self._books:
            self._books[key] = DeliveryBook(self.engine, sink, agency)
        return self._books[key]

    # -- reading -----------------------------------------------------------------------
    def _read(self) -> _Snapshot:
        with Session(self.engine) as s:
            live_ids = set()
            for b in self._books.values():
                live_ids.update(int(k.split(":", 1)[1]) for k in b.live_keys("incident:"))
            if not self._books:  # first tick: what earlier runs left live
                rows = s.exec(select(ShareDelivery.object_key).where(ShareDelivery.ended.is_(False),
                                                                     ShareDelivery.object_key.like("incident:%")))
                live_ids.update(int(k.split(":", 1)[1]) for k in rows)
            incidents = load_incidents(s, open_only=True, also_ids=sorted(live_ids))
            drones = load_drones(s)
            cameras = None
            if self.mqtt_sinks and self.clock() - self._cameras_at >= self.cfg.camera_poll_s:
                cameras = load_cameras(s)
                self._cameras_at = self.clock()
        return _Snapshot(incidents, drones, cameras)

    # -- one tick ----------------------------------------------------------------------
    def tick(self) -> TickReport:
        rep = TickReport()
        self._refresh_scopes()
        snap = self._read()
        self._push_cap(rep)
        for sink in self.mqtt_sinks:
            for agency, scope in self._audience(sink.cfg.agencies):
                self._push_mqtt(sink, agency, scope, snap, rep)
        for sink in self.tak_sinks:
            agency = sink.cfg.agency
            scope = None if agency is None else (self._scopes.get(agency) or AgencyScope.nothing(agency))
            self._push_tak(sink, agency or ALL, scope, snap, rep)
        self.audit.maybe_flush()
        return rep

    def _incident_states(self, snap: _Snapshot, scope: AgencyScope | None, media: bool) -> dict:
        out = {}
        for i in snap.incidents:
            if not i.admitted_by(scope):
                continue
            ver = i.version
            hit = self._states.get((i.id, media))
            if hit is None or hit[0] != ver:
                st = i.state(include_media=media)
                hit = (ver, st, fingerprint(st))
                self._states[(i.id, media)] = hit
            out[f"incident:{i.id}"] = (hit[1], i.is_open, i, hit[2])
        return out

    def _push_mqtt(self, sink: MqttSink, agency: str, scope: AgencyScope | None, snap: _Snapshot,
                   rep: TickReport) -> None:
        book = self._book(sink.name, agency)
        media = scope is None or scope.include_media
        changes = book.diff(self._incident_states(snap, scope, media), prefix="incident:")
        drones = {f"drone:{d.name}": (d.state(), True, d) for d in snap.drones
                  if scope is None or scope.admits_point(d.lat, d.lon)}
        changes += book.diff(drones, prefix="drone:")
        if snap.cameras is not None:
            cams = {f"camera:{c.key}": ({"key": c.key, "name": c.name, "status": c.status}, True, c)
                    for c in snap.cameras if scope is None or scope.admits_point(c.lat, c.lon)}
            changes += book.diff(cams, prefix="camera:")
        if not changes:
            return
        try:
            n = sink.push(agency, changes, include_media=media)
        except SinkError as exc:
            logger.error("%s", exc)
            rep.errors.append(str(exc))
            return
        book.commit(changes)
        self._account(sink.name, agency, changes, n, rep)

    def _push_tak(self, sink: TakSink, agency: str, scope: AgencyScope | None, snap: _Snapshot,
                  rep: TickReport) -> None:
        book = self._book(sink.name, agency)
        now_wall = datetime.now(UTC)
        now = self.clock()
        current = self._incident_states(snap, scope, False)
        changes = book.diff(current, prefix="incident:")
        changed = {c.key for c in changes}
        # keep-alive: live incidents are re-sent before they go stale
        for key, (_state, live, inc, _fp) in current.items():
            if live and key not in changed and now - self._tak_sent_at.get((sink.name, key), -1e18) >= sink.cfg.resend_s:
                changes.append(Change(key, ChangeType.UPDATE, None, _state, inc))
        drones = {f"drone:{d.name}": (d.state(), True, d) for d in snap.drones
                  if scope is None or scope.admits_point(d.lat, d.lon)}
        changes += book.diff(drones, prefix="drone:")
        if not changes:
            return
        events: list[bytes] = []
        for c in changes:
            if c.key.startswith("incident:"):
                inc = c.obj
                if inc is None:  # left the scope: expire its marker on the clients now
                    events.append(expire_event(int(c.key.split(":", 1)[1]), lat=c.before["lat"],
                                               lon=c.before["lon"], now=now_wall, prefix=self.cfg.cap.id_prefix))
                    continue
                media = scope is None or scope.include_media
                events += incident_events(inc, now=now_wall, stale_s=sink.cfg.stale_s,
                                          prefix=self.cfg.cap.id_prefix,
                                          snapshot_url=snapshot_url(self.cfg.cap.public_url, inc.id) if media else None)
            else:
                events.append(drone_event(c.obj, now=now_wall, prefix=self.cfg.cap.id_prefix))
        try:
            n = sink.send(events)
        except SinkError as exc:
            logger.error("%s", exc)
            rep.errors.append(str(exc))
            return
        book.commit([c for c in changes if c.before is not None or c.type is not ChangeType.UPDATE])
        for c in changes:
            self._tak_sent_at[(sink.name, c.key)] = now
        self._account(sink.name, agency, changes, n, rep)

    def _push_cap(self, rep: TickReport) -> None:
        if not self.cfg.cap_dir:
            return
        issued = cap_ledger.sync(engine=self.engine, settings=self.cap_settings)
        if not issued and self._cap_written:
            return
        by_incident = {m.incident_id: m for m in issued}
        for d in self.cfg.cap_dir:
            for agency, scope in self._audience(d.agencies):
                msgs = cap_ledger.current(engine=self.engine, scope=scope)
                try:
                    write_cap_directory(d.dir / agency, msgs, feed_id=f"urn:disaster-ops:cap:{agency}",
                                        title=f"disaster-ops CAP alerts for {agency}")
                except OSError as exc:
                    rep.errors.append(f"cap {d.name}: {d.dir}: {exc}")
                    continue
                mine = [by_incident[m.incident_id] for m in msgs if m.incident_id in by_incident]
                counts: dict[str, int] = {}
                for m in mine:
                    counts[m.msg_type] = counts.get(m.msg_type, 0) + 1
                self.audit.add(d.name, agency, counts=counts, incident_ids=[m.incident_id for m in mine],
                               messages=len(mine))
                rep.messages += len(mine)
        self._cap_written = True

    def _account(self, sink: str, agency: str, changes: list[Change], messages: int, rep: TickReport) -> None:
        counts: dict[str, int] = {}
        for c in changes:
            counts[c.type.value] = counts.get(c.type.value, 0) + 1
        ids = [int(c.key.split(":", 1)[1]) for c in changes if c.key.startswith("incident:")]
        self.audit.add(sink, agency, counts=counts, incident_ids=ids, messages=messages)
        rep.changes += len(changes)
        rep.messages += messages

    # -- loop ----------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Tick every ``poll_s`` until ``stop`` is set; flush the audit on the way out."""
        try:
            while not stop.is_set():
                t0 = self.clock()
                try:
                    rep = self.tick()
                    if rep.messages:
                        logger.info("share: %d change(s), %d message(s)", rep.changes, rep.messages)
                except Exception:
                    logger.exception("share: tick failed")
                stop.wait(max(0.0, self.cfg.poll_s - (self.clock() - t0)))
        finally:
            self.audit.flush()

"""Read-only GIS feed: incidents, cameras and coverage gaps as GeoJSON over HTTP, for QGIS
and agency GIS, each agency seeing only what its sharing rule admits.

Every request needs the agency's API token (``Authorization: Bearer TOKEN``, or
``?token=TOKEN`` for clients that cannot set headers, such as a plain QGIS vector layer
URL). Tokens are checked against their SHA-256 in the database. Requests are audited,
aggregated per agency per window like pushes.

Routes: ``/incidents.geojson``, ``/cameras.geojson``, ``/gaps.geojson`` (zones no camera
sees around each open incident in scope), ``/cap/index.atom`` (the agency's CAP feed) and
``/cap/IDENTIFIER.xml``, ``/snapshots/INCIDENT_ID.jpg`` (the incident's newest snapshot,
faces and heads blurred, only for agencies whose rule includes media and admits the
incident; the raw file is never served here: ``services/evidence``). Only GET; stdlib ``http.server``, bound to the address given.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from sqlalchemy.engine import Engine
from sqlmodel import Session

from disaster_ops.exports.atom import atom_feed
from disaster_ops.services import cap_ledger
from disaster_ops.services.agencies import agency_for_token, scope_of
from disaster_ops.services.roles import Principal
from disaster_ops.share.audit_batch import AuditBatcher
from disaster_ops.share.cap_dir import entries
from disaster_ops.share.gis import cameras_feature_collection, incidents_feature_collection
from disaster_ops.share.scope import AgencyScope
from disaster_ops.share.views import load_cameras, load_incidents

logger = logging.getLogger(__name__)
_IDENT_RE = re.compile(r"^/cap/([^/\s]{1,200})\.xml$")
_SNAP_RE = re.compile(r"^/snapshots/([0-9]{1,12})\.jpg$")
MAX_GAP_INCIDENTS = 20


class GisFeed:
    """The data side of the feed (no HTTP here), so it is testable on its own."""

    def __init__(self, engine: Engine, *, audit_window_s: float = 60.0):
        self.engine = engine
        self.audit = AuditBatcher(engine, Principal.system("gis-feed"), window_s=audit_window_s)
        self._lock = threading.Lock()

    def incidents(self, scope: AgencyScope) -> dict:
        with Session(self.engine) as s:
            incs = [i for i in load_incidents(s) if i.admitted_by(scope)]
        self._audit(scope, "incidents", [i.id for i in incs])
        return incidents_feature_collection(incs, include_media=scope.include_media)

    def cameras(self, scope: AgencyScope) -> dict:
        with Session(self.engine) as s:
            cams = [c for c in load_cameras(s) if scope.admits_point(c.lat, c.lon)]
        self._audit(scope, "cameras", [])
        return cameras_feature_collection(cams, include_media=scope.include_media)

    def gaps(self, scope: AgencyScope) -> dict:
        from disaster_ops.services.cop import blind_spots_geojson, incident_markers

        markers = [m for m in incident_markers(engine=self.engine, scope=scope)]
        self._audit(scope, "gaps", [m.id for m in markers[:MAX_GAP_INCIDENTS]])
        return blind_spots_geojson(markers, engine=self.engine, max_incidents=MAX_GAP_INCIDENTS)

    def cap_index(self, scope: AgencyScope) -> bytes:
        msgs = cap_ledger.current(engine=self.engine, scope=scope)
        self._audit(scope, "cap", [m.incident_id for m in msgs])
        return atom_feed(entries(msgs), feed_id=f"urn:disaster-ops:cap:{scope.name}",
                         title=f"disaster-ops CAP alerts for {scope.name}", self_href="index.atom")

    def cap_message(self, scope: AgencyScope, ident: str) -> bytes | None:
        for m in cap_ledger.current(engine=self.engine, scope=scope, cancelled_within_s=7 * 86400):
            chain = cap_ledger.chain_of(m.incident_id, engine=self.engine)
            for c in chain:
                if c.identifier == ident:
                    self._audit(scope, "cap", [c.incident_id])
                    return c.xml
        return None

    def snapshot(self, scope: AgencyScope, incident_id: int) -> bytes | None:
        """The blurred newest snapshot of an incident the agency may see, else None."""
        from disaster_ops.services.evidence import incident_snapshot

        if not scope.include_media:
            return None
        with Session(self.engine) as s:
            views = load_incidents(s, only_ids=[incident_id])
        if not views or not views[0].admitted_by(scope):
            return None
        data = incident_snapshot(incident_id, principal=None, engine=self.engine)
        if data is not None:
            self._audit(scope, "snapshot", [incident_id])
        return data

    def _audit(self, scope: AgencyScope, layer: str, ids: list[int]) -> None:
        with self._lock:
            self.audit.add("gis-feed", scope.name, counts={layer: 1}, incident_ids=ids, messages=1)
            self.audit.maybe_flush()

    def close(self) -> None:
        with self._lock:
            self.audit.flush()


def make_handler(feed: GisFeed):
    class Handler(BaseHTTPRequestHandler):
        server_version = "disaster-ops-gis"

        def log_message(self, fmt, *args):  # requests go to logging, not stderr
            logger.debug("gis %s - %s", self.address_string(), fmt % args)

        def _send(self, code: int, body: bytes, ctype: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _error(self, code: int, msg: str) -> None:
            self._send(code, json.dumps({"error": msg}).encode(), "application/json")

        def _scope(self, query: dict) -> AgencyScope | None:
            auth = self.headers.get("Authorization", "")
            token = auth[7:].strip() if auth.startswith("Bearer ") else (query.get("token") or [""])[0]
            agency = agency_for_token(token, engine=feed.engine)
            return None if agency is None else scope_of(agency)

        def do_GET(self):
            url = urlsplit(self.path)
            scope = self._scope(parse_qs(url.query))
            if scope is None:
                self._error(401, "an agency API token is required (Authorization: Bearer TOKEN)")
                return
            geo = "application/geo+json"
            try:
                if url.path == "/incidents.geojson":
                    self._send(200, json.dumps(feed.incidents(scope), ensure_ascii=False).encode(), geo)
                elif url.path == "/cameras.geojson":
                    self._send(200, json.dumps(feed.cameras(scope), ensure_ascii=False).encode(), geo)
                elif url.path == "/gaps.geojson":
                    self._send(200, json.dumps(feed.gaps(scope), ensure_ascii=False).encode(), geo)
                elif url.path == "/cap/index.atom":
                    self._send(200, feed.cap_index(scope), "application/atom+xml")
                elif (m := _SNAP_RE.match(url.path)) is not None:
                    body = feed.snapshot(scope, int(m.group(1)))
                    if body is None:
                        self._error(404, "no snapshot of that incident for this agency")
                    else:
                        self._send(200, body, "image/jpeg")
                elif (m := _IDENT_RE.match(url.path)) is not None:
                    body = feed.cap_message(scope, m.group(1))
                    if body is None:
                        self._error(404, "no such CAP message for this agency")
                    else:
                        self._send(200, body, "application/cap+xml")
                else:
                    self._error(404, "routes: /incidents.geojson /cameras.geojson /gaps.geojson /cap/index.atom "
                                     "/snapshots/ID.jpg")
            except Exception:
                logger.exception("gis feed: %s failed", url.path)
                self._error(500, "internal error")

    return Handler


def serve(feed: GisFeed, host: str, port: int) -> ThreadingHTTPServer:
    """A started server (call ``shutdown()`` to stop); the caller owns the thread."""
    srv = ThreadingHTTPServer((host, port), make_handler(feed))
    srv.daemon_threads = True
    return srv

"""Incident exports from incident rows (the one-shot helpers; the live sinks use the same
builders through ``disaster_ops.share``).

- GeoJSON FeatureCollection (WGS84, ``[lon, lat]``): for GIS and web maps.
- CoT (Cursor on Target): a stream of ``<event>`` documents back to back, one per line
  (spot marker + area shapes per incident; see :mod:`disaster_ops.exports.cot`).
- CAP 1.2 messages are not built here: they must chain (Alert -> Update -> Cancel with
  ``<references>``), so they come from the ledger, :mod:`disaster_ops.services.cap_ledger`,
  built by :func:`disaster_ops.exports.cap.cap_alert`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from disaster_ops.exports.cap import CAP_NS
from disaster_ops.exports.cot import incident_events
from disaster_ops.share.gis import incidents_feature_collection
from disaster_ops.share.views import incident_share
from disaster_ops.storage.models import Incident

__all__ = ["CAP_NS", "incidents_cot", "incidents_geojson"]


def incidents_geojson(incidents: Iterable[Incident]) -> dict:
    return incidents_feature_collection(incident_share(i) for i in incidents)


def incidents_cot(incidents: Iterable[Incident], *, stale_s: float = 300.0) -> bytes:
    now = datetime.now(UTC)
    return b"\n".join(e for i in incidents for e in incident_events(incident_share(i), now=now, stale_s=stale_s))

"""Exports of incidents for other systems: GeoJSON, CAP 1.2 alerts, Cursor-on-Target events."""

from disaster_ops.exports.formats import incidents_cot, incidents_geojson

__all__ = ["incidents_cot", "incidents_geojson"]

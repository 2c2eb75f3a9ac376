"""GeoJSON FeatureCollections (WGS84, ``[lon, lat]``) of what an agency may see."""

from __future__ import annotations

import json
from collections.abc import Iterable

import shapely

from disaster_ops.share.views import CameraShare, IncidentShare


def incidents_feature_collection(incs: Iterable[IncidentShare], *, include_media: bool = False) -> dict:
    feats = []
    for i in incs:
        props = i.state(include_media=include_media)
        props.pop("area")
        feats.append({"type": "Feature", "id": i.id, "geometry": json.loads(shapely.to_geojson(i.geometry)),
                      "properties": props})
    return {"type": "FeatureCollection", "features": feats}


def cameras_feature_collection(cams: Iterable[CameraShare], *, include_media: bool = False) -> dict:
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": c.key, "geometry": {"type": "Point", "coordinates": [c.lon, c.lat]},
         "properties": c.state(include_media=include_media)} for c in cams]}

"""Pure geometry for disaster-ops: no database, no UI.

Modules (import what you need; ``geo.homography`` pulls in OpenCV):

* :mod:`geo.crs` — WGS84 ↔ local metric frames (UTM, camera-centred tangent frame).
* :mod:`geo.sectors` — vectorised camera view sectors with per-camera validity.
* :mod:`geo.aoi` — areas of interest: GeoJSON / polygons / point + radius, repaired or rejected.
* :mod:`geo.coverage` — uncovered zones, :class:`~geo.coverage.CoverageIndex`, tiled coverage.
* :mod:`geo.union` — coverage-aware union helpers (dedupe, disc containment).
* :mod:`geo.camera_model` — :class:`~geo.camera_model.CameraIntrinsics` (HFOV / sensor, footprint, GSD).
* :mod:`geo.projection` — posed pinhole camera: pixel ↔ ground on flat ground, boxes and outlines.
* :mod:`geo.homography` — fixed-camera calibration from control points; JSON (de)serialisation.
* :mod:`geo.aerial` — drone camera pose from telemetry and gimbal, image footprint.
* :mod:`geo.errors` — :class:`~geo.errors.GeoError` and subclasses.
"""

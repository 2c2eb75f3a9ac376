"""Sharing the picture with other agencies: who receives what (scope), what they receive
(typed views of incidents, cameras, drones), and the live sinks (MQTT, TAK, CAP directory),
driven by the publisher loop and a read-only GeoJSON feed over HTTP."""

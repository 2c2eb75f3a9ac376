"""People analytics on the hazard pipeline: persons, tracks, and the events made from them.

Stages, in the order a frame meets them: the ``person`` detector plugin
(``detect/backends/person_yolo``: boxes with posture) -> ``tracking`` (ByteTrack, one
tracker per camera: track ids) -> the event monitors ``collapse``, ``crowding`` and
``loitering`` -> :class:`~disaster_ops.people.events.PeopleEvent` records, wired together
per camera by ``analyzer.PeopleAnalyzer``. Settings: ``config.PeopleConfig`` (part of a
camera's detection settings).
"""

"""``disaster-ops aerial``: one drone's video + telemetry → detections → incidents, live footprint.

    disaster-ops aerial --drone sim-1 --video http://127.0.0.1:8081/video.mjpg --connect udpin:127.0.0.1:14551
    disaster-ops aerial --drone m3e --video flight.mp4 --srt flight.SRT          # DJI recording
    disaster-ops aerial --drone x8 --video flight.mp4 --tlog flight.tlog --time-offset-s 2.5
    disaster-ops aerial --drone m3e --video flight.mp4 --srt flight.SRT --people  # + person sightings

Live (``--connect``): telemetry is timed by arrival; a frame by the capture time its
sender stamps on it (HTTP MJPEG ``X-Timestamp``: mjpg-streamer, the simulated camera),
else by its arrival less ``--video-delay-s`` (measure it for the drone's video link:
RTSP/UDP links typically deliver frames 0.1-0.3 s after capture; 16 m/s × 0.2 s = 3 m).
Recorded (``--tlog`` / ``--srt``): the video file is read in order and frame times are
its position; an ``.SRT`` shares the video's clock, a ``.tlog`` is assumed to start
with the video unless ``--time-offset-s`` says how many seconds into the log the video
starts.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import typer

from disaster_ops.cli._common import app, fail, print_json
from disaster_ops.storage.migrate import ensure_schema


@app.command("aerial")
def aerial(
    drone: str = typer.Option(..., "--drone", help="Drone name (registered if new)."),
    video: str = typer.Option(..., "--video", help="RTSP/udp:///HTTP-MJPEG URL, an .sdp file, or a video file."),
    connect: str | None = typer.Option(None, "--connect", help="Live MAVLink telemetry (e.g. udpin:127.0.0.1:14551)."),
    tlog: Path | None = typer.Option(None, "--tlog", help="Recorded MAVLink telemetry log for a video file."),
    srt: Path | None = typer.Option(None, "--srt", help="DJI per-frame subtitle file for a video file."),
    fps: float = typer.Option(2.0, "--fps", min=0.1, max=30.0, help="Frames per second sent to the detector."),
    max_pose_age_s: float = typer.Option(0.5, "--max-pose-age-s", min=0.01,
                                         help="A frame this far from telemetry is un-georeferenced."),
    time_offset_s: float = typer.Option(0.0, "--time-offset-s", help="Recorded: seconds into the log the video starts."),
    video_delay_s: float = typer.Option(0.0, "--video-delay-s", min=0.0,
                                        help="Live: capture-to-arrival delay of the video link, s, subtracted from "
                                             "the arrival time of frames that carry no capture stamp. "
                                             "Example: --video-delay-s 0.2"),
    report_interval_s: float = typer.Option(5.0, "--report-interval-s", min=0.0,
                                            help="Report a confirmed hazard again at most every this many "
                                                 "seconds (0: every confirmed frame). Example: --report-interval-s 1"),
    hfov_deg: float = typer.Option(84.0, "--hfov-deg", min=1.0, max=179.0, help="Camera horizontal field of view."),
    mount: str = typer.Option("gimbal", "--mount", help="gimbal (gimbal telemetry) or fixed (airframe mount)."),
    mount_pitch_deg: float = typer.Option(-90.0, "--mount-pitch-deg", help="Fixed mount: camera pitch, -90 = down."),
    duration_s: float | None = typer.Option(None, "--duration-s", min=0.1, help="Stop after this many seconds."),
    stats_out: Path | None = typer.Option(None, "--stats-out", help="Write the run's figures as JSON here."),
    json_out: bool = typer.Option(False, "--json", help="Print the run's figures as JSON on exit."),
    people: bool | None = typer.Option(None, "--people/--no-people",
                                       help="Detect and track persons and store them as drone sightings for "
                                            "missing-person search (default: settings aerial_people.enabled, off)."),
    people_every_n: int | None = typer.Option(None, "--people-every-n", min=1, max=100,
                                              help="Look for people on every N-th georeferenced frame (a frame "
                                                   "count; default: settings aerial_people.every_n_frames, 2)."),
) -> None:
    """Run one drone's video through the detectors and georeference what it sees.

    Example: disaster-ops aerial --drone sim-1 --video http://127.0.0.1:8554/video.mjpg --connect udpin:127.0.0.1:14560"""
    from drone_link.telemetry.mavlink_feed import LivePoseFeed, read_tlog
    from drone_link.telemetry.pose import Channel, MountMode, PoseTrack
    from drone_link.telemetry.srt import load_srt
    from drone_link.video.urls import VideoKind, video_kind

    sources = [s for s in (connect, tlog, srt) if s is not None]
    if len(sources) != 1:
        fail("give exactly one telemetry source: --connect, --tlog or --srt")
    try:
        kind = video_kind(video)
    except ValueError as exc:
        fail(f"--video: {exc}")
    offline = connect is None
    if offline and kind is not VideoKind.FILE:
        fail("--video: a recorded log (--tlog/--srt) needs a video file, not a stream")
    if kind is VideoKind.FILE and not Path(video).is_file():
        fail(f"--video: no such file: {video}")
    try:
        mode = MountMode(mount)
    except ValueError:
        fail(f"--mount: expected gimbal or fixed, got {mount!r}")
    track = PoseTrack(max_age_s=max_pose_age_s, max_gap_s=max(1.0, 2 * max_pose_age_s), mount=mode,
                      mount_pitch_deg=mount_pitch_deg)
    offset = time_offset_s
    feed = None
    try:
        if tlog is not None:
            read_tlog(tlog, track)
            offset += track.first_s(Channel.POSITION) or 0.0
        elif srt is not None:
            load_srt(srt, track)
    except ValueError as exc:
        fail(str(exc))
    ensure_schema()
    from disaster_ops.config import get_settings
    from disaster_ops.services.aerial_worker import AerialWorker

    people_settings = get_settings().aerial_people
    if people is not None:
        people_settings = people_settings.model_copy(update={"enabled": people})
    if people_every_n is not None:
        people_settings = people_settings.model_copy(update={"every_n_frames": people_every_n})

    if connect is not None:
        feed = LivePoseFeed(connect, track, label=drone).start()
    worker = AerialWorker(drone, video, track, connection=connect or "recorded", sample_fps=fps, offline=offline,
                          time_offset_s=offset, video_delay_s=video_delay_s, hfov_deg=hfov_deg,
                          report_interval_s=report_interval_s,
                          people=people_settings)
    signal.signal(signal.SIGTERM, lambda *_: worker.stop_event.set())
    signal.signal(signal.SIGINT, lambda *_: worker.stop_event.set())
    try:
        stats = worker.run(duration_s=duration_s)
    except ValueError as exc:
        fail(str(exc))
    finally:
        if feed is not None:
            feed.stop()
    figures = stats_dict(stats)
    if stats_out is not None:
        stats_out.write_text(json.dumps(figures))
    if json_out:
        print_json(figures)


def stats_dict(stats) -> dict:
    return {"frames": stats.frames, "stamped": stats.stamped, "georeferenced": stats.georeferenced, "unreferenced": stats.unreferenced,
            "on_ground": stats.on_ground,
            "detections": stats.detections, "incidents_created": stats.incidents_created, "errors": stats.errors,
            "reconnects": stats.reconnects, "last_reason": stats.last_reason,
            "people_frames": stats.people_frames, "persons": stats.persons, "sightings": stats.sightings,
            "people_s": round(stats.people_s, 3), "hazards_s": round(stats.hazards_s, 3),
            "frame_to_incident_s": [round(v, 3) for v in stats.frame_to_incident_s],
            "detections_latlon": [[k, round(la, 7), round(lo, 7)] for k, la, lo in stats.detections_latlon]}

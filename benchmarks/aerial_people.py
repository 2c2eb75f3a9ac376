"""Cost of person detection on the aerial path: frames/s of ``AerialWorker.handle`` on real
drone footage (P-DESTRE-derived campus views, read in place) with people detection off
(the same-run baseline) and on every 1st / 2nd / 3rd georeferenced frame.

The clips have no telemetry: a fixed recorded pose (a DJI-style .SRT, 25 m up, camera 60
degrees down) drives the worker, as in tests/disaster_ops/test_aerial_people.py. Each
setting runs on a fresh SQLite store under a temporary folder; the real hazard detector
(default) runs in every setting. Modes are interleaved over ``--rounds`` so machine load
hits all of them alike; the median round is reported.

    python benchmarks/aerial_people.py --clips cam1,cam3 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "people" / "drone_pdestre"
MODES = {"off": 0, "every 1": 1, "every 2": 2, "every 3": 3}


def run_once(clip: Path, every_n: int, fps: float, detector, person_detector) -> dict:
    from disaster_ops.config import AerialPeopleSettings, get_settings
    from disaster_ops.services.aerial_worker import AerialWorker
    from disaster_ops.storage.db import make_engine
    from disaster_ops.storage.migrate import upgrade
    from drone_link.telemetry.pose import PoseTrack
    from drone_link.telemetry.srt import load_srt
    from drone_link.video.files import iter_video_frames
    from tests.disaster_ops.test_aerial_people import _fixed_pose_srt

    with tempfile.TemporaryDirectory() as d:
        os.environ["DISASTER_OPS_DATA_DIR"] = d
        get_settings.cache_clear()
        eng = make_engine(get_settings().database_url)
        upgrade(eng)
        track = PoseTrack(max_age_s=0.5, max_gap_s=1.0)
        load_srt(_fixed_pose_srt(Path(d) / "c.SRT"), track)
        people = AerialPeopleSettings(enabled=every_n > 0, every_n_frames=max(1, every_n))
        w = AerialWorker("bench", str(clip), track, engine=eng, sample_fps=fps, offline=True, people=people,
                         detector=detector, people_detector=person_detector)
        frames = list(iter_video_frames(clip, every_s=1.0 / fps))
        t0 = time.perf_counter()
        for f in frames:
            w.handle(f)
        wall = time.perf_counter() - t0
        eng.dispose()
        s = w.stats
        return {"frames": s.frames, "wall_s": wall, "fps": s.frames / wall, "hazards_s": s.hazards_s,
                "people_s": s.people_s, "people_frames": s.people_frames, "persons": s.persons,
                "sightings": s.sightings}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", default="cam1,cam3", help="comma-separated clip names under drone_pdestre")
    ap.add_argument("--fps", type=float, default=2.0, help="sampled frames per second of video")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    a = ap.parse_args()
    if not DATA.is_dir():
        sys.exit(f"shared drone footage not present: {DATA}")
    from disaster_ops.detect import DetectorConfig, create_detector
    from disaster_ops.services.aerial import AerialDetector  # noqa: F401 (loads the detector stack)

    hazard = create_detector()
    person = create_detector(DetectorConfig(type="person"))
    results: dict[str, list[dict]] = {m: [] for m in MODES}
    for r in range(a.rounds):
        for mode, n in MODES.items():
            for clip in a.clips.split(","):
                results[mode].append(run_once(DATA / f"{clip}.mp4", n, a.fps, hazard, person) | {"round": r,
                                                                                                   "clip": clip})
    out = {}
    for mode, rs in results.items():
        per_round = [sum(x["frames"] for x in rs if x["round"] == r) / sum(x["wall_s"] for x in rs if x["round"] == r)
                     for r in range(a.rounds)]
        pf = sum(x["people_frames"] for x in rs)
        out[mode] = {"frames_per_s_median": round(statistics.median(per_round), 3),
                     "frames_per_s_rounds": [round(v, 3) for v in per_round],
                     "hazard_s_per_frame": round(sum(x["hazards_s"] for x in rs) / sum(x["frames"] for x in rs), 3),
                     "people_s_per_people_frame": round(sum(x["people_s"] for x in rs) / pf, 3) if pf else None,
                     "persons_per_people_frame": round(sum(x["persons"] for x in rs) / pf, 2) if pf else None,
                     "sightings_per_round": sum(x["sightings"] for x in rs) / a.rounds}
    out["machine"] = {"cpus": os.cpu_count(), "load_1m": os.getloadavg()[0]}
    print(json.dumps(out, indent=1))
    if a.out:
        a.out.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

"""Fuzz every input reader: byte-level and structure-aware hostile files.

For each input kind (registry CSV and GeoJSON, AOI/zone GeoJSON, ``.plan``,
``.waypoints``, detect images) it generates ``--cases`` byte-level mutations and as
many structure-aware ones from valid seed files (tests/hardening/mutate.py), reads each
in a worker process exactly as the product does, and counts:

- ok: read (possibly with skipped rows);
- clean errors: refused with the product's one-line error types (exit code 2);
- crashes: any other exception (a traceback for the user) incl. MemoryError under the
  worker's address-space cap;
- hangs: no answer within ``--budget-s`` (worker killed and restarted);
- stored rows lost: registry cases are imported into a database that already holds the
  408 Busan cameras; at the end every one of them must still be there.

Usage: python benchmarks/fuzz.py [--cases 1000] [--budget-s 10] [--seed 17] [--kinds a,b]
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import platform
import random
import sqlite3
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

MEMORY_CAP_BYTES = 3 * 2**30


def _worker(conn, data_dir: str) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP_BYTES, MEMORY_CAP_BYTES))
    os.environ["DISASTER_OPS_DATA_DIR"] = data_dir
    os.nice(5)
    devnull = os.open(os.devnull, os.O_WRONLY)  # libjpeg/libpng chatter on fd 2
    os.dup2(devnull, 2)
    from disaster_ops.services.cameras import import_registry
    from tests.hardening.readers import CLEAN_ERRORS, READERS

    while True:
        msg = conn.recv()
        if msg is None:
            return
        kind, path = msg
        path = Path(path)
        try:
            if kind.startswith("registry"):
                n = import_registry(path).imported
            else:
                n = READERS[kind][1](path)
            conn.send(("ok", n))
        except CLEAN_ERRORS as exc:
            text = str(exc)
            conn.send(("clean" if "\n" not in text.strip() else "multiline", text[:200]))
        except BaseException as exc:  # noqa: BLE001 - that is what we count
            tb = traceback.extract_tb(exc.__traceback__)
            where = f"{Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else "?"
            conn.send(("crash", f"{type(exc).__name__} at {where}: {str(exc)[:160]}"))


class Runner:
    def __init__(self, data_dir: Path, budget_s: float) -> None:
        self.data_dir, self.budget_s = data_dir, budget_s
        self.ctx = mp.get_context("spawn")
        self._start()

    def _start(self) -> None:
        self.conn, child = self.ctx.Pipe()
        self.proc = self.ctx.Process(target=_worker, args=(child, str(self.data_dir)), daemon=True)
        self.proc.start()

    def run(self, kind: str, data: bytes) -> tuple[str, object, float]:
        from tests.hardening.readers import READERS

        # The parent writes the file: only the reading counts against the budget.
        path = self.data_dir / f"case{READERS[kind][0]}"
        path.write_bytes(data)
        t0 = time.perf_counter()
        self.conn.send((kind, str(path)))
        if self.conn.poll(self.budget_s):
            try:
                status, detail = self.conn.recv()
            except EOFError:  # the worker died (segfault, OOM kill)
                status, detail = "crash", f"worker died (exit {self.proc.exitcode})"
                self._restart()
        else:
            status, detail = "hang", f"no answer in {self.budget_s:g} s"
            self._restart()
        return status, detail, time.perf_counter() - t0

    def _restart(self) -> None:
        self.proc.kill()
        self.proc.join()
        self._start()

    def close(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.proc.join(timeout=5)
        if self.proc.is_alive():
            self.proc.kill()


def _baseline(data_dir: Path) -> set[str]:
    os.environ["DISASTER_OPS_DATA_DIR"] = str(data_dir)
    from disaster_ops.services.cameras import import_registry
    from disaster_ops.storage.migrate import upgrade

    upgrade()
    import_registry(REPO / "sample_data" / "busan_junggu_cctv_2024.csv")
    with sqlite3.connect(data_dir / "disaster_ops.db") as db:
        return {r[0] for r in db.execute("select source_key from camera")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=1000, help="cases per kind and per mode")
    ap.add_argument("--budget-s", type=float, default=10.0, help="time budget per case")
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--kinds", default="", help="comma-separated subset of kinds")
    ap.add_argument("--save", type=Path, default=None, help="folder to keep crashing/hanging inputs")
    args = ap.parse_args()

    from tests.hardening.mutate import byte_mutation, structure_mutation
    from tests.hardening.readers import READERS, seeds

    data_dir = Path(tempfile.mkdtemp(prefix="fuzz-db-"))
    baseline = _baseline(data_dir)
    seed_files = seeds()
    kinds = [k for k in READERS if not args.kinds or k in args.kinds.split(",")]
    runner = Runner(data_dir, args.budget_s)
    rows = []
    findings: Counter[str] = Counter()
    t_all = time.perf_counter()
    try:
        for kind in kinds:
            for mode in ("bytes", "structure"):
                rnd = random.Random(f"{args.seed}-{kind}-{mode}")
                counts: Counter[str] = Counter()
                slowest = 0.0
                for i in range(args.cases):
                    seed = rnd.choice(seed_files[kind])
                    others = [s for ss in seed_files.values() for s in ss]
                    data = (byte_mutation(seed, rnd, others) if mode == "bytes"
                            else structure_mutation(kind, seed, rnd))
                    status, detail, secs = runner.run(kind, data)
                    slowest = max(slowest, secs)
                    counts[status] += 1
                    if status in ("crash", "hang", "multiline"):
                        findings[f"{kind}/{mode} {status}: {detail}"] += 1
                        if args.save:
                            args.save.mkdir(parents=True, exist_ok=True)
                            suffix = READERS[kind][0]
                            (args.save / f"{kind}_{mode}_{i}{suffix}").write_bytes(data)
                rows.append((kind, mode, args.cases, counts, slowest))
                print(f"{kind:17s} {mode:9s} tried {args.cases:5d}  ok {counts['ok']:5d}  "
                      f"clean errors {counts['clean']:5d}  crashes {counts['crash']:3d}  "
                      f"hangs {counts['hang']:3d}  multi-line errors {counts['multiline']:3d}  "
                      f"slowest {slowest:.2f} s", flush=True)
    finally:
        runner.close()
    with sqlite3.connect(data_dir / "disaster_ops.db") as db:
        after = {r[0] for r in db.execute("select source_key from camera")}
    lost = len(baseline - after)
    total = Counter()
    for *_, c, _s in rows:
        total.update(c)
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
          f"{dt.date.today()}; seed {args.seed}; budget {args.budget_s:g} s/case; "
          f"{time.perf_counter() - t_all:.0f} s in total")
    print(f"total tried {sum(total.values())}: ok {total['ok']}, clean errors {total['clean']}, "
          f"crashes {total['crash']}, hangs {total['hang']}, multi-line errors {total['multiline']}; "
          f"stored rows lost {lost} of {len(baseline)}")
    for f, n in findings.most_common(30):
        print(f"  {n:4d} x {f}")
    return 0 if not (total["crash"] or total["hang"] or lost) else 1


if __name__ == "__main__":
    sys.exit(main())

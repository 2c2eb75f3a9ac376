"""A worker renewing hundreds of leases while the coordinator grants the same cameras to
another worker must not deadlock on PostgreSQL (it did at 1,000 streams: the renewal
locked its rows in heap order, the grant in key order, and the coordinator's thread died)."""

from __future__ import annotations

import random
import threading

import sqlalchemy as sa

from disaster_ops.cluster import leases
from disaster_ops.storage.db import make_engine
from disaster_ops.storage.migrate import upgrade

N = 200


def test_renewal_and_grant_of_the_same_cameras_do_not_deadlock(pg_url):
    engine = make_engine(pg_url)
    upgrade(engine)
    keys = [f"gg:{i:06d}" for i in range(N)]
    tokens = leases.grant_many(engine, dict.fromkeys(keys, "w1"))
    with engine.begin() as c:  # scatter the rows' physical order away from the key order
        for k in random.Random(0).sample(keys, N):
            c.execute(sa.text("UPDATE camera_lease SET lag_s = 0 WHERE camera_key = :k"), {"k": k})
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def renew() -> None:
        try:
            start.wait()
            for _ in range(8):
                leases.renew(engine, "w1", tokens)
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    def move() -> None:
        try:
            start.wait()
            for r in range(8):  # the coordinator moves them back and forth
                leases.grant_many(engine, dict.fromkeys(reversed(keys), "w1" if r % 2 else "w2"))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=renew), threading.Thread(target=move)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[0]
    held = leases.holders(engine)
    assert len(held) == N and {w for w, _t in held.values()} == {"w1"}  # the last grant (r = 7: w1) won, every camera once
    engine.dispose()

"""The Ray actor that hosts one :class:`~disaster_ops.cluster.shard.ShardWorker`.

One actor per worker slot: it asks for one ``watch_slot`` resource (nodes advertise how
many camera workers they may host) and no CPU reservation (its detector threads are
capped instead). ``ping``/``status`` run in their own concurrency group, so they
answer while an ``assign`` waits for the current tick (a busy worker is not a dead one). Not restarted by Ray: the coordinator moves the cameras.
"""

from __future__ import annotations

import socket

import ray

from disaster_ops.cluster.nodes import SLOT_RESOURCE
from disaster_ops.cluster.shard import ShardConfig, ShardStatus, ShardWorker


@ray.remote(max_restarts=0, num_cpus=0, resources={SLOT_RESOURCE: 1},
            concurrency_groups={"control": 1, "health": 2})
class WatchActor:
    def __init__(self, worker_id: str, config: ShardConfig) -> None:
        import logging

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        node = f"{socket.gethostname()}/{ray.get_runtime_context().get_node_id()[:12]}"
        self.shard = ShardWorker(worker_id, config, node=node)

    @ray.method(concurrency_group="health")
    def ping(self) -> str:
        return self.shard.worker_id

    @ray.method(concurrency_group="control")
    def assign(self, grants: dict[str, int]) -> list[str]:
        return self.shard.assign(grants)

    @ray.method(concurrency_group="control")
    def revoke(self, camera_keys: list[str]) -> list[str]:
        return self.shard.revoke(camera_keys)

    @ray.method(concurrency_group="health")
    def status(self) -> ShardStatus:
        return self.shard.status()

    @ray.method(concurrency_group="control")
    def stop(self) -> None:
        self.shard.stop()

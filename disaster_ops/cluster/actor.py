"""The Ray actor that hosts one :class:`~disaster_ops.cluster.shard.ShardWorker`.

One actor per worker slot: it asks for one ``watch_slot`` resource (nodes advertise how
many camera workers they may host) and no CPU reservation (its detector threads are
capped instead). Threaded (``max_concurrency``) so ``ping`` answers while an ``assign``
waits for the current tick. Not restarted by Ray: the coordinator moves the cameras.
"""

from __future__ import annotations

import socket

import ray

from disaster_ops.cluster.nodes import SLOT_RESOURCE
from disaster_ops.cluster.shard import ShardConfig, ShardStatus, ShardWorker


@ray.remote(max_restarts=0, max_concurrency=4, num_cpus=0, resources={SLOT_RESOURCE: 1})
class WatchActor:
    def __init__(self, worker_id: str, config: ShardConfig) -> None:
        import logging

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        node = f"{socket.gethostname()}/{ray.get_runtime_context().get_node_id()[:12]}"
        self.shard = ShardWorker(worker_id, config, node=node)

    def ping(self) -> str:
        return self.shard.worker_id

    def assign(self, camera_key: str, token: int) -> bool:
        return self.shard.assign(camera_key, token)

    def revoke(self, camera_key: str) -> bool:
        return self.shard.revoke(camera_key)

    def status(self) -> ShardStatus:
        return self.shard.status()

    def stop(self) -> None:
        self.shard.stop()

"""Camera workers on a cluster: cameras sharded over long-lived Ray actors.

* :mod:`.assign` plans which worker runs which camera (pure: no Ray, no database);
* :mod:`.leases` keeps the fenced camera leases and the worker heartbeats in the database;
* :mod:`.shard` is one worker (a :class:`~disaster_ops.services.watch.Watcher` whose
  cameras come and go), :mod:`.actor` wraps it as a Ray actor;
* :mod:`.coordinator` starts the actors, watches them and moves cameras;
* :mod:`.nodes` builds the ``ray start`` command lines with every port pinned;
* :mod:`.simstream` is the load-test stream (a pre-decoded clip replayed at a low rate).

Ray is an optional extra (``pip install 'disaster-ops[cluster]'``); only :mod:`.actor`,
:mod:`.coordinator` and :mod:`.nodes` import it.
"""

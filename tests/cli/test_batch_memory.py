"""The batch-command memory settings (disaster_ops/cli/_heap.py): the collector is off only
while the command runs, and glibc's malloc is tuned where it is glibc's."""

import gc
import platform

import pytest

from disaster_ops.cli._heap import _numpy_hugepages, batch_memory, keep_freed_memory


def test_the_collector_and_hugepage_advice_are_off_inside_and_restored_after_even_on_error():
    assert gc.isenabled()
    before = _numpy_hugepages(True)  # (reads and sets; put back at the end)
    with batch_memory():
        assert not gc.isenabled()
        assert _numpy_hugepages(False) is False  # numpy's advice was off inside
    assert gc.isenabled()
    assert _numpy_hugepages(before) is True  # and on again after
    with pytest.raises(RuntimeError), batch_memory():
        raise RuntimeError("a command failing half-way")
    assert gc.isenabled()
    gc.disable()
    try:
        with batch_memory():
            pass
        assert not gc.isenabled()  # a caller's own setting is kept
    finally:
        gc.enable()


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_malloc_is_tuned_on_glibc():
    assert keep_freed_memory() is True
    assert keep_freed_memory() is True  # once per process, then a no-op


def test_union_workers_are_stopped_after_the_command_even_on_error():
    """The coverage command forks its union workers early (geo.forked_workers.early_workers):
    they are gone when it returns or fails, in an in-process caller too; one worker = none."""
    import multiprocessing

    from geo import forked_workers

    if not forked_workers.can_fork():
        pytest.skip("needs fork")
    with forked_workers.early_workers(2):
        procs = [proc for proc, _, _ in forked_workers._pool]
        assert len(procs) == 1 and procs[0].is_alive()
    assert forked_workers._pool is None and not procs[0].is_alive()
    with pytest.raises(RuntimeError), forked_workers.early_workers(3):
        procs = [proc for proc, _, _ in forked_workers._pool]
        raise RuntimeError("a command failing half-way")
    assert forked_workers._pool is None and not any(p.is_alive() for p in procs)
    with forked_workers.early_workers(1):
        assert forked_workers._pool is None
    assert not multiprocessing.active_children()

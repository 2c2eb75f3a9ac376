"""Memory handling for a one-shot batch command: freed heap memory kept (glibc), no cyclic GC.

A province-scale ``coverage`` run allocates and frees hundreds of MB of numpy arrays and
GEOS geometries in turn. With glibc's defaults, blocks over the (adaptive) mmap threshold
come from fresh ``mmap`` pages and freed heap tops are trimmed back to the kernel, so the
same memory is faulted in (and zeroed) again and again: 156,000 minor page faults and
1.2-1.6 s of system CPU time for the 170,000-camera box on the 2-core VM. Serving blocks
up to 32 MB from the heap and not trimming it cuts the faults by a third
(docs/BENCHMARKS.md, "fifth pass"); the process then holds its peak heap until it exits.
Python's cyclic garbage collector walks every container at each collection (~10^5 of
them in that run, ~2 % of its CPU) and finds next to nothing: it is off while the
command runs.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import logging
import sys
from collections.abc import Iterator

logger = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3
_MMAP_MAX_BYTES = 32 * 1024 * 1024  # glibc's upper limit for M_MMAP_THRESHOLD on 64-bit
_tuned = False


def keep_freed_memory() -> bool:
    """Tune glibc malloc for a batch run (once per process; it stays so); False where
    malloc is not glibc's."""
    global _tuned
    if _tuned:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others: nothing to tune
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    ok = all(mallopt(param, value) == 1 for param, value in (
        (_M_MMAP_THRESHOLD, _MMAP_MAX_BYTES), (_M_TRIM_THRESHOLD, 2**31 - 1), (_M_TOP_PAD, 64 * 1024 * 1024)))
    _tuned = ok
    logger.debug("malloc tuned for a batch run: %s", ok)
    return ok


def _numpy_hugepages(enabled: bool) -> bool | None:
    """Set numpy's transparent-hugepage advice for large arrays; the previous setting, or
    None where this numpy has no such switch."""
    try:
        from numpy._core.multiarray import _set_madvise_hugepage
    except ImportError:  # pragma: no cover - numpy < 2 keeps it under numpy.core
        try:
            from numpy.core.multiarray import _set_madvise_hugepage
        except ImportError:
            return None
    return bool(_set_madvise_hugepage(enabled))


@contextlib.contextmanager
def batch_memory() -> Iterator[None]:
    """For the body of a short-lived command: :func:`keep_freed_memory`, the cyclic garbage
    collector off, and numpy's hugepage advice off (both restored on exit, for callers that
    run commands in-process).

    Numpy asks the kernel for 2 MB pages for every array over 4 MB; where transparent
    hugepages are "madvise" with defragmentation on demand (this VM, and many distributions'
    default), each such fault can compact memory first: 400 MB of fresh array took 1.7 s of
    system CPU with the advice and 0.17 s without, here.
    """
    keep_freed_memory()
    was_enabled = gc.isenabled()
    gc.disable()
    huge = _numpy_hugepages(False)
    try:
        yield
    finally:
        if huge is not None:
            _numpy_hugepages(huge)
        if was_enabled:
            gc.enable()

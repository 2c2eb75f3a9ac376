"""A directory of CAP messages plus ``index.atom``: what a CAP aggregator polls.

Layout: ``DIR/{identifier}.xml`` (one ``<alert>`` each, the bytes as issued) and
``DIR/index.atom`` listing the current message of every incident. Files are written to a
temporary name and renamed, so a poller never reads half a file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from disaster_ops.exports.atom import FeedEntry, atom_feed
from disaster_ops.services.cap_ledger import IssuedCap


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def entries(messages: Sequence[IssuedCap], *, base_href: str = "", embed: bool = False) -> list[FeedEntry]:
    return [FeedEntry(m.identifier, m.sent, f"{m.msg_type}: incident {m.incident_id}",
                      f"{base_href}{m.identifier}.xml", m.xml if embed else None) for m in messages]


def write_cap_directory(out_dir: Path, messages: Sequence[IssuedCap], *, feed_id: str,
                        title: str = "disaster-ops CAP alerts", base_href: str = "") -> int:
    """Write every message not yet there and refresh the index; returns files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    n = 0
    for m in messages:
        p = out_dir / f"{m.identifier}.xml"
        if not p.exists():
            _atomic_write(p, m.xml)
            n += 1
    _atomic_write(out_dir / "index.atom", atom_feed(entries(messages, base_href=base_href), feed_id=feed_id,
                                                    title=title, self_href=f"{base_href}index.atom"))
    return n

"""An Atom 1.0 index of CAP messages, the way CAP aggregators poll alert sources
(each entry links to one CAP message, ``type="application/cap+xml"``, and may embed it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from lxml import etree

ATOM_NS = "http://www.w3.org/2005/Atom"
_A = f"{{{ATOM_NS}}}"


@dataclass(frozen=True)
class FeedEntry:
    identifier: str
    sent: datetime
    title: str
    href: str
    xml: bytes | None = None  # the CAP message itself, embedded as content when given


def _t(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def atom_feed(entries: Sequence[FeedEntry], *, feed_id: str, title: str, self_href: str,
              author: str = "disaster-ops", updated: datetime | None = None) -> bytes:
    feed = etree.Element(_A + "feed", nsmap={None: ATOM_NS})
    etree.SubElement(feed, _A + "id").text = feed_id
    etree.SubElement(feed, _A + "title").text = title
    up = updated or max((e.sent for e in entries), default=datetime.now(UTC))
    etree.SubElement(feed, _A + "updated").text = _t(up)
    etree.SubElement(etree.SubElement(feed, _A + "author"), _A + "name").text = author
    etree.SubElement(feed, _A + "link", rel="self", href=self_href)
    for e in sorted(entries, key=lambda x: x.sent, reverse=True):
        en = etree.SubElement(feed, _A + "entry")
        etree.SubElement(en, _A + "id").text = f"urn:cap:{e.identifier}"
        etree.SubElement(en, _A + "title").text = e.title
        etree.SubElement(en, _A + "updated").text = _t(e.sent)
        etree.SubElement(en, _A + "link", rel="alternate", type="application/cap+xml", href=e.href)
        if e.xml is not None:
            content = etree.SubElement(en, _A + "content", type="application/cap+xml")
            content.append(etree.fromstring(e.xml))
    return etree.tostring(feed, xml_declaration=True, encoding="UTF-8", pretty_print=True)

"""The delivery book: new/update/end with before and after, an incident leaving an
agency's scope ends for it, and a restarted publisher goes on instead of re-sending new."""

from __future__ import annotations

from disaster_ops.share.delivery import ChangeType, DeliveryBook


def test_book_diffs_and_survives_a_restart(engine):
    book = DeliveryBook(engine, "broker", "south")
    a1 = {"id": 1, "status": "new"}
    ch = book.diff({"incident:1": (a1, True, None)}, prefix="incident:")
    assert [(c.type, c.before) for c in ch] == [(ChangeType.NEW, None)]
    book.commit(ch)
    assert book.diff({"incident:1": (a1, True, None)}, prefix="incident:") == []

    again = DeliveryBook(engine, "broker", "south")  # a restarted publisher
    a2 = {"id": 1, "status": "confirmed"}
    (upd,) = again.diff({"incident:1": (a2, True, None)}, prefix="incident:")
    assert upd.type is ChangeType.UPDATE and upd.before == a1 and upd.after == a2
    again.commit([upd])
    (gone,) = again.diff({}, prefix="incident:")  # left the scope (or vanished)
    assert gone.type is ChangeType.END and gone.before == a2 and gone.after["in_scope"] is False
    again.commit([gone])
    assert again.diff({}, prefix="incident:") == []
    # never delivered and already closed: nothing to say
    assert again.diff({"incident:2": ({"id": 2}, False, None)}, prefix="incident:") == []
    # another agency's book is its own
    assert DeliveryBook(engine, "broker", "north").live_keys("incident:") == []

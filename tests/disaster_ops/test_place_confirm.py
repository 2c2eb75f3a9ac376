"""N-of-M per place: a fire seen in the same spot is confirmed, a box that jumps around is not."""

from __future__ import annotations

import pytest

from disaster_ops.services.place_confirm import PlaceConfirmer, PlacedSighting
from geo.crs import LocalFrame

F = LocalFrame.tangent(35.1, 129.0)


def _at(e_m: float, n_m: float, kind: str = "fire") -> PlacedSighting:
    lat, lon = F.to_latlon(e_m, n_m)
    return PlacedSighting(kind, float(lat), float(lon), 2.0)


def test_a_fire_in_one_place_is_confirmed_on_the_third_of_five_frames():
    pc = PlaceConfirmer(required=3, window=5, radius_m=10.0)
    assert pc.update([_at(0, 0)]) == [False]
    assert pc.update([_at(1.5, -1)]) == [False]
    assert pc.update([]) == []
    assert pc.update([_at(-1, 2)]) == [True]


def test_a_false_box_next_to_a_confirmed_fire_is_not_carried_by_it():
    pc = PlaceConfirmer(required=3, window=5, radius_m=10.0)
    for _ in range(3):
        pc.update([_at(0, 0)])
    # The fire holds the kind's vote; a box 28 m away in one frame is still not confirmed.
    assert pc.update([_at(0, 0), _at(-20, 20)]) == [True, False]
    assert pc.update([_at(0, 0), _at(19, 21)]) == [True, False]  # elsewhere again
    assert pc.update([_at(0, 0)]) == [True]


def test_kinds_vote_separately():
    pc = PlaceConfirmer(required=2, window=3)
    pc.update([_at(0, 0, "smoke")])
    assert pc.update([_at(0, 0, "fire")]) == [False]


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        PlaceConfirmer(required=4, window=3)
    with pytest.raises(ValueError):
        PlaceConfirmer(radius_m=0)


def test_frames_that_did_not_look_at_a_place_are_no_evidence():
    """A drone on survey legs sees a place on each pass for a frame or two."""
    import shapely

    def view(e_m: float, n_m: float, half_m: float = 60.0):
        corners = [F.to_latlon(e_m + dx, n_m + dy) for dx, dy in
                   ((-half_m, -half_m), (half_m, -half_m), (half_m, half_m), (-half_m, half_m))]
        return shapely.Polygon([(float(lo), float(la)) for la, lo in corners])

    pc = PlaceConfirmer(required=3, window=5, radius_m=10.0)
    fire = _at(0, 0)
    for leg in range(3):
        assert pc.update([fire], view(0, 30)) == [leg == 2]  # the pass over the fire
        for _ in range(6):  # the rest of the leg, the fire out of view
            pc.update([], view(300, 30 + 50 * leg))
    # Frames that looked at the fire and did not see it do count against it.
    pc = PlaceConfirmer(required=3, window=5, radius_m=10.0)
    for seen in (True, False, False, False, True, True):
        got = pc.update([fire] if seen else [], view(0, 0))
    assert got == [False]

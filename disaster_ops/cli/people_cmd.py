"""``disaster-ops people``: missing-person search over the stored person sightings.

``people search`` (a description or a photo, time window, area, reason), ``people sightings``
(the stored sightings, newest first), ``people confirm`` (confirm / reject a sighting) and
``people search-pattern`` (a drone search pattern from a confirmed sighting). Managers and
administrators only; every search and look is audited with its reason.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer

from disaster_ops.cli._common import (
    AS_OPTION_HELP,
    LOCAL_ADMIN_HELP,
    app,
    fail,
    note,
    operator_principal,
    print_json,
    service_errors,
)

people_app = typer.Typer(
    help="Missing-person search: search, sightings, confirm, search-pattern (managers and administrators; "
         "every search is audited with its reason).", no_args_is_help=True)
app.add_typer(people_app, name="people")

REASON_HELP = ("Why you search (at least 5 characters), recorded in the audit trail with who and what. "
               "Example: --reason 'missing child report 2026-1129-0042'")
TIME_HELP = ("{what}: ISO 8601 with a zone (2026-11-29T09:00:00+09:00) or an age back from now in "
             "minutes, hours or days (30m, 6h, 2d). Example: --{opt} 6h")
_AGE = re.compile(r"^(\d+(?:\.\d+)?)([mhd])$")


def parse_when(text: str | None, option: str) -> datetime | None:
    """``6h`` (6 hours ago), ``30m``, ``2d`` or ISO 8601 with a zone; None stays None."""
    if text is None:
        return None
    m = _AGE.match(text.strip())
    if m:
        n, unit = float(m.group(1)), m.group(2)
        seconds = n * {"m": 60.0, "h": 3600.0, "d": 86400.0}[unit]
        return datetime.now(UTC) - timedelta(seconds=seconds)
    try:
        t = datetime.fromisoformat(text.strip())
    except ValueError:
        fail(f"{option} {text!r}: expected ISO 8601 with a zone (2026-11-29T09:00:00+09:00) or 30m/6h/2d")
    if t.tzinfo is None:
        fail(f"{option} {text!r}: give the time zone (e.g. +09:00 or Z)")
    return t.astimezone(UTC)


def _colours(text: str | None) -> tuple[str, ...]:
    return tuple(c.strip() for c in text.split(",") if c.strip()) if text else ()


def _print_candidates(cands, *, header: str) -> None:
    note(header)
    for c in cands:
        unc = f" ±{c.uncertainty_m:.0f} m" if c.uncertainty_m else ""
        typer.echo(f"#{c.rank:<3} sighting {c.sighting_id:<8} {c.captured_at:%Y-%m-%d %H:%M:%S}Z  "
                   f"{c.camera_key} track {c.track_id}  {c.lat:.6f},{c.lon:.6f}{unc}  "
                   f"upper {c.upper_colour} lower {c.lower_colour} {c.build}  score {c.score:.3f}  {c.status}")


@people_app.command("search")
def search(
    upper: str | None = typer.Option(None, "--upper", help="Upper clothing colour(s), comma-separated = any of "
                                     "black, grey, white, red, orange, yellow, green, blue, purple, pink, brown. "
                                     "Example: --upper red"),
    lower: str | None = typer.Option(None, "--lower", help="Lower clothing colour(s), same names. "
                                     "Example: --lower blue,black"),
    bag: str | None = typer.Option(None, "--bag", help="Bag or backpack colour(s), comma-separated = any of, same "
                                   "names; counts partly in the torso region (a camera from behind or a drone from "
                                   "above sees the backpack). Example: --bag blue,green"),
    build: str | None = typer.Option(None, "--build", help="Build from the box shape: slim, medium or broad "
                                     "(weak: a stride widens the box). Example: --build slim"),
    photo: Path | None = typer.Option(None, "--photo", help="A person crop (JPEG/PNG, portrait: the person "
                                      "standing fills it; a crop wider than tall is read as a person lying): "
                                      "compared by clothing-colour histogram, not face or re-identification. "
                                      "Example: --photo missing.jpg"),
    like: int | None = typer.Option(None, "--like", help="Sighting id to search by (its colours, as --photo). "
                                    "Example: --like 1042"),
    since: str | None = typer.Option(None, "--since", help=TIME_HELP.format(what="From", opt="since")),
    until: str | None = typer.Option(None, "--until", help=TIME_HELP.format(what="Until", opt="until")),
    area: str | None = typer.Option(None, "--area", help="Where: a box min_lat,min_lon,max_lat,max_lon in degrees, "
                                    "or the last seen place lat,lon,radius_m (degrees, metres). "
                                    "Example: --area 37.5665,126.9780,1500"),
    reason: str = typer.Option(..., "--reason", help=REASON_HELP),
    limit: int = typer.Option(20, "--limit", min=1, max=500, help="Candidates to return, a count. Example: --limit 10"),
    all_sightings: bool = typer.Option(False, "--all-sightings", help="Rank every sighting, not the best one "
                                       "per tracked person."),
    as_user: str | None = typer.Option(None, "--as", help=AS_OPTION_HELP),
    local: bool = typer.Option(False, "--local-admin", help=LOCAL_ADMIN_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the candidates and the path as JSON."),
) -> None:
    """Search the stored person sightings by description or photo; ranked candidates and the
    probable path (the same candidates in time order). Audited with --reason.

    Example: disaster-ops people search --upper white --lower black --bag blue --since 6h --reason 'missing student, teal backpack' --as park.manager

    Example: disaster-ops people search --upper red --lower blue --since 6h --area 37.5665,126.9780,1500 --reason 'missing person report 0042' --as park.manager --json"""
    from disaster_ops.errors import InputError
    from disaster_ops.services import person_search as ps
    from disaster_ops.storage.migrate import ensure_schema

    t0, t1 = parse_when(since, "--since"), parse_when(until, "--until")
    me = operator_principal(as_user, local)
    ensure_schema()
    with service_errors():
        try:
            desc = ps.Description(upper=_colours(upper), lower=_colours(lower), bag=_colours(bag), build=build) \
                if (upper or lower or bag or build) else None
        except ValueError as exc:
            raise InputError(f"--build: {exc}") from None
        pic = ps.Photo(path=photo, sighting_id=like) if (photo is not None or like is not None) else None
        req = ps.SearchRequest(reason=reason, description=desc, photo=pic, since=t0, until=t1,
                               area=ps.SearchArea.parse(area) if area else None, limit=limit,
                               one_per_track=not all_sightings)
        result = ps.search(req, principal=me)
    if as_json:
        print_json({**result.to_json(), "path_points": [
            {"sighting_id": c.sighting_id, "captured_at": c.captured_at.isoformat(), "lat": c.lat, "lon": c.lon}
            for c in result.path]})
        return
    _print_candidates(result.candidates, header=f"{len(result.candidates)} candidates of {result.scanned} sightings "
                                                f"scored in {result.elapsed_s:.2f} s ({result.basis})")
    if result.path:
        typer.echo("path: " + " -> ".join(f"{c.sighting_id}@{c.captured_at:%H:%M:%S}" for c in result.path))


@people_app.command("sightings")
def sightings(
    camera: str | None = typer.Option(None, "--camera", help="Only this camera key (or drone:NAME). "
                                      "Example: --camera 4113000000-001"),
    since: str | None = typer.Option(None, "--since", help=TIME_HELP.format(what="From", opt="since")),
    until: str | None = typer.Option(None, "--until", help=TIME_HELP.format(what="Until", opt="until")),
    status: str | None = typer.Option(None, "--status", help="Only unreviewed, confirmed or rejected ones. "
                                      "Example: --status confirmed"),
    reason: str = typer.Option(..., "--reason", help=REASON_HELP),
    limit: int = typer.Option(100, "--limit", min=1, max=100_000, help="Newest sightings to print, a count. "
                              "Example: --limit 500"),
    as_user: str | None = typer.Option(None, "--as", help=AS_OPTION_HELP),
    local: bool = typer.Option(False, "--local-admin", help=LOCAL_ADMIN_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array."),
) -> None:
    """List stored person sightings, newest first (audited with --reason).

    Example: disaster-ops people sightings --status confirmed --reason 'case 0042 review' --as park.manager"""
    from disaster_ops.services import person_search as ps
    from disaster_ops.storage.migrate import ensure_schema
    from disaster_ops.storage.models import SightingStatus

    t0, t1 = parse_when(since, "--since"), parse_when(until, "--until")
    if status is not None and status not in {s.value for s in SightingStatus}:
        fail(f"--status: expected unreviewed, confirmed or rejected, got {status!r}")
    me = operator_principal(as_user, local)
    ensure_schema()
    with service_errors():
        rows = ps.list_sightings(principal=me, reason=reason, camera_key=camera, since=t0, until=t1,
                                 status=SightingStatus(status) if status else None, limit=limit)
    if as_json:
        print_json([c.to_json() for c in rows])
        return
    _print_candidates(rows, header=f"{len(rows)} sightings")


@people_app.command("confirm")
def confirm(
    sighting_id: int = typer.Argument(..., help="The sighting id (from people search), an id."),
    reject: bool = typer.Option(False, "--reject", help="Reject it instead (not the person; left out of searches)."),
    reset: bool = typer.Option(False, "--reset", help="Set it back to unreviewed."),
    note_text: str | None = typer.Option(None, "--note", help="Why, kept with the verdict and audited. "
                                         "Example: --note 'same jacket, seen by patrol'"),
    as_user: str | None = typer.Option(None, "--as", help=AS_OPTION_HELP),
    local: bool = typer.Option(False, "--local-admin", help=LOCAL_ADMIN_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the sighting as JSON."),
) -> None:
    """Confirm (or --reject, --reset) a sighting found by a search; audited.

    Example: disaster-ops people confirm 1042 --note 'patrol saw him' --as park.manager"""
    from disaster_ops.services import person_search as ps
    from disaster_ops.storage.migrate import ensure_schema
    from disaster_ops.storage.models import SightingStatus

    if reject and reset:
        fail("--reject and --reset: give one")
    verdict = SightingStatus.REJECTED if reject else (SightingStatus.UNREVIEWED if reset else SightingStatus.CONFIRMED)
    me = operator_principal(as_user, local)
    ensure_schema()
    with service_errors(f"sighting {sighting_id}"):
        c = ps.review(sighting_id, verdict, principal=me, note=note_text)
    if as_json:
        print_json(c.to_json())
        return
    typer.echo(f"sighting {c.sighting_id}: {c.status}")


@people_app.command("search-pattern")
def search_pattern(
    sighting_id: int = typer.Argument(..., help="A confirmed sighting id: the pattern starts where it was seen."),
    pattern: str = typer.Option("expanding-square", "--pattern", help="expanding-square, sector or "
                                "parallel-track (as disaster-ops plan --pattern). Example: --pattern sector"),
    radius_m: float = typer.Option(200.0, "--radius-m", min=10.0, max=5000.0, help="Search radius, metres "
                                   "(at least the sighting's position uncertainty). Example: --radius-m 300"),
    drone: str | None = typer.Option(None, "--drone", help="The drone to fly it (take-off from its position). "
                                     "Example: --drone sim-1"),
    launch: str | None = typer.Option(None, "--launch", help="Launch point lat,lon in degrees, when no --drone. "
                                      "Example: --launch 37.566,126.978"),
    alt_m: float = typer.Option(60.0, "--alt-m", min=10.0, max=120.0, help="Flight height above the launch "
                                "point, metres. Example: --alt-m 50"),
    as_user: str | None = typer.Option(None, "--as", help=AS_OPTION_HELP),
    local: bool = typer.Option(False, "--local-admin", help=LOCAL_ADMIN_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the mission ids as JSON."),
) -> None:
    """Plan and store a drone search pattern from a confirmed sighting (as plan --pattern).

    Example: disaster-ops people search-pattern 1042 --pattern expanding-square --radius-m 300 --drone sim-1 --as park.manager"""
    from disaster_ops.services import person_search as ps
    from disaster_ops.services.missions import parse_latlon
    from disaster_ops.storage.migrate import ensure_schema

    me = operator_principal(as_user, local)
    ensure_schema()
    with service_errors(f"sighting {sighting_id}"):
        ids = ps.search_pattern_from(sighting_id, principal=me, pattern=pattern, radius_m=radius_m,
                                     drone_name=drone, launch_latlon=parse_latlon(launch), alt_rel_m=alt_m)
    if as_json:
        print_json({"sighting_id": sighting_id, "missions": ids})
        return
    typer.echo(f"planned mission(s) {', '.join(map(str, ids))} from sighting {sighting_id}")

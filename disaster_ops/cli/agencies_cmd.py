"""``disaster-ops agencies add|list|show|token``: agencies and their sharing rules."""

from __future__ import annotations

from pathlib import Path

import typer

from disaster_ops.cli._common import (
    AS_OPTION_HELP,
    LOCAL_ADMIN_HELP,
    app,
    fail,
    operator_principal,
    print_json,
    service_errors,
)
from disaster_ops.cli.exit_codes import ExitCode

agencies_app = typer.Typer(help="Agencies we share with, and what each receives.", no_args_is_help=True)
app.add_typer(agencies_app, name="agencies")


@agencies_app.command("add")
def add(
    name: str = typer.Argument(..., help="Agency name (letters, digits, . _ -), e.g. gg-fire."),
    region: Path | None = typer.Option(None, "--region", help="GeoJSON file with the agency's region "
                                       "(Polygon/MultiPolygon); default: everywhere."),
    kinds: str | None = typer.Option(None, "--kinds", help="Comma list of incident kinds; default: all."),
    min_severity: int = typer.Option(1, "--min-severity", help="Lowest severity shared, a grade 1 (minor) to 5 (critical). Example: --min-severity 3"),
    media: bool = typer.Option(False, "--media/--no-media", help="Share snapshots and video links."),
    as_json: bool = typer.Option(False, "--json", help="Print the agency as one JSON object."),
    as_user: str | None = typer.Option(None, "--as", help=AS_OPTION_HELP),
    local: bool = typer.Option(False, "--local-admin", help=LOCAL_ADMIN_HELP),
) -> None:
    """Register an agency and its sharing rule (audited).

    Example: disaster-ops agencies add busan-fire --kinds fire,smoke --min-severity 2 --region busan.geojson --local-admin"""
    from disaster_ops.errors import DisasterOpsError, PermissionDenied
    from disaster_ops.services.agencies import as_json as view_json
    from disaster_ops.services.agencies import create_agency
    from disaster_ops.storage.migrate import ensure_schema

    region_text = None
    if region is not None:
        try:
            if region.stat().st_size > 20_000_000:
                fail(f"{region}: region file over 20 MB")
            region_text = region.read_text(encoding="utf-8")
        except OSError as exc:
            fail(f"{region}: cannot read: {exc.strerror or exc}")
        except UnicodeDecodeError:
            fail(f"{region}: not UTF-8 text")
    ensure_schema()
    me = operator_principal(as_user, local)
    try:
        v = create_agency(name, principal=me, region_geojson=region_text,
                          kinds=[k.strip() for k in kinds.split(",") if k.strip()] if kinds else None,
                          min_severity=min_severity, include_media=media)
    except PermissionDenied as exc:
        fail(f"permission denied: {exc}", code=ExitCode.FAILED)
    except DisasterOpsError as exc:
        fail(f"{region}: {exc}" if region is not None and "region" in str(exc) else str(exc))
    if as_json:
        print_json(view_json(v))
    else:
        typer.echo(f"agency {v.name} added")


@agencies_app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="Print a JSON array.")) -> None:
    """Agencies and their rules.

    Example: disaster-ops agencies list --json"""
    from disaster_ops.services.agencies import as_json as view_json
    from disaster_ops.services.agencies import list_agencies
    from disaster_ops.storage.migrate import ensure_schema

    ensure_schema()
    views = list_agencies()
    if as_json:
        print_json([view_json(v) for v in views])
        return
    for v in views:
        typer.echo(f"{v.name}\tkinds={','.join(v.kinds) if v.kinds else 'all'}\tmin_severity={v.min_severity}\t"
                   f"media={'yes' if v.include_media else 'no'}\tregion={'yes' if v.region_geojson else 'all'}\t"
                   f"token={'yes' if v.has_token else 'no'}")


@agencies_app.command("show")
def show(name: str = typer.Argument(..., help="Agency name, as given to 'agencies add'. Example: busan-fire")) -> None:
    """One agency's rule as JSON (the region as GeoJSON).

    Example: disaster-ops agencies show busan-fire"""
    from disaster_ops.services.agencies import as_json as view_json
    from disaster_ops.services.agencies import get_agency
    from disaster_ops.storage.migrate import ensure_schema

    ensure_schema()
    with service_errors():
        print_json(view_json(get_agency(name)))


@agencies_app.command("token")
def token(
    name: str = typer.Argument(..., help="Agency name, as given to 'agencies add'. Example: busan-fire"),
    as_user: str | None = typer.Option(None, "--as", help=AS_OPTION_HELP),
    local: bool = typer.Option(False, "--local-admin", help=LOCAL_ADMIN_HELP),
) -> None:
    """Issue a new GIS feed API token (printed once; only its hash is stored).

    Example: disaster-ops agencies token busan-fire --as park.manager"""
    from disaster_ops.services.agencies import issue_token
    from disaster_ops.storage.migrate import ensure_schema

    ensure_schema()
    with service_errors():
        typer.echo(issue_token(name, principal=operator_principal(as_user, local)))

"""Agencies and their sharing rules: create, list, look up, issue GIS feed tokens.

Managing agencies is an administrator's action (``Action.MANAGE_USERS``); every change is
audited. Tokens are random (256 bits) and stored only as their SHA-256, so a copy of the
database does not hand out feed access.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass

import shapely
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from disaster_ops.errors import InputError
from disaster_ops.services import audit
from disaster_ops.services.roles import Action, Principal, require
from disaster_ops.share.scope import AgencyScope, parse_region
from disaster_ops.storage.db import get_engine, session_scope
from disaster_ops.storage.models import Agency, utcnow

# Agency names go into MQTT topics and file names: letters (any script), digits, . _ -
_NAME_RE = re.compile(r"^[^\W_][\w.-]{0,99}$")
_KIND_RE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


@dataclass(frozen=True)
class AgencyView:
    """An agency as shown to users (never the token hash)."""

    id: int
    name: str
    region_geojson: str | None
    kinds: tuple[str, ...] | None
    min_severity: int
    include_media: bool
    has_token: bool


def _view(a: Agency) -> AgencyView:
    return AgencyView(a.id, a.name, a.region_geojson, _kinds(a.kinds), a.min_severity,
                      bool(a.include_media), a.token_hash is not None)


def _kinds(text: str | None) -> tuple[str, ...] | None:
    if not text:
        return None
    return tuple(k for k in text.split(",") if k)


def check_name(name: str) -> str:
    if not _NAME_RE.match(name or ""):
        raise InputError(f"agency name {name!r}: use letters, digits, '.', '_' or '-' (at most 100)")
    return name


def _check_kinds(kinds: list[str] | None) -> str | None:
    if not kinds:
        return None
    for k in kinds:
        if not _KIND_RE.match(k):
            raise InputError(f"kinds: {k!r} is not an incident kind (lower-case word like fire, flood)")
    return ",".join(sorted(set(kinds)))


def create_agency(name: str, *, principal: Principal, region_geojson: str | None = None,
                  kinds: list[str] | None = None, min_severity: int = 1, include_media: bool = False,
                  engine: Engine | None = None) -> AgencyView:
    """Register an agency and its sharing rule (admins only)."""
    require(principal, Action.MANAGE_USERS)
    check_name(name)
    if not 1 <= int(min_severity) <= 5:
        raise InputError(f"min_severity: {min_severity} is not in 1..5")
    region_text = None
    if region_geojson is not None:
        region_text = shapely.to_geojson(parse_region(region_geojson))
    kinds_text = _check_kinds(kinds)
    with session_scope(engine or get_engine()) as s:
        if s.exec(select(Agency).where(Agency.name == name)).first() is not None:
            raise InputError(f"agency {name!r} exists already")
        a = Agency(name=name, region_geojson=region_text, kinds=kinds_text, min_severity=int(min_severity),
                   include_media=include_media)
        s.add(a)
        s.flush()
        audit.record(s, principal=principal, action="agency.create", object_type="agency", object_id=name,
                     details={"kinds": kinds_text, "min_severity": a.min_severity,
                              "include_media": include_media, "region": region_text is not None})
        return _view(a)


def list_agencies(*, engine: Engine | None = None) -> list[AgencyView]:
    with Session(engine or get_engine()) as s:
        return [_view(a) for a in s.exec(select(Agency).order_by(Agency.name))]


def get_agency(name: str, *, engine: Engine | None = None) -> AgencyView:
    with Session(engine or get_engine()) as s:
        a = s.exec(select(Agency).where(Agency.name == name)).first()
    if a is None:
        raise InputError(f"agency {name!r}: no such agency")
    return _view(a)


def scope_of(view: AgencyView) -> AgencyScope:
    return AgencyScope(name=view.name, region=parse_region(view.region_geojson) if view.region_geojson else None,
                       kinds=frozenset(view.kinds) if view.kinds else None,
                       min_severity=view.min_severity, include_media=view.include_media)


def scope_named(name: str, *, engine: Engine | None = None) -> AgencyScope:
    """The scope of agency ``name``; an unknown name admits nothing (fail closed)."""
    try:
        return scope_of(get_agency(name, engine=engine))
    except InputError:
        return AgencyScope.nothing(name)


def scope_for(principal: Principal, *, engine: Engine | None = None) -> AgencyScope | None:
    """What ``principal`` may see: None for the operating centre (no agency)."""
    if principal.agency is None:
        return None
    return scope_named(principal.agency, engine=engine)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(name: str, *, principal: Principal, engine: Engine | None = None) -> str:
    """A new GIS feed token for agency ``name`` (replaces the old one). Shown once."""
    require(principal, Action.MANAGE_USERS)
    token = secrets.token_urlsafe(32)
    with session_scope(engine or get_engine()) as s:
        a = s.exec(select(Agency).where(Agency.name == name)).first()
        if a is None:
            raise InputError(f"agency {name!r}: no such agency")
        a.token_hash = _hash(token)
        a.updated_at = utcnow()
        s.add(a)
        audit.record(s, principal=principal, action="agency.token", object_type="agency", object_id=name)
    return token


def agency_for_token(token: str, *, engine: Engine | None = None) -> AgencyView | None:
    """The agency whose feed token this is, or None."""
    if not token or len(token) > 200:
        return None
    h = _hash(token)
    with Session(engine or get_engine()) as s:
        for a in s.exec(select(Agency).where(Agency.token_hash.is_not(None))):
            if hmac.compare_digest(a.token_hash, h):
                return _view(a)
    return None


def as_json(view: AgencyView) -> dict:
    return {"name": view.name, "kinds": list(view.kinds) if view.kinds else None,
            "min_severity": view.min_severity, "include_media": view.include_media,
            "region": json.loads(view.region_geojson) if view.region_geojson else None,
            "has_token": view.has_token}

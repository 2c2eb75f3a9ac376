"""The command line's contract: every command and option explains itself (with units and an
example), and every command's failure exits with the code of the documented table."""

from __future__ import annotations

import re
import socket
import typing

import pytest
import typer
from sqlmodel import Session, select
from typer.testing import CliRunner

from disaster_ops.cli import app
from disaster_ops.cli.exit_codes import ExitCode
from tests.conftest import REPO, run_cli

ROOT = typer.main.get_command(app)


def _walk(cmd, path=()):
    yield path, cmd
    for name, sub in sorted(getattr(cmd, "commands", {}).items()):
        yield from _walk(sub, (*path, name))


COMMANDS = [(" ".join(p), c) for p, c in _walk(ROOT) if not c.hidden]
LEAVES = [(p, c) for p, c in COMMANDS if p and not hasattr(c, "commands")]
# A number's unit is in its name (--radius-m, --timeout-s) or said in its help text.
UNIT_SUFFIX = re.compile(r"-(m|s|ms|deg|pct|m2|km2|cm|px|m-s|minutes|hz|mb)$")
UNIT_WORDS = re.compile(r"metres|seconds|degrees|minutes|fraction|count|factor|per second|probability|grade|"
                        r"m²|cm/px|pixels|\bpx\b|\bid\b|port|revision|%|×", re.IGNORECASE)


def _params(cmd):
    return [p for p in cmd.params if not getattr(p, "hidden", False) and p.name != "help"]


def test_every_command_and_option_has_help():
    missing = [f"{path or 'disaster-ops'}: command" for path, c in COMMANDS if not (c.help or c.short_help)]
    missing += [f"{path}: {'/'.join(p.opts)}" for path, c in COMMANDS for p in _params(c)
                if not (getattr(p, "help", None) or "").strip()]
    assert not missing, "no help text:\n" + "\n".join(missing)


def test_every_command_shows_an_example():
    assert not [p for p, c in LEAVES if "Example: " not in (c.help or "")]


def test_numeric_options_say_their_unit():
    vague = []
    for path, c in COMMANDS:
        for p in _params(c):
            ann = getattr(getattr(p, "type_descriptor", None), "annotation", None)
            numeric = ann in (int, float) or bool({int, float} & set(typing.get_args(ann)))
            if numeric and not any(UNIT_SUFFIX.search(o) for o in p.opts) \
                    and not UNIT_WORDS.search(p.help or ""):
                vague.append(f"{path}: {'/'.join(p.opts)}")
    assert not vague, "numbers without a unit:\n" + "\n".join(vague)


def test_no_secret_is_taken_as_a_value_on_the_command_line():
    shown = [f"{path}: {o}" for path, c in COMMANDS for p in _params(c) for o in p.opts
             if o.startswith("--") and re.search(r"(key|password|token|secret)$", o)]
    assert not shown


def test_group_summaries_name_their_commands():
    cameras = ROOT.commands["cameras"]
    for sub in cameras.commands:
        if sub != "calibrate":
            assert sub in cameras.help
    assert "hazardnet, hazardnet-torch, person, ultralytics" in "".join(
        p.help for p in ROOT.commands["detect"].params if p.name == "detector_type").replace(
        " (shipped ONNX model, CPU), hazardnet-torch (same model, PyTorch)", ", hazardnet-torch").replace(
        " (people, upright or fallen; --kinds person runs it beside the hazards)", "")


def test_detector_help_lists_the_registered_types():
    from disaster_ops.cli.detect_cmd import DETECTOR_TYPES
    from disaster_ops.detect import backends  # noqa: F401  (registers them)
    from disaster_ops.detect.base import registered_types

    assert sorted(DETECTOR_TYPES) == registered_types()


def test_exit_code_table_in_the_docs_matches_the_enum():
    text = (REPO / "docs" / "exit-codes.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\d+) \| ([A-Z_]+) \|", text, flags=re.MULTILINE)
    assert [(int(c), n) for c, n in rows] == [(int(e), e.name) for e in ExitCode]


def test_show_completion_prints_a_bash_script(monkeypatch):
    # Typer otherwise detects the shell from the process tree (shellingham): under CI's
    # make/sh, or with no terminal, that finds no supported shell. With detection off (read
    # when the command is built, so before invoke) --show-completion takes the shell by name.
    monkeypatch.setenv("_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION", "1")
    r = CliRunner().invoke(app, ["--show-completion", "bash"])
    assert r.exit_code == 0
    assert "complete " in r.stdout and "COMP_WORDS" in r.stdout and "_DISASTER_OPS_COMPLETE" in r.stdout.upper()


# One failing invocation per command -> the documented exit code. {tmp} is a scratch folder,
# {port} a UDP port nothing listens on; "who" acts with --as (a responder or a pilot).
BAD_INPUT, FAILED, DEVICE = ExitCode.BAD_INPUT, ExitCode.FAILED, ExitCode.DEVICE_ERROR
CASES = [
    ("aerial", ["aerial", "--drone", "d", "--video", "v.mp4", "--fps", "0"], BAD_INPUT),
    ("agencies add", ["agencies", "add", "gg-fire", "--as", "lee"], FAILED),
    ("agencies list", ["agencies", "list", "--bogus"], BAD_INPUT),
    ("agencies show", ["agencies", "show", "ghost"], BAD_INPUT),
    ("agencies token", ["agencies", "token", "ghost", "--local-admin"], BAD_INPUT),
    ("airspace import", ["airspace", "import", "{tmp}/none.geojson", "--local-admin"], BAD_INPUT),
    ("airspace list", ["airspace", "list", "--bbox", "1,2"], BAD_INPUT),
    ("audit list", ["audit", "list", "--as", "lee"], FAILED),
    ("cameras calibrate", ["cameras", "calibrate", "ghost", "--points", "{tmp}/none.csv", "--local-admin"],
     BAD_INPUT),
    ("cameras config", ["cameras", "config", "ghost"], BAD_INPUT),
    ("cameras import", ["cameras", "import", "{tmp}/none.csv", "--local-admin"], BAD_INPUT),
    ("cameras list", ["cameras", "list", "--bbox", "1,2"], BAD_INPUT),
    ("config show", ["config", "show"], BAD_INPUT),  # with DISASTER_OPS_LOG_LEVEL=LOUD
    ("coverage", ["coverage", "--out", "{tmp}/gaps.geojson", "--around", "north"], BAD_INPUT),
    ("dashboard", ["dashboard", "--port", "70000"], BAD_INPUT),
    ("db current", ["db", "current", "--bogus"], BAD_INPUT),
    ("db downgrade", ["db", "downgrade", "no_such_revision"], BAD_INPUT),
    ("db upgrade", ["db", "upgrade", "no_such_revision"], BAD_INPUT),
    ("demo", ["demo", "--port", "0"], BAD_INPUT),
    ("detect", ["detect", "--detector", "bogus", "{tmp}/x.jpg"], BAD_INPUT),
    ("doctor", ["doctor", "--no-models"], FAILED),  # with an unreachable tile server
    ("drone-worker", ["drone-worker", "--name", "w", "--connect", "udpin:127.0.0.1:{port}",
                      "--heartbeat-timeout-s", "0.3", "--duration-s", "5"], DEVICE),
    ("drones list", ["drones", "list", "--bogus"], BAD_INPUT),
    ("drones show", ["drones", "show", "ghost"], BAD_INPUT),
    ("eval", ["eval", "--detector", "bogus", "{tmp}"], BAD_INPUT),
    ("export", ["export", "--agency", "ghost"], BAD_INPUT),
    ("fly", ["fly", "--connect", "udpin:127.0.0.1:{port}", "--mission", "{tmp}/m.plan",
             "--heartbeat-timeout-s", "0.3", "--no-record"], DEVICE),
    ("incidents ack", ["incidents", "ack", "999", "--as", "lee"], BAD_INPUT),
    ("incidents list", ["incidents", "list", "--status", "bogus"], BAD_INPUT),
    ("incidents set-status", ["incidents", "set-status", "1", "confirmed", "--as", "lee"], FAILED),
    ("incidents show", ["incidents", "show", "999"], BAD_INPUT),
    ("launch-point", ["launch-point", "ghost", "35.1,129.0", "--local-admin"], BAD_INPUT),
    ("missions dispatch", ["missions", "dispatch", "1", "--drone", "sim-1", "--as", "lee"], FAILED),
    ("missions download", ["missions", "download", "999"], BAD_INPUT),
    ("missions fly", ["missions", "fly", "1", "--as", "lee"], FAILED),
    ("missions list", ["missions", "list", "--bogus"], BAD_INPUT),
    ("missions pause", ["missions", "pause", "999", "--local-admin"], BAD_INPUT),
    ("missions plan", ["missions", "plan", "--incident", "1", "--as", "lee"], FAILED),
    ("missions resume", ["missions", "resume", "999", "--local-admin"], BAD_INPUT),
    ("missions rtl", ["missions", "rtl", "999", "--local-admin"], BAD_INPUT),
    ("missions show", ["missions", "show", "999"], BAD_INPUT),
    ("plan", ["plan", "--out", "{tmp}/m2.plan", "--pattern", "zigzag"], BAD_INPUT),
    ("retention run", ["retention", "run", "--now", "yesterday"], BAD_INPUT),
    ("serve", ["serve", "--port", "0"], BAD_INPUT),
    ("share gis", ["share", "gis", "--port", "-1"], BAD_INPUT),
    ("share run", ["share", "run", "--config", "{tmp}/none.toml"], BAD_INPUT),
    ("sim-drone", ["sim-drone", "--signing-key", "ab" * 32], BAD_INPUT),
    ("users add", ["users", "add", "new.user", "--role", "pilot", "--as", "lee"], FAILED),
    ("users disable", ["users", "disable", "ghost", "--local-admin"], BAD_INPUT),
    ("users enable", ["users", "enable", "ghost", "--local-admin"], BAD_INPUT),
    ("people confirm", ["people", "confirm", "999", "--local-admin"], BAD_INPUT),  # no such sighting
    ("people search", ["people", "search", "--upper", "red", "--reason", "why", "--local-admin"], BAD_INPUT),
    ("people search-pattern", ["people", "search-pattern", "1", "--as", "lee"], FAILED),  # responder
    ("people sightings", ["people", "sightings", "--reason", "case 1", "--as", "lee"], FAILED),  # responder
    ("users list", ["users", "list", "--bogus"], BAD_INPUT),
    ("users passwd", ["users", "passwd", "lee", "--as", "kim"], FAILED),
    ("watch", ["watch", "--camera", "ghost", "--duration-s", "1"], BAD_INPUT),
    ("workers node", ["workers", "node", "--print"], BAD_INPUT),  # neither --head nor --address
    ("workers status", ["workers", "status", "--lost-after-s", "0"], BAD_INPUT),
]
PASSWORDS = {"lee": "responder-pass-1", "kim": "pilot-password-1"}


def test_the_exit_code_table_covers_every_command():
    assert sorted(c for c, _, _ in CASES) == sorted(p for p, _ in LEAVES)


@pytest.fixture(scope="module")
def shared_db(tmp_path_factory):
    """One migrated database for the table: a responder, a pilot, one incident, one mission."""
    from datetime import UTC, datetime

    from disaster_ops.config import get_settings
    from disaster_ops.incidents import GroundDetection
    from disaster_ops.services import auth
    from disaster_ops.services.drones import record_mission, register_drone
    from disaster_ops.services.incidents import ingest
    from disaster_ops.services.roles import Principal, Role
    from disaster_ops.storage.db import make_engine, session_scope
    from disaster_ops.storage.migrate import upgrade
    from drone_link.files import write_plan
    from drone_link.mission import Cmd, Frame, Mission, MissionItem

    tmp = tmp_path_factory.mktemp("contract")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DISASTER_OPS_DATA_DIR", str(tmp / "var"))
        for var in ("DATABASE_URL", "DISASTER_OPS_DATABASE_URL", "DISASTER_OPS_CONFIG", "DISASTER_OPS_PASSWORD",
                    "DISASTER_OPS_SIGNING_KEY", "DISASTER_OPS_LOG_LEVEL"):
            mp.delenv(var, raising=False)
        mp.chdir(tmp)
        get_settings.cache_clear()
        eng = make_engine(get_settings().database_url)
        upgrade(eng)
        admin = Principal("local:test", Role.ADMIN)
        auth.add_user("lee", PASSWORDS["lee"], role="responder", principal=admin, engine=eng)
        auth.add_user("kim", PASSWORDS["kim"], role="pilot", principal=admin, engine=eng)
        det = GroundDetection(source_kind="cctv", source_id="cam-x", observed_at=datetime.now(UTC), kind="fire",
                              confidence=0.9, bbox_px=(0, 0, 5, 5), ground_lat=35.105, ground_lon=129.039)
        ingest([det], engine=eng)
        m = Mission(items=[MissionItem(Cmd.NAV_TAKEOFF, Frame.GLOBAL_RELATIVE_ALT, 0.0, 0.0, 30.0),
                           MissionItem(Cmd.NAV_WAYPOINT, Frame.GLOBAL_RELATIVE_ALT, 35.1054, 129.0394, 30.0),
                           MissionItem(Cmd.NAV_RETURN_TO_LAUNCH, Frame.MISSION)],
                    home_lat_deg=35.105, home_lon_deg=129.039, home_alt_amsl_m=20.0)
        with session_scope(eng) as s:
            register_drone(s, name="sim-1", connection="udpin:127.0.0.1:14550")
            record_mission(s, m, name="m")
        write_plan(m, tmp / "m.plan")
        eng.dispose()
        yield tmp, mp
        get_settings.cache_clear()


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(("command", "argv", "code"), CASES, ids=[c for c, _, _ in CASES])
def test_exit_code_of_a_failing_case(shared_db, command, argv, code):
    from disaster_ops.config import get_settings

    tmp, _mp = shared_db
    port = _free_udp_port()
    argv = [a.replace("{tmp}", str(tmp)).replace("{port}", str(port)) for a in argv]
    env = {}
    if "--as" in argv:
        env["DISASTER_OPS_PASSWORD"] = PASSWORDS[argv[argv.index("--as") + 1]]
    if command == "config show":
        env["DISASTER_OPS_LOG_LEVEL"] = "LOUD"
    if command == "doctor":
        env["DISASTER_OPS_MAP__TILES"] = f"http://127.0.0.1:{port}/{{z}}/{{x}}/{{y}}.png"
    get_settings.cache_clear()
    try:
        r = CliRunner().invoke(app, argv, env=env, input="new-password-12\n")
    finally:
        get_settings.cache_clear()
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert r.exit_code == code, (r.exit_code, r.output)
    if command == "doctor":
        assert "FAIL  tiles" in r.stdout
    elif code != ExitCode.OK:
        assert r.stderr.strip().splitlines()[-1].startswith(("error: ", "Error", "╰", "│")), r.stderr


def test_a_database_server_that_is_down_exits_1_with_one_line(tmp_path):
    # A real closed port on this machine: the driver's refusal, through the real entry point.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = run_cli("incidents", "list", env_extra={"DATABASE_URL": f"postgresql+psycopg://u:secret@127.0.0.1:{port}/x"},
                cwd=tmp_path)
    assert r.returncode == ExitCode.FAILED
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: database:") and "secret" not in r.stderr


def test_a_signing_key_value_is_refused_and_never_echoed(tmp_path):
    key = "ab" * 32
    r = CliRunner().invoke(app, ["sim-drone", "--signing-key", key])
    assert r.exit_code == ExitCode.BAD_INPUT and key not in r.output
    assert "--signing-key-file" in r.stderr
    bad = tmp_path / "k"
    bad.write_text("not hex\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["sim-drone", "--signing-key-file", str(bad)])
    assert r.exit_code == ExitCode.BAD_INPUT and r.stderr.startswith(f"error: --signing-key-file {bad}:")
    assert "not hex" not in r.stderr


def test_state_changes_of_the_table_left_the_database_as_it_was(shared_db):
    from disaster_ops.config import get_settings
    from disaster_ops.storage.db import make_engine
    from disaster_ops.storage.models import Incident, Mission, User

    get_settings.cache_clear()
    eng = make_engine(get_settings().database_url)
    with Session(eng) as s:
        assert [i.status for i in s.exec(select(Incident))] == ["new"]
        assert [m.status for m in s.exec(select(Mission))] == ["planned"]
        assert sorted(u.name for u in s.exec(select(User))) == ["kim", "lee"]
    eng.dispose()

"""Every command the app offers is reachable when only its own module is loaded."""

from __future__ import annotations

import subprocess
import sys

from disaster_ops.cli import COMMAND_MODULES, app


def test_every_command_is_listed_with_its_module():
    names = {c.name or c.callback.__name__ for c in app.registered_commands}
    names |= {g.name for g in app.registered_groups}
    assert names == set(COMMAND_MODULES)
    for c in app.registered_commands:
        assert c.callback.__module__ == f"disaster_ops.cli.{COMMAND_MODULES[c.name]}"


def test_a_command_starts_without_the_other_commands_libraries():
    code = ("import sys; sys.argv = ['disaster-ops', 'coverage', '--help']\n"
            "from disaster_ops.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('disaster_ops.cli.')))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = r.stdout.strip().splitlines()[-1]
    assert "coverage_cmd" in loaded and "aerial_cmd" not in loaded and "fly_cmd" not in loaded

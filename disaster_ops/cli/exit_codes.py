"""The exit codes of every ``disaster-ops`` command (the table in ``docs/exit-codes.md``).

Scripts, cron jobs and other agencies' systems branch on these; a test checks the table
in the docs against this enum and asserts the code of one failing case per command.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What a command's exit status means."""

    OK = 0  # the command did what it was asked
    FAILED = 1  # a valid request the product could not carry out: refused by a role or a
    # state check, a flight aborted, a database error, a doctor check failing
    BAD_INPUT = 2  # bad input: an unreadable file, a bad option or value, an unknown id;
    # nothing was changed
    DEVICE_ERROR = 3  # a device or link error: no heartbeat, transfer failed, camera stream
    # or drone link unreachable
    INTERRUPTED = 130  # Ctrl-C (the shell's convention, 128 + SIGINT)


MEANING: dict[ExitCode, str] = {
    ExitCode.OK: "ok",
    ExitCode.FAILED: "operation failed",
    ExitCode.BAD_INPUT: "bad input",
    ExitCode.DEVICE_ERROR: "device or link error",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C)",
}

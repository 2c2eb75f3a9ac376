"""The convention for runnable examples in the documentation (docs/*.md and README.md).

A fenced block marked ``console`` is an example the tests run; any other block (``bash``,
``text``) is shown only. In a ``console`` block:

- a line starting with ``$ `` is a command, run by bash (pipes, ``;``, ``$?`` and
  ``VAR=value`` prefixes work; a trailing ``\\`` continues it on the next line);
  ``disaster-ops`` is the product's command line;
- the lines after a command, up to the next ``$ ``, are output: each non-blank line must
  appear in what the command printed (stdout and stderr together); ``...`` stands for
  lines left out;
- every command must exit with status 0 (show a failure with ``; echo "exit $?"``).

The blocks of one page run in order, in one fresh directory that holds ``sample_data/``
(a link to the repository's) and a data directory seeded as ``make demo`` seeds it, plus
one fire incident (as the demo's CCTV replay raises within its first minute).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)$")


@dataclass
class Step:
    """One ``$`` command of an example and the output lines it must print."""

    command: str
    expected: list[str] = field(default_factory=list)


@dataclass
class Example:
    """One ``console`` block: where it is (for failure messages) and its steps."""

    path: Path
    line: int
    steps: list[Step]

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def console_blocks(text: str) -> list[tuple[int, list[str]]]:
    """(first line number, lines) of every fenced ``console`` block, indented ones too."""
    blocks: list[tuple[int, list[str]]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, indent = m.group("fence"), m.group("indent")
        lang = m.group("info").strip().split(" ")[0].lstrip(".")
        body, j = [], i + 1
        while j < len(lines) and not lines[j].strip().startswith(fence):
            body.append(lines[j][len(indent):] if lines[j].startswith(indent) else lines[j].lstrip())
            j += 1
        if lang == "console":
            blocks.append((i + 2, body))
        i = j + 1
    return blocks


def parse_steps(body: list[str]) -> list[Step]:
    steps: list[Step] = []
    pending: list[str] | None = None
    for line in body:
        if pending is not None:  # a continued command
            pending.append(line)
            if not line.endswith("\\"):
                steps.append(Step("\n".join(pending)))
                pending = None
            continue
        if line.startswith("$ "):
            cmd = line[2:]
            if cmd.endswith("\\"):
                pending = [cmd]
            else:
                steps.append(Step(cmd))
        elif line.strip() and line.strip() != "...":
            if not steps:
                raise ValueError(f"output line before any command: {line!r}")
            steps[-1].expected.append(line.strip())
    if pending is not None:
        raise ValueError("the last command ends with a line continuation")
    return steps


def examples_in(path: Path) -> list[Example]:
    return [Example(path, line, parse_steps(body))
            for line, body in console_blocks(path.read_text(encoding="utf-8"))]

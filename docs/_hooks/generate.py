"""MkDocs hook: pages generated from the code at build time, so they cannot drift.

A page holds a marker comment and this hook replaces it with Markdown:

- ``<!-- generated: cli-reference -->``: every command, argument and option of the Typer
  app (``typer.main.get_command(app)``), help texts, defaults and environment variables;
- ``<!-- generated: settings-reference -->``: every field of the settings model
  (``disaster_ops.config.Settings``): TOML key, environment variable, type, default,
  bounds and description.

The same functions are used by ``tests/docs/`` (the test checks the documented
environment variables really set the settings). Hook docs:
https://www.mkdocs.org/user-guide/configuration/#hooks
"""

from __future__ import annotations

import re
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from types import UnionType

CLI_MARKER = "<!-- generated: cli-reference -->"
SETTINGS_MARKER = "<!-- generated: settings-reference -->"
PROGRAM = "disaster-ops"
ENV_PREFIX = "DISASTER_OPS_"

# Typer's rich markup in help texts ([bold]...[/bold]); anything else in brackets is text.
_RICH_TAG = re.compile(r"\[/?(?:bold|italic|dim|underline|red|green|yellow|blue|cyan|magenta|b|i|u)\]")


# --------------------------------------------------------------------------- Markdown text


def _md_text(text: str) -> str:
    """Plain help text as Markdown: code spans kept, everything else escaped."""
    text = _RICH_TAG.sub("", text)
    parts = text.split("`")
    for i in range(0, len(parts), 2):  # outside code spans
        p = parts[i].replace("\\", "\\\\").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        for ch in "*_|[]":
            p = p.replace(ch, "\\" + ch)
        parts[i] = p
    if len(parts) % 2 == 0:  # an unbalanced backtick: keep it literal
        parts[-2] = parts[-2] + "\\`" + parts.pop()
    return "`".join(parts)


def _code(value: object) -> str:
    s = str(value)
    fence = "``" if "`" in s else "`"
    pad = " " if s.startswith("`") or s.endswith("`") else ""
    return f"{fence}{pad}{s}{pad}{fence}"


def _paragraphs(help_text: str) -> str:
    """Click help: ``\\b`` marks a block kept as is; a blank line separates paragraphs."""
    out = []
    for block in re.split(r"\n\s*\n", help_text.strip()):
        if block.lstrip().startswith("\b"):
            lines = block.lstrip().lstrip("\b").strip("\n")
            out.append("```text\n" + lines + "\n```")
        else:
            out.append(_md_text(" ".join(line.strip() for line in block.splitlines())))
    return "\n\n".join(out)


# --------------------------------------------------------------------------- CLI reference


@dataclass(frozen=True)
class CliCommand:
    """One command of the tree: ``path`` without the program name (``("cameras", "import")``)."""

    path: tuple[str, ...]
    command: typing.Any  # click.Command

    @property
    def name(self) -> str:
        return " ".join((PROGRAM, *self.path))

    @property
    def anchor(self) -> str:
        return "-".join(self.path) or PROGRAM


def cli_root():
    """The click command behind the product's Typer app."""
    import typer

    from disaster_ops.cli import app

    return typer.main.get_command(app)


# Typer vendors its own click (``typer._click``) in recent releases: everything below is
# duck-typed on the command objects and builds contexts with ``cmd.context_class``.


def _ctx(cmd, info_name: str):
    return cmd.context_class(cmd, info_name=info_name)


def _is_group(cmd) -> bool:
    return hasattr(cmd, "list_commands") and hasattr(cmd, "get_command")


def _is_argument(param) -> bool:
    return getattr(param, "param_type_name", "") == "argument"


def walk_cli(root=None) -> Iterator[CliCommand]:
    """Every visible command, groups before their subcommands, in the order ``--help`` lists them."""
    root = root if root is not None else cli_root()

    def rec(cmd, path):
        yield CliCommand(path, cmd)
        if _is_group(cmd):
            ctx = _ctx(cmd, path[-1] if path else PROGRAM)
            for sub_name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, sub_name)
                if sub is not None and not sub.hidden:
                    yield from rec(sub, (*path, sub_name))

    yield from rec(root, ())


def _usage(entry: CliCommand) -> str:
    cmd = entry.command
    ctx = _ctx(cmd, entry.name)
    pieces = cmd.collect_usage_pieces(ctx)
    return " ".join([entry.name, *pieces])


_TRAILER = re.compile(r"\s*\[([^\[\]]*)\]\s*$")
_RANGE = re.compile(r"^[-+\d.e]*(?:<=?)?x(?:[<>]=?[-+\d.e]+)?$")


def _is_fact(part: str) -> bool:
    """What Typer appends to a help text: ``required``, ``default: 3``, ``env var: X``, ``x>=1``."""
    part = part.strip()
    return part == "required" or part.split(":")[0] in ("default", "env var") or bool(_RANGE.match(part))


def _param_line(param, cmd) -> str:
    """One option or argument as ``--help`` shows it: the head (names and metavar) and the
    help text, with its bracketed trailer (default, range, env var, required) as facts."""
    record = param.get_help_record(_ctx(cmd, PROGRAM))
    if record is None:
        return ""
    head, help_text = record
    facts = []
    while (m := _TRAILER.search(help_text or "")) and all(map(_is_fact, m.group(1).split(";"))):
        facts = [f.strip() for f in m.group(1).split(";")] + facts
        help_text = help_text[: m.start()]
    rendered = []
    for fact in facts:
        key, _, value = fact.partition(":")
        value = value.strip()
        if key == "required":
            rendered.append("required")
        elif key in ("default", "env var") and value:
            rendered.append(f"{key} {_code(value)}")
        else:
            rendered.append(_code(fact))
    line = f"- {_code(head)}"
    if rendered:
        line += " (" + "; ".join(rendered) + ")"
    help_text = " ".join((help_text or "").split())
    if help_text:
        line += ": " + _md_text(help_text)
    return line


def cli_reference_markdown(root=None) -> str:
    """The whole command tree as Markdown (one ``##``/``###`` section per command)."""
    out = []
    for entry in walk_cli(root):
        cmd = entry.command
        if entry.path:
            level = "#" * min(1 + len(entry.path), 4)
            out.append(f"{level} `{entry.name}` {{#{entry.anchor}}}\n")
        if cmd.deprecated:
            out.append("!!! warning \"Deprecated\"\n    This command is deprecated.\n")
        if cmd.help:
            out.append(_paragraphs(cmd.help) + "\n")
        out.append("```text\n" + _usage(entry) + "\n```\n")
        params = [p for p in cmd.params if not getattr(p, "hidden", False)]
        if params:
            lines = [line for p in params if (line := _param_line(p, cmd))]
            out.append("\n".join(lines) + "\n")
        if _is_group(cmd):
            ctx = _ctx(cmd, entry.name)
            subs = [(n, cmd.get_command(ctx, n)) for n in cmd.list_commands(ctx)]
            rows = [f"| [`{n}`](#{'-'.join((*entry.path, n))}) | {_md_text(s.get_short_help_str(200))} |"
                    for n, s in subs if s is not None and not s.hidden]
            out.append("| command | what it does |\n|---|---|\n" + "\n".join(rows) + "\n")
    return "\n".join(out)


# --------------------------------------------------------------------------- settings reference


@dataclass(frozen=True)
class SettingField:
    """One leaf setting: its dotted TOML path, env var names, pydantic field info."""

    path: tuple[str, ...]
    info: typing.Any  # pydantic FieldInfo
    owner: type

    @property
    def key(self) -> str:
        return ".".join(self.path)

    @property
    def env_names(self) -> list[str]:
        from pydantic import AliasChoices

        alias = self.info.validation_alias
        if len(self.path) == 1 and isinstance(alias, AliasChoices):
            return [a for a in alias.choices if isinstance(a, str) and a.isupper()]
        return [ENV_PREFIX + "__".join(self.path).upper()]


def _is_model(annotation) -> bool:
    from pydantic import BaseModel

    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def walk_settings(model=None, prefix: tuple[str, ...] = ()) -> Iterator[SettingField]:
    """Every leaf field of the settings model, nested sections flattened in order."""
    if model is None:
        from disaster_ops.config import Settings

        model = Settings
    for name, info in model.model_fields.items():
        if _is_model(info.annotation):
            yield from walk_settings(info.annotation, (*prefix, name))
        else:
            yield SettingField((*prefix, name), info, model)


def _type_name(annotation) -> str:
    if annotation is None or annotation is type(None):
        return "none"
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(annotation))
    if origin is typing.Literal:
        return " or ".join(repr(a) for a in typing.get_args(annotation))
    if origin is not None:
        args = ", ".join(_type_name(a) for a in typing.get_args(annotation))
        return f"{getattr(origin, '__name__', str(origin))}[{args}]"
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return " or ".join(repr(m.value) for m in annotation)
    if isinstance(annotation, type) and issubclass(annotation, Path):
        return "path"
    return getattr(annotation, "__name__", str(annotation))


def _bounds(info) -> str:
    marks = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<", "min_length": "length ≥", "max_length": "length ≤"}
    out = []
    for m in info.metadata:
        for attr, sym in marks.items():
            v = getattr(m, attr, None)
            if v is not None:
                out.append(f"{sym} {v:,}" if isinstance(v, int) and not isinstance(v, bool) else f"{sym} {v}")
    return ", ".join(out)


def _default(info) -> str:
    from pydantic_core import PydanticUndefined

    if info.default_factory is not None:
        try:
            value = info.default_factory()
        except TypeError:
            return "(computed)"
    elif info.default is PydanticUndefined:
        return "(required)"
    else:
        value = info.default
    if value is None:
        return "none"
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, Path):
        value = value.as_posix()
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10_000:
        return f"{value:_}"
    return repr(value) if isinstance(value, str) else str(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def settings_reference_markdown(model=None) -> str:
    """A table per section of the settings model."""
    if model is None:
        from disaster_ops.config import Settings

        model = Settings
    sections: dict[tuple[str, ...], list[SettingField]] = {}
    for f in walk_settings(model):
        sections.setdefault(f.path[:-1], []).append(f)
    out = []
    for section, fields in sections.items():
        owner = fields[0].owner
        title = "Top level" if not section else f"`[{'.'.join(section)}]`"
        anchor = "top-level" if not section else "settings-" + "-".join(section).replace("_", "-")
        out.append(f"## {title} {{#{anchor}}}\n")
        doc = (owner.__doc__ or "").strip()
        if doc and section:
            out.append(_md_text(" ".join(doc.split())) + "\n")
        out.append("| setting | environment variable | type | default | bounds | description |")
        out.append("|---|---|---|---|---|---|")
        for f in fields:
            envs = "<br>".join(_code(e) for e in f.env_names)
            out.append("| " + " | ".join([
                _code(f.path[-1]), envs, _cell(_code(_type_name(f.info.annotation))),
                _cell(_code(_default(f.info))), _cell(_bounds(f.info)),
                _cell(_md_text(" ".join((f.info.description or "").split()))),
            ]) + " |")
        out.append("")
    return "\n".join(out)


# --------------------------------------------------------------------------- MkDocs entry point


def on_page_markdown(markdown: str, page, config, files) -> str:
    if CLI_MARKER in markdown:
        markdown = markdown.replace(CLI_MARKER, cli_reference_markdown())
    if SETTINGS_MARKER in markdown:
        markdown = markdown.replace(SETTINGS_MARKER, settings_reference_markdown())
    return markdown

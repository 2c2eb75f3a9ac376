"""Logging of the command line: one handler on standard error, the level from ``--quiet`` /
``--verbose`` or the ``log_level`` setting, and dependencies kept to warnings.

Normal output holds the product's own lines only: Alembic's ``Context impl SQLiteImpl``,
Ultralytics' banners and similar INFO lines of libraries appear with ``--verbose`` alone.
"""

from __future__ import annotations

import logging
import sys
import warnings

OUR_LOGGERS = ("disaster_ops", "drone_link", "geo", "ui")
# Libraries that log INFO chatter an operator cannot act on.
DEPENDENCY_LOGGERS = ("alembic", "ultralytics", "urllib3", "streamlit", "PIL", "matplotlib",
                      "pymavlink", "httpx", "fiona", "rasterio", "pyogrio", "sqlalchemy", "paho", "pytak",
                      "asyncio", "onnxruntime")
NOTES_LOGGER = "disaster_ops.cli.notes"  # its level says whether notes are printed
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of the record (test runners swap it)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:  # logging.StreamHandler.__init__ assigns it
        pass


def level_name(*, quiet: bool, verbose: bool, setting: str | None, service: bool = False) -> str:
    """The product's log level: ``--verbose`` DEBUG, ``--quiet`` WARNING, else the setting,
    else INFO for a long-running service (its log is its progress) and WARNING otherwise."""
    if verbose:
        return "DEBUG"
    if quiet:
        return "WARNING"
    if setting:
        return setting.upper()
    return "INFO" if service else "WARNING"


def configure(*, quiet: bool = False, verbose: bool = False, setting: str | None = None,
              service: bool = False) -> int:
    """Set up logging for one command; returns the product's level (a ``logging`` number)."""
    level = logging.getLevelName(level_name(quiet=quiet, verbose=verbose, setting=setting, service=service))
    if not isinstance(level, int):
        level = logging.INFO
    root = logging.getLogger()
    for h in list(root.handlers):
        if isinstance(h, _StderrHandler):
            root.removeHandler(h)
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
    for name in OUR_LOGGERS:
        logging.getLogger(name).setLevel(level)
    for name in DEPENDENCY_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else max(level, logging.WARNING))
    # Progress notes and counts (``_common.note``) follow --quiet, not the log level.
    logging.getLogger(NOTES_LOGGER).setLevel(logging.WARNING if quiet else logging.INFO)
    if not verbose:
        # Deprecation notices of libraries are for developers, not operators.
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
    return level


def chatty() -> bool:
    """False under ``--quiet``: progress notes and counts on standard error are left out."""
    return logging.getLogger(NOTES_LOGGER).getEffectiveLevel() <= logging.INFO

"""Exception hierarchy of ``disaster_ops``. Users see ``str(exc)``: one line that names
the file, row or field; logs keep the detail."""

from __future__ import annotations


class DisasterOpsError(Exception):
    """Base class of every error the product raises on purpose."""


class InputError(DisasterOpsError):
    """Bad user input (file, argument); the CLI exits with code 2."""


class RegistryError(InputError):
    """A camera registry file or row that cannot be used."""

    def __init__(self, reason: str, *, file: str | None = None, row: int | None = None,
                 field: str | None = None) -> None:
        self.reason, self.file, self.row, self.field = reason, file, row, field
        where = ":".join(str(p) for p in (file, row) if p is not None)
        what = f" field {field!r}" if field else ""
        super().__init__(f"{where}{what}: {reason}" if (where or what) else reason)


class PermissionDenied(DisasterOpsError):
    """The acting user's role may not perform this action."""

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


class AuthenticationError(DisasterOpsError):
    """Logging in failed. The message never tells whether the user name exists."""


class InvalidCredentials(AuthenticationError):
    """Unknown user name or wrong password (deliberately one error: no user enumeration)."""


class AccountLocked(AuthenticationError):
    """Too many wrong passwords in a row; the account is locked for a while."""


class AccountDisabled(AuthenticationError):
    """An administrator disabled the account."""

"""Mission file exceptions: which file, which line or field, and why."""

from __future__ import annotations

from pathlib import Path


class MissionFileError(ValueError):
    """A mission file cannot be read: names the file, the line or field, and the reason."""

    def __init__(self, path: str | Path, reason: str, *, line: int | None = None,
                 field: str | None = None) -> None:
        self.path = str(path)
        self.line = line
        self.field = field
        self.reason = reason
        where = self.path
        if line is not None:
            where += f":{line}"
        if field:
            where += f" [{field}]"
        super().__init__(f"{where}: {reason}")


MAX_FILE_BYTES = 32 * 2**20


def read_text(path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> str:
    """A mission file's UTF-8 text, or :class:`MissionFileError` saying why not."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise MissionFileError(path, f"{size} bytes, more than the limit of {max_bytes} "
                                         "(setting limits.mission_file_max_bytes)")
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MissionFileError(path, f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise MissionFileError(path, "not UTF-8 text") from None

"""What stopped a file or directory from being made, said in terms of the path at fault."""

from __future__ import annotations

from pathlib import Path

__all__ = ["describe_os_error"]


def describe_os_error(exc: OSError) -> str:
    """The reason for ``exc``, naming the path that is in the way where there is one.

    ``Path.mkdir`` says "File exists" when a file stands where a directory
    should be, and ``open`` says "Not a directory" or "Is a directory" without
    saying which path is meant.
    """
    if exc.filename is None:
        return exc.strerror or str(exc)
    path = Path(exc.filename)
    if isinstance(exc, IsADirectoryError):
        # A rename names its destination second: that is the directory in the way.
        return f"{exc.filename2 or path} is a directory"
    if isinstance(exc, FileExistsError | NotADirectoryError):
        for candidate in (path, *path.parents):
            if candidate.exists() and not candidate.is_dir():
                return f"{candidate} is not a directory"
    return exc.strerror or str(exc)

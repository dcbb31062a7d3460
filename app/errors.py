"""User-facing errors of the app: one line, non-zero exit, no traceback."""
from __future__ import annotations


class AppError(RuntimeError):
    """A problem with the user's input or environment (camera, video, output dir, flags)."""

    exit_code = 2

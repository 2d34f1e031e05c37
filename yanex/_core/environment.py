"""Facts about the interpreter and machine recorded in each experiment's metadata."""

from __future__ import annotations

import platform
import socket
import sys
from pathlib import Path
from typing import Any


def python_version() -> str:
    return ".".join(map(str, sys.version_info[:3]))


def snapshot() -> dict[str, Any]:
    """A compact environment record (yanex 0.6 keeps a similar ``environment`` block)."""
    return {
        "python": {
            "python_version": sys.version,
            "python_executable": sys.executable,
            "platform": platform.platform(),
        },
        "system": {
            "hostname": socket.gethostname(),
            "working_directory": str(Path.cwd()),
        },
    }

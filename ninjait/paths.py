"""Where the appliance's own files live: the source tree, or the one-file binary."""

from __future__ import annotations

import sys
from pathlib import Path


def resource_root() -> Path:
    # PyInstaller unpacks the bundle into sys._MEIPASS with the same layout.
    frozen = getattr(sys, "_MEIPASS", None)
    return Path(frozen) if frozen else Path(__file__).resolve().parent.parent


ROOT = resource_root()
MIGRATIONS = ROOT / "migrations"
TEMPLATES = ROOT / "web" / "templates"
STATIC = ROOT / "web" / "static"
NODE_MODULES = ROOT / "web" / "node_modules"
PLUGINS = ROOT / "plugins"

"""Where the lab's data lives (zones, keys, snapshots, sample messages).

The project runs from a checkout (``pip install -e .``, as the README and Binder do);
``LABKIT_DATA`` points elsewhere when needed.
"""

from __future__ import annotations

import os
from pathlib import Path


def repo_root() -> Path:
    """The checkout that holds ``labkit/``, ``labs/``, ``data/`` and ``nbgrader_config.py``."""
    return Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """The ``data/`` folder: ``$LABKIT_DATA`` if set, else the checkout's ``data/``."""
    env = os.environ.get("LABKIT_DATA")
    return Path(env) if env else repo_root() / "data"


def zones_dir() -> Path:
    """``data/zones``: the fictional Internet's zone files."""
    return data_dir() / "zones"


__all__ = ["repo_root", "data_dir", "zones_dir"]

"""Access to the data files shipped inside the package (``civmodels/data/_files``).

Files are read through :mod:`importlib.resources`, never through a path relative to the
working directory, so they are found however civmodels is installed (wheel, zip, editable).
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable

__all__ = ["resource", "resource_text"]


def resource(name: str) -> Traversable:
    """Return a traversable handle for the packaged file ``_files/<name>``."""
    handle = resources.files("civmodels.data").joinpath("_files", name)
    if not handle.is_file():
        raise FileNotFoundError(
            f"packaged data file '_files/{name}' is missing from civmodels.data; "
            "reinstall civmodels (the wheel ships civmodels/data/_files/*)"
        )
    return handle


def resource_text(name: str) -> str:
    """Return the text (UTF-8) of the packaged file ``_files/<name>``."""
    return resource(name).read_text(encoding="utf-8")

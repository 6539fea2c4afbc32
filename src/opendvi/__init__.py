"""OpenDVI: identify the dead from photographs and tell their families.

The library front end: open the application, then call the same use-cases the CLI and web do.

    from opendvi import OpenDVI, Settings
    dvi = OpenDVI.open(Settings(data_dir="/srv/opendvi"))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["OpenDVI", "Settings", "__version__"]

if TYPE_CHECKING:
    from opendvi.app import OpenDVI
    from opendvi.settings import Settings


def __getattr__(name: str) -> Any:
    # Lazy, so that `opendvi --help` does not import SQLAlchemy, Pillow or numpy.
    if name == "OpenDVI":
        from opendvi.app import OpenDVI

        return OpenDVI
    if name == "Settings":
        from opendvi.settings import Settings

        return Settings
    raise AttributeError(name)

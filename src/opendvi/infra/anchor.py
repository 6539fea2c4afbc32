"""The audit chain's anchor: the last event's number and hash, kept in a file beside the data,
outside the database.

A database put back to an older copy (a file copied back, a snapshot reverted, a backup
restored over newer data) still holds a whole chain, just a shorter one, so the chain alone
cannot tell. The anchor can: it only ever moves forward, so a database that ends before it,
or holds another event under its number, has been rolled back or truncated.

Several processes (web server processes, commands) may write at once; a lock file makes
each read-and-advance one step, and the file itself is written whole and durably.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from opendvi.infra.private import private_file, write_private

__all__ = ["Anchor", "AnchorFile", "anchor_path"]


def anchor_path(data_dir: Path) -> Path:
    return data_dir / "audit_anchor"


@dataclass(frozen=True)
class Anchor:
    """The chain's head as it was once committed: event ``event`` had hash ``hash``."""

    event: int
    hash: str

    def to_bytes(self) -> bytes:
        return json.dumps({"event": self.event, "hash": self.hash}).encode() + b"\n"

    @classmethod
    def from_bytes(cls, data: bytes, *, name: str) -> Anchor:
        try:
            values = json.loads(data)
            anchor = cls(int(values["event"]), str(values["hash"]))
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(
                f"{name} is not an audit anchor (damaged?): {error}; compare it with the "
                "copy in your latest backup"
            ) from error
        if anchor.event < 0 or len(anchor.hash) != 64:
            raise ValueError(f"{name} is not an audit anchor (damaged?): {values!r}")
        return anchor


class AnchorFile:
    """The anchor at ``path``; its lock file lies beside it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = path.with_name(f".{path.name}.lock")

    def read(self) -> Anchor | None:
        """The anchor, or None when none was written yet."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        return Anchor.from_bytes(data, name=str(self.path))

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Only one process at a time reads and moves the anchor."""
        descriptor = os.open(private_file(self._lock), os.O_RDWR)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)  # closing releases the lock

    def advance(
        self, anchor: Anchor, *, follows: Callable[[Anchor], bool] = lambda _old: True
    ) -> bool:
        """Move the anchor forward to ``anchor``: never back, and only from an anchor that
        ``follows`` says is still in the chain. Whether it moved."""
        with self.locked():
            current = self.read()
            if current is not None and (current.event >= anchor.event or not follows(current)):
                return False
            # Not waited onto the disk: the database's commit already is, so a power cut can
            # only leave the anchor behind it (a rollback of those last events goes unseen),
            # never ahead (a false alarm); and every commit would otherwise wait twice more.
            write_private(self.path, anchor.to_bytes(), durable=False)
            return True

    def replace(self, anchor: Anchor) -> None:
        """Set the anchor to ``anchor``, back or forward: for a restore, and only when told."""
        with self.locked():
            write_private(self.path, anchor.to_bytes())

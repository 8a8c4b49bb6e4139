"""A user's input file, on disk or in memory: what the readers of `planner.io` read from.

Loaders accept a path, the file's bytes or a binary file object (an upload, a download, a
``BytesIO``). In memory, the file's name still names it in every message and its ending
still chooses the reader; it never becomes a path, so no temporary file is written.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, BinaryIO

__all__ = ["FileSource", "Source"]

#: What a loader reads: a path, the file's bytes, or a binary file object.
Source = str | os.PathLike[str] | bytes | bytearray | memoryview | BinaryIO


@dataclass(frozen=True, eq=False)
class FileSource:
    """A file to read: a path on disk, or its bytes with its name.

    It answers the few questions the readers ask of a `pathlib.Path` (``name``,
    ``suffix``, ``exists()``, ``is_file()``, ``is_dir()``, ``open()``), so that one
    reader serves both.

    Attributes
    ----------
    name
        The file's name (no folder), as messages name it; its ending gives the format.
    path
        The file on disk, or None when in memory.
    data
        The file's bytes when in memory, else None.
    """

    name: str
    path: Path | None = None
    data: bytes | None = None

    @classmethod
    def of(cls, source: Source | FileSource, filename: str | None = None) -> FileSource:
        r"""Make a `FileSource` from what a loader was given.

        Parameters
        ----------
        source
            A path (``str`` or `os.PathLike`), the file's bytes, or a binary file object
            (read to its end).
        filename
            The file's name when ``source`` is bytes or a file object (only its last
            part is kept; it is never used as a path). A file object opened from disk
            gives its own name. Ignored for a path.

        Returns
        -------
        FileSource

        Raises
        ------
        TypeError
            When ``source`` is none of these, a file object is open in text mode, or
            bytes come without ``filename``.

        Examples
        --------
        >>> FileSource.of(b"asset_id,lon,lat\\n", filename="uploads/my assets.csv").name
        'my assets.csv'
        """
        if isinstance(source, FileSource):
            return source
        if isinstance(source, str | os.PathLike):
            path = Path(source)
            return cls(path.name, path=path)
        if isinstance(source, bytes | bytearray | memoryview):
            data = bytes(source)
        elif callable(getattr(source, "read", None)):
            data = source.read()
            if isinstance(data, str):
                raise TypeError(
                    "the file object was opened as text; open it in binary mode ('rb') "
                    "or pass its bytes"
                )
            filename = filename or getattr(source, "name", None)
        else:
            raise TypeError(
                "expected a file path, the file's bytes or a binary file object; "
                f"got {type(source).__name__}"
            )
        if not filename or not isinstance(filename, str):
            raise TypeError(
                "reading bytes or a file object needs filename=, e.g. filename='assets.gpkg': "
                "the file's ending says which format it is"
            )
        return cls(PurePosixPath(filename.replace("\\", "/")).name, data=bytes(data))

    @property
    def suffix(self) -> str:
        """The file's ending, e.g. ``".gpkg"`` (as written; lower-case it to compare)."""
        return Path(self.name).suffix

    @property
    def disk_path(self) -> Path:
        """The path of a file on disk; `of` sets ``path`` whenever ``data`` is None."""
        assert self.path is not None, "a FileSource holds a path or bytes"
        return self.path

    @property
    def size(self) -> int:
        """Size of the file in bytes."""
        return len(self.data) if self.data is not None else self.disk_path.stat().st_size

    def exists(self) -> bool:
        """Return True when the file is in memory or exists on disk."""
        return self.data is not None or self.disk_path.exists()

    def is_dir(self) -> bool:
        """Return True when the path is a folder (never for a file in memory)."""
        return self.data is None and self.disk_path.is_dir()

    def is_file(self) -> bool:
        """Return True when the file is in memory or is a file on disk."""
        return self.data is not None or self.disk_path.is_file()

    def open(
        self, mode: str = "r", *, encoding: str | None = None, newline: str | None = None
    ) -> IO:
        """Open the file for reading, as `pathlib.Path.open` does (``"rb"`` or text)."""
        if self.data is None:
            return self.disk_path.open(mode, encoding=encoding, newline=newline)
        binary = io.BytesIO(self.data)
        if "b" in mode:
            return binary
        return io.TextIOWrapper(binary, encoding=encoding, newline=newline)

    @property
    def readable(self) -> Path | io.BytesIO:
        """What pandas, pyarrow and zipfile read: the path, or the bytes as a new buffer."""
        return self.disk_path if self.data is None else io.BytesIO(self.data)

    def __str__(self) -> str:
        """Return the path as text, or the name of a file in memory."""
        return str(self.path) if self.data is None else self.name

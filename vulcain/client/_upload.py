"""Network files streamed from disk into a multipart body, with an optional progress bar."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

AUTO_PROGRESS_BYTES = 16 * 1024 * 1024
"""With ``progress=None``, a bar is shown on a terminal for uploads at least this large."""

FilesArgument = Mapping[str, "str | os.PathLike[str] | IO[bytes]"]


class _CountingReader:
    """A binary file that reports each chunk read, for httpx's streamed multipart body.

    ``fileno`` passes through so httpx learns the size with ``fstat`` and sends a
    ``Content-Length`` instead of a chunked body.
    """

    def __init__(self, file: IO[bytes], on_read: Callable[[int], None]) -> None:
        self._file = file
        self._on_read = on_read

    def read(self, size: int = -1) -> bytes:
        chunk = self._file.read(size)
        self._on_read(len(chunk))
        return chunk

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def fileno(self) -> int:
        return self._file.fileno()


def _size(file: IO[bytes]) -> int:
    try:
        return os.fstat(file.fileno()).st_size
    except (AttributeError, OSError, ValueError):
        position = file.tell()
        size = file.seek(0, os.SEEK_END)
        file.seek(position)
        return size - position


@contextlib.contextmanager
def open_network_files(
    files: FilesArgument, *, progress: bool | None = None
) -> Iterator[list[tuple[str, tuple[str, Any, str]]]]:
    """Open every file (a path or an open binary file) as a multipart part named by its
    upload name, close what was opened here on exit, and draw a progress bar meanwhile."""
    with contextlib.ExitStack() as stack:
        opened: list[tuple[str, IO[bytes]]] = []
        for name, source in files.items():
            if isinstance(source, str | os.PathLike):
                path = Path(source)
                if not path.is_file():
                    raise FileNotFoundError(f"network file {name!r}: no file at {path}")
                opened.append((name, stack.enter_context(path.open("rb"))))
            elif hasattr(source, "read"):
                opened.append((name, source))
            else:
                raise TypeError(
                    f"network file {name!r}: expected a path or an open binary file, "
                    f"not {type(source).__name__}"
                )
        total = sum(_size(file) for _, file in opened)
        if progress is None:
            progress = total >= AUTO_PROGRESS_BYTES and sys.stderr.isatty()
        if not progress:
            yield [(name, (name, file, "application/octet-stream")) for name, file in opened]
            return
        console = Console(stderr=True)
        bar = stack.enter_context(
            Progress(
                TextColumn("uploading"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=console,
                transient=console.is_terminal,
            )
        )
        task = bar.add_task("upload", total=total)

        def advance(count: int) -> None:
            bar.advance(task, count)

        yield [
            (name, (name, _CountingReader(file, advance), "application/octet-stream"))
            for name, file in opened
        ]

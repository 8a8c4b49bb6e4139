"""Which text encoding a council's file uses: UTF-8, or a legacy code page told apart.

A byte-order mark, valid UTF-8, or a legacy Western European code page told apart by
charset-normalizer; an input edge of `planner.io.readers`.

UTF-8 is checked first and decides on its own: text in a legacy code page with any accented
letter is (almost) never valid UTF-8. Only bytes that are not UTF-8 go to charset-normalizer,
and only among the code pages British and European office software writes (Windows-1252,
ISO-8859-1, ISO-8859-15), because on a few short names it guesses unrelated code pages
(Central European, Hebrew) as readily. Any other encoding is given with ``encoding=``.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from charset_normalizer import from_bytes

__all__ = ["LEGACY_ENCODINGS", "TextEncoding", "detect_encoding", "encoding_name"]

#: The legacy code pages detection chooses among, most likely first (Excel's "CSV" on a
#: British or Western European Windows machine writes Windows-1252).
LEGACY_ENCODINGS = ("cp1252", "latin_1", "iso8859_15")

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
#: Bytes of non-ASCII lines handed to charset-normalizer (enough to decide, quick to read).
_SAMPLE_BYTES = 64 * 1024


@dataclass(frozen=True)
class TextEncoding:
    """The encoding a file was read with, and how it was chosen.

    Attributes
    ----------
    codec
        Python codec name, e.g. ``"utf-8"``, ``"cp1252"``.
    how
        ``"given"`` (``encoding=``), ``"bom"`` (a byte-order mark), ``"utf-8"`` (the bytes
        are valid UTF-8), ``"detected"`` (charset-normalizer) or ``"fallback"`` (detection
        could not decide; Windows-1252, else ISO-8859-1, which reads any byte).
    """

    codec: str
    how: str

    @property
    def is_utf8(self) -> bool:
        """True for UTF-8 (with or without a byte-order mark) and plain ASCII."""
        return codecs.lookup(self.codec).name in {"utf-8", "utf-8-sig", "ascii"}

    def describe(self) -> str:
        """Return the encoding in words for a report, e.g. ``Windows-1252 (detected)``.

        Examples
        --------
        >>> TextEncoding("cp1252", "detected").describe()
        'Windows-1252 (detected by charset-normalizer)'
        """
        how = {
            "given": "as given",
            "bom": "from its byte-order mark",
            "utf-8": "",
            "detected": "detected by charset-normalizer",
            "fallback": "charset-normalizer could not decide between code pages",
        }[self.how]
        return f"{encoding_name(self.codec)} ({how})" if how else encoding_name(self.codec)


def encoding_name(codec: str) -> str:
    """Return the usual name of a Python codec: ``cp1252`` -> ``Windows-1252``.

    Examples
    --------
    >>> encoding_name("latin_1")
    'ISO-8859-1 (Latin-1)'
    """
    name = codecs.lookup(codec).name
    return {
        "cp1252": "Windows-1252",
        "iso8859-1": "ISO-8859-1 (Latin-1)",
        "latin-1": "ISO-8859-1 (Latin-1)",
        "iso8859-15": "ISO-8859-15",
        "utf-8": "UTF-8",
        "utf-8-sig": "UTF-8 (with a byte-order mark)",
        "utf-16": "UTF-16",
        "utf-32": "UTF-32",
        "ascii": "ASCII",
    }.get(name, name)


def detect_encoding(data: bytes) -> TextEncoding:
    """Detect the encoding of ``data``: a byte-order mark, UTF-8, else a legacy code page.

    Parameters
    ----------
    data
        The file's bytes (or the text part of them, e.g. a shapefile's ``.dbf`` records).

    Returns
    -------
    TextEncoding
        Never fails: bytes charset-normalizer cannot place are read as Windows-1252 when
        they decode so, else as ISO-8859-1 (``how="fallback"``).

    Examples
    --------
    >>> detect_encoding("Café".encode("cp1252")).codec
    'cp1252'
    >>> detect_encoding("Café".encode("utf-8")).codec
    'utf-8'
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return TextEncoding(codec, "bom")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return TextEncoding("utf-8", "utf-8")
    best = from_bytes(_non_ascii_lines(data), cp_isolation=list(LEGACY_ENCODINGS)).best()
    if best is not None:
        return TextEncoding(codecs.lookup(best.encoding).name, "detected")
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return TextEncoding("latin-1", "fallback")
    return TextEncoding("cp1252", "fallback")


def _non_ascii_lines(data: bytes) -> bytes:
    """Return the lines holding non-ASCII bytes (up to `_SAMPLE_BYTES`): they tell code pages apart.

    A file of a million ASCII rows with one accented name is decided on that name, which
    charset-normalizer's own sampling of a few chunks would miss.
    """
    out, size = [], 0
    for line in data.splitlines(keepends=True):
        if not line.isascii():
            out.append(line)
            size += len(line)
            if size >= _SAMPLE_BYTES:
                break
    return b"".join(out)

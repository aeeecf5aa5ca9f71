"""Text inputs of the CLI: several files read as one corpus, ``-`` for standard input.

Every command that reads text (``task from-text``, ``score``) takes one or
more ``FILE`` arguments; ``-`` reads standard input (once). Each file is
one piece: the n-gram contexts never span two files
(:func:`aotmem.theory.ngram.text_task`). Byte level reads raw bytes, the
other levels decode with ``encoding``.
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["read_texts", "describe"]


def _decode(raw: bytes, name: str, encoding: str) -> str:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ValueError(f"text file `{name}` is not valid {encoding} ({exc.reason} at byte {exc.start}); "
                         "pass --encoding, or --level byte") from None
    except LookupError:
        raise ValueError(f"`--encoding` {encoding!r} is not a known text encoding") from None


def read_texts(files, level: str, encoding: str = "utf-8", stdin=None) -> list:
    """The texts of ``files`` (``bytes`` at byte level, else ``str``), ``-`` being standard input.

    Raises ``ValueError`` for a missing file, ``-`` given twice, or text that does not decode.
    """
    files = list(files)
    if not files:
        raise ValueError("give at least one text file (or - for standard input)")
    if files.count("-") > 1:
        raise ValueError("`-` (standard input) can be read only once")
    out = []
    for f in files:
        if f == "-":
            src = stdin if stdin is not None else sys.stdin
            raw = src.buffer.read() if hasattr(src, "buffer") else src.read()
            raw = raw.encode("utf-8") if isinstance(raw, str) else raw
            name = "<stdin>"
        else:
            path = Path(f)
            if not path.is_file():
                raise ValueError(f"text file `{path}` does not exist or is not a file")
            raw, name = path.read_bytes(), str(path)
        out.append(raw if level == "byte" else _decode(raw, name, encoding))
    return out


def describe(files) -> str:
    """``a.txt``, ``a.txt + b.txt`` or ``3 files``; ``-`` is ``<stdin>``."""
    names = ["<stdin>" if f == "-" else Path(f).name for f in files]
    return " + ".join(names) if len(names) <= 3 else f"{len(names)} files ({names[0]}, ...)"

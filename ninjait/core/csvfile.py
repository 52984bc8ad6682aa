"""CSV exports that are safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any


def _cell(value: Any) -> Any:
    # A cell starting with = + - @ (or a tab/CR) would run as a formula in Excel or LibreOffice.
    return f"'{value}" if isinstance(value, str) and value[:1] in "=+-@\t\r" else value


def render(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([_cell(v) for v in row] for row in rows)
    return out.getvalue()

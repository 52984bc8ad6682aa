"""Rewrite the settings table in README.md from ninjait/settings.py (run after adding a setting)."""

from __future__ import annotations

import re
from pathlib import Path

from ninjait.settings import SPECS

README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- settings:start -->", "<!-- settings:end -->"


def table() -> str:
    rows = ["| setting | environment | flag | default | meaning |", "|---|---|---|---|---|"]
    for s in SPECS:
        default = ",".join(s.default) if isinstance(s.default, tuple) else s.default
        default = "(empty)" if default in (None, "") else default
        env = f"`{s.env}`" + (f" / `{s.env}_FILE`" if s.secret else "")
        flag = "—" if s.secret else f"`{s.flag}`"
        extra = f" One of: {', '.join(s.choices)}." if s.choices else ""
        rows.append(f"| `{s.name}` | {env} | {flag} | `{default}` | {s.help}{extra} |")
    return "\n".join(rows)


def main() -> None:
    text = README.read_text()
    new = re.sub(re.escape(START) + ".*?" + re.escape(END), f"{START}\n{table()}\n{END}", text, flags=re.S)
    README.write_text(new)


if __name__ == "__main__":
    main()

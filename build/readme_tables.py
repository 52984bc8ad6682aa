"""Rewrite the generated tables in README.md (settings, permissions, roles) from the code.

Run after adding a setting or a permission; a unit test fails while README.md is behind.
"""

from __future__ import annotations

import re
from pathlib import Path

from ninjait.identity.permissions import BUILTIN_ROLES, PERMISSIONS
from ninjait.settings import SPECS

README = Path(__file__).resolve().parent.parent / "README.md"


def settings_table() -> str:
    rows = ["| setting | environment | flag | default | meaning |", "|---|---|---|---|---|"]
    for s in SPECS:
        default = ",".join(s.default) if isinstance(s.default, tuple) else s.default
        default = "(empty)" if default in (None, "") else default
        env = f"`{s.env}`" + (f" / `{s.env}_FILE`" if s.secret else "")
        flag = "—" if s.secret else f"`{s.flag}`"
        extra = f" One of: {', '.join(s.choices)}." if s.choices else ""
        rows.append(f"| `{s.name}` | {env} | {flag} | `{default}` | {s.help}{extra} |")
    return "\n".join(rows)


def permissions_table() -> str:
    rows = ["| permission | allows |", "|---|---|"]
    rows += [f"| `{name}` | {text} |" for name, text in sorted(PERMISSIONS.items())]
    rows += ["", "| built-in role | permissions |", "|---|---|"]
    rows += [f"| {r.name} | {', '.join(sorted(r.permissions()))} |" for r in BUILTIN_ROLES.values()]
    return "\n".join(rows)


TABLES = {"settings": settings_table, "permissions": permissions_table}


def main() -> None:
    text = README.read_text()
    for name, make in TABLES.items():
        start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
        text = re.sub(re.escape(start) + ".*?" + re.escape(end), f"{start}\n{make()}\n{end}", text, flags=re.S)
    README.write_text(text)


if __name__ == "__main__":
    main()

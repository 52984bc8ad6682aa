"""Entry script of the one-file binary (see ninjait.spec): the same as `python -m ninjait`.

It lives outside the package because PyInstaller puts the entry script's folder on
the analysis path; ninjait/__main__.py would expose ninjait/settings.py, cli.py, ...
as top-level modules named `settings`, `cli`, ...
"""

import sys

from ninjait.cli import main

sys.exit(main())

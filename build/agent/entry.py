"""Entry script of the agent's one-file binary (see build/agent/agent.spec): `python -m ninjait_agent`.

Outside the package for the reason build/entry.py gives: PyInstaller puts the entry
script's folder on the analysis path, and ninjait_agent/__main__.py would expose
cli.py, config.py, ... as top-level modules named `cli`, `config`, ...
"""

import sys

from ninjait_agent.cli import main

sys.exit(main())

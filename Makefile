# The two commands of the README: `make run` and `make test`. Everything else is what they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml agent/pyproject.toml | cksum | cut -d' ' -f1)

# A venv that lost its interpreter is not installed, whatever its stamp says.
$(shell test -x $(BIN)/python || rm -f $(VENV)/.installed-*)

.PHONY: run test test-sqlite test-postgresql setup system-deps binary agent-binary agent-deb bench bench-fleet clean

run: setup
	$(BIN)/ninjait serve

# The whole suite on SQLite, then again on PostgreSQL (the binary build is backend-neutral: once).
test: setup system-deps
	NINJAIT_TEST_BACKEND=sqlite $(BIN)/pytest $(ARGS)
	NINJAIT_TEST_BACKEND=postgresql $(BIN)/pytest -m "not binary" $(ARGS)

test-sqlite: setup
	NINJAIT_TEST_BACKEND=sqlite $(BIN)/pytest $(ARGS)

test-postgresql: setup system-deps
	NINJAIT_TEST_BACKEND=postgresql $(BIN)/pytest $(ARGS)

setup: $(STAMP) web/node_modules/.package-lock.json

$(STAMP): pyproject.toml agent/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[dev]' -e ./agent
	rm -f $(VENV)/.installed-* && touch $@

web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error

# Debian packages the tests use: Chromium for browser tests, PostgreSQL for the second backend.
system-deps:
	sh build/install-system-deps.sh

# `python -m`: the console scripts' #! lines are absolute paths to whichever checkout made the venv.
binary: setup
	$(BIN)/python -m PyInstaller --noconfirm --clean --workpath build/pyinstaller --distpath dist ninjait.spec

# The agent: dist/ninjait-agent (one file), then dist/ninjait-agent_<version>_<arch>.deb around it.
# AGENT_VERSION stamps another version into the build (default: ninjait_agent.__version__).
AGENT_VERSION ?= $(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' agent/ninjait_agent/__init__.py)

agent-binary: setup
	NINJAIT_AGENT_BUILD_VERSION=$(AGENT_VERSION) $(BIN)/python -m PyInstaller --noconfirm --clean \
		--workpath build/pyinstaller-agent --distpath dist build/agent/agent.spec

agent-deb: agent-binary
	sh build/agent/build_deb.sh dist/ninjait-agent $(AGENT_VERSION) dist

# Benchmarks print figures; they are never timed assertions in the test suite.
bench: setup
	$(BIN)/python tests/bench/bench_devices.py
	$(BIN)/python tests/bench/bench_checks.py
	$(BIN)/python tests/bench/bench_alerts.py
	$(BIN)/python tests/bench/bench_agent_footprint.py --minutes 3
	# about 10 minutes and 10 GB of disk: a 1,000-device, 7-day data directory backed up and restored
	$(BIN)/python tests/bench/bench_backup.py

# The fleet simulator (docs/performance.md): about 5 minutes; each run stays under 2-3 minutes of load.
bench-fleet: setup
	$(BIN)/python tests/bench/fleet_sim.py --agents 1000 --mode saturation --duration 20 --baseline --compare-servers
	$(BIN)/python tests/bench/fleet_sim.py --agents 10000 --mode paced --interval 60 --duration 60 --ui
	$(BIN)/python tests/bench/fleet_sim.py --agents 2000 --mode burst --interval 30 --duration 60
	$(BIN)/python tests/bench/profile_checkin.py --checkins 2000 --top 25

clean:
	rm -rf $(VENV) web/node_modules build/pyinstaller build/pyinstaller-agent dist

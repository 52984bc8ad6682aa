#!/bin/sh
# Install the NinjaIT agent on macOS as a launchd daemon, and enroll it. Not run by the test
# suite (no macOS here); it follows the Linux package: same binary layout, same state rules.
#
#   sudo ./install.sh ./ninjait-agent --server https://appliance:8443 --token nie_... --fingerprint AB:CD:...
#   sudo ./install.sh ./ninjait-agent                  # install only; enroll later, then run it again
#   sudo ./install.sh --uninstall [--purge]            # --purge also removes the identity and queue
#
# Everything after the binary is passed to `ninjait-agent enroll` (the appliance's install line).
# The binary must be a macOS build of build/agent/agent.spec (PyInstaller on a Mac, same spec).
set -eu

LABEL=com.ninjait.agent
PREFIX=/usr/local/ninjait-agent
STATE="/Library/Application Support/NinjaIT Agent"
PLIST=/Library/LaunchDaemons/$LABEL.plist
HERE=$(cd "$(dirname "$0")" && pwd)

[ "$(id -u)" = 0 ] || { echo "install.sh: run it with sudo" >&2; exit 1; }

if [ "${1:-}" = --uninstall ]; then
  launchctl bootout "system/$LABEL" 2>/dev/null || true
  rm -f "$PLIST" /usr/local/bin/ninjait-agent
  rm -rf "$PREFIX"
  if [ "${2:-}" = --purge ]; then
    rm -rf "$STATE"
  fi
  echo "removed the NinjaIT agent${2:+ and its state}"
  exit 0
fi

BINARY=${1:?usage: install.sh BINARY [--server URL --token TOKEN --fingerprint SHA256 ...] | --uninstall}
shift
[ -f "$BINARY" ] || { echo "install.sh: $BINARY does not exist" >&2; exit 2; }

install -d -m 0755 "$PREFIX" /usr/local/bin
install -m 0755 "$BINARY" "$PREFIX/ninjait-agent"
# Downloaded with a browser, the unsigned binary carries the quarantine flag and Gatekeeper
# would refuse to start it from launchd. (Signing and notarizing the build removes the need.)
xattr -d com.apple.quarantine "$PREFIX/ninjait-agent" 2>/dev/null || true
ln -sf "$PREFIX/ninjait-agent" /usr/local/bin/ninjait-agent
install -d -m 0700 "$STATE"

if [ $# -gt 0 ]; then
  "$PREFIX/ninjait-agent" --state-dir "$STATE" enroll "$@"
fi

install -m 0644 "$HERE/com.ninjait.agent.plist" "$PLIST"
chown root:wheel "$PLIST"
launchctl bootout "system/$LABEL" 2>/dev/null || true
if [ -f "$STATE/config.json" ]; then
  launchctl bootstrap system "$PLIST"
  launchctl enable "system/$LABEL"
  echo "the NinjaIT agent runs (log: /Library/Logs/ninjait-agent.log)"
else
  echo "installed; enroll with: sudo $0 $BINARY --server URL --token TOKEN --fingerprint SHA256"
fi

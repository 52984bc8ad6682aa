#!/bin/sh
# Build the agent's Debian package from the one-file binary:
#
#   build/agent/build_deb.sh dist/ninjait-agent 0.1.0 [OUTDIR]   (or: make agent-deb)
#
# -> OUTDIR/ninjait-agent_<VERSION>_<arch>.deb (OUTDIR defaults to dist/). The package installs the
# binary to /opt/ninjait-agent/ninjait-agent, links /usr/bin/ninjait-agent to it, and ships a
# systemd unit that postinst enables but cannot start until the computer is enrolled: enrolling
# is the install line (`sudo ninjait-agent enroll --server ... --token ... --fingerprint ...`),
# then `sudo systemctl start ninjait-agent`. Needs dpkg-deb >= 1.19 (--root-owner-group: no fakeroot).
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
BINARY=${1:?usage: build_deb.sh BINARY VERSION [OUTDIR]}
VERSION=${2:?usage: build_deb.sh BINARY VERSION [OUTDIR]}
OUTDIR=${3:-dist}

case "$VERSION" in
  [0-9]*) ;;
  *) echo "build_deb.sh: a Debian version starts with a digit, not '$VERSION'" >&2; exit 2 ;;
esac
if printf '%s' "$VERSION" | grep -q '[^0-9A-Za-z.+~-]'; then
  echo "build_deb.sh: '$VERSION' has characters a Debian version cannot hold" >&2; exit 2
fi
[ -x "$BINARY" ] || { echo "build_deb.sh: $BINARY is not an executable (run make agent-binary)" >&2; exit 2; }
command -v dpkg-deb >/dev/null || { echo "build_deb.sh: dpkg-deb is not installed" >&2; exit 2; }

ARCH=$(dpkg --print-architecture 2>/dev/null || echo amd64)
# The one-file build runs on the glibc it was built against, or a newer one.
GLIBC=$(dpkg-query -W -f='${Version}' libc6 2>/dev/null | sed 's/-.*//' || true)
DEPENDS=${GLIBC:+"libc6 (>= $GLIBC)"}

STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
ROOT="$STAGE/root"
install -d -m 0755 "$ROOT/DEBIAN" "$ROOT/opt/ninjait-agent" "$ROOT/usr/bin" "$ROOT/usr/lib/systemd/system" \
  "$ROOT/usr/share/doc/ninjait-agent"
install -m 0755 "$BINARY" "$ROOT/opt/ninjait-agent/ninjait-agent"
ln -s /opt/ninjait-agent/ninjait-agent "$ROOT/usr/bin/ninjait-agent"
install -m 0644 "$HERE/linux/ninjait-agent.service" "$ROOT/usr/lib/systemd/system/ninjait-agent.service"
cat > "$ROOT/usr/share/doc/ninjait-agent/README" <<'DOC'
NinjaIT endpoint agent. Enroll with the install line from the appliance (Devices -> Add devices):

  sudo ninjait-agent enroll --server https://appliance:8443 --token nie_... --fingerprint AB:CD:...
  sudo systemctl start ninjait-agent

State (configuration, secret, queue) is in /var/lib/ninjait-agent; logs are in the journal
(journalctl -u ninjait-agent). The agent replaces /opt/ninjait-agent/ninjait-agent itself when the
appliance rolls out an update (keeping the previous build until the new one checks in).
DOC

SIZE=$(du -sk "$ROOT" | cut -f1)
{
  echo "Package: ninjait-agent"
  echo "Version: $VERSION"
  echo "Architecture: $ARCH"
  echo "Maintainer: NinjaIT maintainers <maintainers@ninjait.invalid>"
  echo "Section: admin"
  echo "Priority: optional"
  echo "Installed-Size: $SIZE"
  [ -n "$DEPENDS" ] && echo "Depends: $DEPENDS"
  echo "Description: NinjaIT endpoint agent (RMM)"
  echo " Reports inventory and metrics to a NinjaIT appliance over outbound HTTPS with"
  echo " a pinned certificate, and runs the commands the appliance signs (scripts,"
  echo " inventory refresh, reboot, self-update). Opens no port."
} > "$ROOT/DEBIAN/control"

cat > "$ROOT/DEBIAN/postinst" <<'SH'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
  install -d -m 0700 /var/lib/ninjait-agent
  if command -v systemctl >/dev/null 2>&1; then
    # Works without a running systemd too (a chroot, an image build): it only makes the link.
    systemctl enable ninjait-agent.service
    if [ -d /run/systemd/system ]; then
      systemctl daemon-reload
      # Enrolled already (an upgrade): run the new binary. Not enrolled: nothing to start yet;
      # enrollment is the install line, not the package's business.
      if [ -f /var/lib/ninjait-agent/config.json ]; then
        systemctl restart ninjait-agent.service
      fi
    fi
  fi
fi
exit 0
SH

cat > "$ROOT/DEBIAN/prerm" <<'SH'
#!/bin/sh
set -e
case "$1" in
  remove|upgrade|deconfigure)
    if [ -d /run/systemd/system ]; then
      systemctl stop ninjait-agent.service || true
    fi
    if [ "$1" = remove ] && command -v systemctl >/dev/null 2>&1; then
      systemctl disable ninjait-agent.service || true
    fi
    ;;
esac
exit 0
SH

cat > "$ROOT/DEBIAN/postrm" <<'SH'
#!/bin/sh
set -e
case "$1" in
  remove|purge)
    # Left by self-updates: the kept previous build, an unfinished download.
    rm -f /opt/ninjait-agent/ninjait-agent.previous /opt/ninjait-agent/ninjait-agent.new
    rmdir /opt/ninjait-agent 2>/dev/null || true
    ;;
esac
if [ "$1" = purge ]; then
  # The agent's identity (secret), configuration and unsent queue.
  rm -rf /var/lib/ninjait-agent
fi
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload || true
fi
exit 0
SH
chmod 0755 "$ROOT/DEBIAN/postinst" "$ROOT/DEBIAN/prerm" "$ROOT/DEBIAN/postrm"

mkdir -p "$OUTDIR"
OUT="$OUTDIR/ninjait-agent_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group -Zxz --build "$ROOT" "$OUT" >/dev/null
echo "$OUT"

#!/bin/sh
# Install, upgrade or remove NinjaIT on Debian or Ubuntu (systemd).
#
#   sudo sh build/install.sh                   install, or upgrade in place (after a backup)
#   sudo sh build/install.sh --uninstall       remove the program; keep the data and the user
#   sudo sh build/install.sh --uninstall --purge   remove everything, data included
#
# Options: --binary FILE (default: dist/ninjait beside this script's repository),
#          --port N (default 8443), --host ADDR (default 0.0.0.0), --no-start.
#
# For tests and packaging, DESTDIR=/some/root installs below that directory, and the commands
# that change the running system are variables: SYSTEMCTL, JOURNALCTL, USERADD, USERDEL,
# GROUPADD, CHOWN, RUNAS (called as `$RUNAS -u USER -- COMMAND...`), SLEEP.
set -eu

APP=ninjait
PREFIX=/opt/ninjait
DATA=/var/lib/ninjait
ETC=/etc/ninjait
UNIT=/etc/systemd/system/ninjait.service
WRAPPER=/usr/local/bin/ninjait
ROOT="${DESTDIR:-}"
SYSTEMCTL="${SYSTEMCTL:-systemctl}"
JOURNALCTL="${JOURNALCTL:-journalctl}"
USERADD="${USERADD:-useradd}"
USERDEL="${USERDEL:-userdel}"
GROUPADD="${GROUPADD:-groupadd}"
CHOWN="${CHOWN:-chown}"
RUNAS="${RUNAS:-runuser}"
SLEEP="${SLEEP:-sleep}"

HERE=$(cd "$(dirname "$0")" && pwd)
BINARY="$HERE/../dist/ninjait"
PORT=8443
HOST=0.0.0.0
ACTION=install
PURGE=no
START=yes

say() { printf '%s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
        --binary) [ $# -ge 2 ] || die "--binary needs a file"; BINARY=$2; shift 2 ;;
        --port) [ $# -ge 2 ] || die "--port needs a number"; PORT=$2; shift 2 ;;
        --host) [ $# -ge 2 ] || die "--host needs an address"; HOST=$2; shift 2 ;;
        --no-start) START=no; shift ;;
        --uninstall) ACTION=uninstall; shift ;;
        --purge) PURGE=yes; shift ;;
        -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done

case "$PORT" in ''|*[!0-9]*) die "--port must be a number" ;; esac
[ "$PURGE" = no ] || [ "$ACTION" = uninstall ] || die "--purge goes with --uninstall"
if [ -z "$ROOT" ] && [ "$(id -u)" -ne 0 ]; then
    die "run as root (sudo sh $0)"
fi

user_exists() {
    if [ -n "$ROOT" ]; then grep -q "^$APP:" "$ROOT/etc/passwd" 2>/dev/null; else id -u "$APP" >/dev/null 2>&1; fi
}

unit_file() {
    cat <<EOF
# Written by build/install.sh; running it again rewrites this file.
# Local changes belong in: systemctl edit ninjait
[Unit]
Description=NinjaIT RMM + PSA appliance
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=$APP
Group=$APP
Environment=NINJAIT_DATA_DIR=$DATA
Environment=NINJAIT_LOG_FORMAT=json
EnvironmentFile=-$ETC/ninjait.env
ExecStart=$PREFIX/ninjait serve
Restart=on-failure
RestartSec=5
TimeoutStopSec=60
UMask=0077
LimitNOFILE=65536
# Ports below 1024 (443, 80) without running as root.
AmbientCapabilities=CAP_NET_BIND_SERVICE
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
NoNewPrivileges=yes
# The whole file system is read-only to the appliance except its data directory; the one-file
# binary unpacks itself into a private /tmp at each start.
ProtectSystem=strict
ReadWritePaths=$DATA
PrivateTmp=yes
ProtectHome=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
RemoveIPC=yes
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallErrorNumber=EPERM
# Not set: MemoryDenyWriteExecute (cffi callbacks in the bundled libraries need writable code pages).

[Install]
WantedBy=multi-user.target
EOF
}

wrapper_file() {
    cat <<EOF
#!/bin/sh
# The ninjait command for the installed appliance (written by build/install.sh): on its data
# directory, as its user, so files it creates stay readable by the service. \`restore\` runs as
# the caller: swapping $DATA needs root, and restore gives the new files the old owner.
export NINJAIT_DATA_DIR="\${NINJAIT_DATA_DIR:-$DATA}"
if [ -r $ETC/ninjait.env ]; then set -a; . $ETC/ninjait.env; set +a; fi
if [ "\$(id -u)" = 0 ] && [ "\${1:-}" != restore ]; then
    exec runuser -u $APP -- $PREFIX/ninjait "\$@"
fi
exec $PREFIX/ninjait "\$@"
EOF
}

env_file() {
    cat <<EOF
# Settings for the NinjaIT service (NINJAIT_* variables; see the README's settings table).
# Secrets may be given as NINJAIT_<NAME>_FILE=/path/to/file. Restart after a change:
#   systemctl restart ninjait
NINJAIT_HOST=$HOST
NINJAIT_PORT=$PORT
# Encrypt scheduled backups (the file must be readable by the ninjait user; keep a copy elsewhere):
# NINJAIT_BACKUP_PASSPHRASE_FILE=$ETC/backup.passphrase
EOF
}

write() {  # write FILE MODE: standard input to FILE, atomically
    mkdir -p "$(dirname "$1")"
    cat > "$1.new"
    chmod "$2" "$1.new"
    mv -f "$1.new" "$1"
}

install_files() {
    [ -f "$BINARY" ] || die "no binary at $BINARY: build it with 'make binary' or give --binary FILE"
    mkdir -p "$ROOT$PREFIX" "$ROOT$DATA" "$ROOT$ETC" "$ROOT/etc/systemd/system" "$ROOT/usr/local/bin"
    # Copy then rename: a running service keeps its old file until it restarts.
    cp "$BINARY" "$ROOT$PREFIX/ninjait.new"
    chmod 0755 "$ROOT$PREFIX/ninjait.new"
    mv -f "$ROOT$PREFIX/ninjait.new" "$ROOT$PREFIX/ninjait"
    unit_file | write "$ROOT$UNIT" 0644
    wrapper_file | write "$ROOT$WRAPPER" 0755
    if [ ! -f "$ROOT$ETC/ninjait.env" ]; then  # the operator's settings survive upgrades
        env_file | write "$ROOT$ETC/ninjait.env" 0640
    fi
    chmod 0750 "$ROOT$DATA"
    $CHOWN "$APP:$APP" "$ROOT$DATA"
    $CHOWN "root:$APP" "$ROOT$ETC/ninjait.env"
}

ensure_user() {
    if user_exists; then
        return
    fi
    say "creating system user $APP"
    $USERADD --system --user-group --home-dir "$DATA" --no-create-home --shell /usr/sbin/nologin \
        --comment "NinjaIT appliance" ${ROOT:+--root "$ROOT"} "$APP"
}

backup_before_upgrade() {
    say "backing up before the upgrade ..."
    # Encrypted when the settings name a passphrase file (the backup command reads them); otherwise
    # into the data directory's own backups folder, which holds the same secrets as the data anyway.
    enc="--no-encrypt"
    if grep -q '^NINJAIT_BACKUP_PASSPHRASE_FILE=.' "$ROOT$ETC/ninjait.env" 2>/dev/null; then
        enc=""
    fi
    # As the service's user, with the service's settings; a running appliance makes the copy itself.
    # shellcheck disable=SC2016,SC2086
    if ! $RUNAS -u "$APP" -- sh -c 'if [ -r "$1" ]; then set -a; . "$1"; set +a; fi
            NINJAIT_DATA_DIR=$2; export NINJAIT_DATA_DIR; shift 2; exec "$@"' \
            sh "$ROOT$ETC/ninjait.env" "$ROOT$DATA" "$ROOT$PREFIX/ninjait" backup $enc --label before-upgrade; then
        die "the backup before the upgrade failed; nothing was changed (the installed version keeps running)"
    fi
}

show_access() {
    i=0
    while [ $i -lt 60 ]; do
        log=$($JOURNALCTL -u "$APP" -n 200 -o cat --no-pager 2>/dev/null || true)
        case "$log" in *"fingerprint:"*) break ;; esac
        i=$((i + 1))
        $SLEEP 1
    done
    url=$(printf '%s\n' "$log" | sed -n 's/^NinjaIT .* serving //p' | tail -n 1)
    fp=$(printf '%s\n' "$log" | sed -n 's/^TLS certificate SHA-256 fingerprint: //p' | tail -n 1)
    token=$(printf '%s\n' "$log" | sed -n 's/.*enter the setup token //p' | tail -n 1)
    say ""
    say "NinjaIT is running: ${url:-https://$(hostname -f 2>/dev/null || hostname):$PORT/}"
    [ -z "$fp" ] || say "certificate fingerprint (SHA-256): $fp"
    if [ -n "$token" ]; then
        say "first run: open ${url:-the URL above}setup and enter the setup token $token"
    fi
    [ -n "$fp" ] || say "(not answering yet: see journalctl -u $APP)"
}

do_install() {
    upgrading=no
    [ -x "$ROOT$PREFIX/ninjait" ] && upgrading=yes
    ensure_user
    if [ "$upgrading" = yes ]; then
        backup_before_upgrade
        say "upgrading $PREFIX/ninjait"
    else
        say "installing $PREFIX/ninjait"
    fi
    install_files
    $SYSTEMCTL daemon-reload
    if [ "$START" = yes ]; then
        $SYSTEMCTL enable "$APP"
        # restart, not start: an upgrade must replace the running process (migrations run at start,
        # after their own automatic backup).
        $SYSTEMCTL restart "$APP"
        show_access
    else
        say "not started (--no-start): systemctl enable --now $APP"
    fi
    say "data: $DATA   settings: $ETC/ninjait.env   command: ninjait --help"
}

do_uninstall() {
    if [ -f "$ROOT$UNIT" ]; then
        $SYSTEMCTL disable --now "$APP" || true
    fi
    rm -f "$ROOT$UNIT" "$ROOT$WRAPPER" "$ROOT$PREFIX/ninjait" "$ROOT$PREFIX/ninjait.new"
    rmdir "$ROOT$PREFIX" 2>/dev/null || true
    $SYSTEMCTL daemon-reload
    if [ "$PURGE" = yes ]; then
        rm -rf "$ROOT$DATA" "$ROOT$ETC"
        if user_exists; then
            $USERDEL ${ROOT:+--root "$ROOT"} "$APP" || true
        fi
        say "removed NinjaIT with its data ($DATA) and the $APP user"
    else
        say "removed NinjaIT; the data stays in $DATA and the settings in $ETC (--uninstall --purge removes them)"
    fi
}

if [ "$ACTION" = uninstall ]; then do_uninstall; else do_install; fi

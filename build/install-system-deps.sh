#!/bin/sh
# Installs the Debian packages the test suite needs, only when they are missing: Chromium (browser tests),
# PostgreSQL (the second backend), Dovecot (a real IMAP server for the e-mail channel's tests).
set -eu
need=""
[ -x /usr/bin/chromium ] || need="$need chromium"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need="$need postgresql"
[ -x /usr/sbin/dovecot ] || need="$need dovecot-imapd"
[ -z "$need" ] && exit 0
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
echo "installing Debian packages:$need"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $need >/dev/null

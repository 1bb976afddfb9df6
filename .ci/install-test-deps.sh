#!/usr/bin/env bash
# Installs the real test peers from Debian's packages. .ci/run calls it first; run it by
# hand (as root) on a development machine to run every suite instead of skipping some.
set -euo pipefail

PACKAGES=(
  dovecot-imapd   # Dovecot compatibility: IMAP view of the same Maildir
  dovecot-lmtpd   # Dovecot's LMTP: interop and the --peer dovecot benchmark
  swaks           # LMTP/SMTP client used in tests and the README walk-through
  python3         # smtplib.LMTP / imaplib clients
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-test-deps: all test peers present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# policy-rc.d keeps the packages' own services from starting: tests start their own daemons.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-test-deps: installed ${missing[*]}"

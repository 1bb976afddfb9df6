#!/usr/bin/env bash
# Installs the real test peers from Debian's packages. .ci/run calls it first; run it by
# hand (as root) on a development machine to run every suite instead of skipping some.
set -euo pipefail

PACKAGES=(
  dovecot-imapd   # Dovecot compatibility: IMAP view of the same Maildir
  dovecot-lmtpd   # Dovecot's LMTP: interop and the --peer dovecot benchmark
  swaks           # LMTP/SMTP client used in tests and the README walk-through
  python3         # smtplib / imaplib / poplib clients
  curl            # pop3s:// and imaps:// reads
  isync           # mbsync: two-way IMAP sync
  offlineimap3    # offlineimap: two-way IMAP sync
  dovecot-pop3d   # Dovecot's POP3: UIDL equality
  fetchmail       # POP3 collector
  mutt            # POP3/IMAP reader
  python3-dkim    # dkimpy: independent DKIM verifier (Debian's /usr/bin/python3)
  postfix         # the --peer postfix submission benchmark
  chromium        # headless browser for the web UI tests (driven by playwright-core)
  mariadb-server  # the MariaDB directory driver (the old stack's usermgmt schema)
  clamav-daemon   # clamd: virus scanning over INSTREAM (tests write their own EICAR signature db)
  rspamd          # spam scanning over /checkv2 and learning through the controller
  redis-server    # rspamd's Bayes statistics for the learning test
  roundcube       # Roundcube 1.6 webmail in Chromium against our IMAP/SMTP
  roundcube-sqlite3 # Roundcube's own SQLite database driver
  php-cli         # `php -S` serves Roundcube's public_html in the test
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
# postfix would otherwise ask which kind of mail set-up to write; the benchmark brings its own.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
# roundcube would otherwise ask to set up a database through dbconfig; the test brings its own SQLite file.
echo "roundcube-core roundcube/dbconfig-install boolean false" | $SUDO debconf-set-selections
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-test-deps: installed ${missing[*]}"

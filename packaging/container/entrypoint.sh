#!/bin/sh
# The container's first and every start: initialise the data volume once, then run the gateway in the foreground
# (PID 1's signals reach it: SIGTERM stops it cleanly, as `asyncos-cli stop` does).
#
# First start only:
#   the administrator's passphrase comes from $ASYNCOS_ADMIN_PASSPHRASE_FILE (a mounted secret, by default
#   /run/secrets/admin-passphrase); there is no default passphrase.
#   $ASYNCOS_SETUP (default /etc/asyncos-cli/setup.batch), when present, is run as appliance batch commands
#   (one or more per line, ';' between, ending with commit); without it the container's default is applied:
#   the Management interface and both listeners on every address of the container, so published ports reach them.
set -eu
: "${ASYNCOS_DATA:=/var/lib/asyncos-cli}"
: "${ASYNCOS_ADMIN_PASSPHRASE_FILE:=/run/secrets/admin-passphrase}"
: "${ASYNCOS_SETUP:=/etc/asyncos-cli/setup.batch}"
export ASYNCOS_DATA

if [ "${1:-serve}" != "serve" ]; then
    exec asyncos-cli "$@"
fi

if [ ! -e "$ASYNCOS_DATA/asyncos.db" ]; then
    if [ ! -r "$ASYNCOS_ADMIN_PASSPHRASE_FILE" ]; then
        echo "asyncos-cli: first start needs the administrator's passphrase in $ASYNCOS_ADMIN_PASSPHRASE_FILE" \
             "(mount it as a secret, or set ASYNCOS_ADMIN_PASSPHRASE_FILE)" >&2
        exit 64
    fi
    asyncos-cli init --admin-passphrase-file="$ASYNCOS_ADMIN_PASSPHRASE_FILE" ${ASYNCOS_HOSTNAME:+--hostname="$ASYNCOS_HOSTNAME"}
    if [ -r "$ASYNCOS_SETUP" ]; then
        asyncos-cli batch "$ASYNCOS_SETUP"
    else
        asyncos-cli -c "interfaceconfig edit Management --address=0.0.0.0; listenerconfig edit IncomingMail --interface=0.0.0.0; listenerconfig edit OutgoingMail --interface=0.0.0.0; commit container defaults: every address of the container"
    fi
fi
exec asyncos-cli serve

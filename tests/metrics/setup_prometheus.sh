#!/bin/sh
# Prints the path of a Prometheus server binary, installing Debian's `prometheus` package the
# first time (apt-get, as root or with password-less sudo). The Debian service is never started:
# the tests run the binary themselves on 127.0.0.1 with a temp config and data dir.
# $PODIUM_PROMETHEUS names a binary to use instead. Exit 1 (reason on stderr) when impossible.
set -u
if [ -n "${PODIUM_PROMETHEUS:-}" ]; then
  [ -x "$PODIUM_PROMETHEUS" ] && { echo "$PODIUM_PROMETHEUS"; exit 0; }
  echo "PODIUM_PROMETHEUS=$PODIUM_PROMETHEUS is not an executable" >&2; exit 1
fi
for bin in "$(command -v prometheus 2>/dev/null)" /usr/bin/prometheus; do
  [ -n "$bin" ] && [ -x "$bin" ] && { echo "$bin"; exit 0; }
done
command -v apt-get >/dev/null 2>&1 || { echo "no apt-get on this machine" >&2; exit 1; }
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo -n"; fi
# keep the package's postinst from starting the service (only if no policy is in place)
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ] && [ -z "$SUDO" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && made_policy=1
fi
export DEBIAN_FRONTEND=noninteractive
status=0
{ $SUDO apt-get update -qq && \
  $SUDO apt-get install -y -qq --no-install-recommends prometheus; } >&2 || status=1
[ "$made_policy" -eq 1 ] && rm -f "$policy"
if [ "$status" -ne 0 ] || [ ! -x /usr/bin/prometheus ]; then
  echo "apt-get could not install prometheus (no network or no root?)" >&2; exit 1
fi
echo /usr/bin/prometheus

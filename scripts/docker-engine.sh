#!/usr/bin/env bash
# Make sure a Docker engine answers. On a Debian machine where we are root and none runs, install
# Debian's docker.io and start dockerd in the background (there is no systemd as PID 1 on the CI
# machine). Anywhere else, say what to install. Idempotent: does nothing when an engine answers.
set -euo pipefail

log=${DOCKERD_LOG:-/var/log/research-env-dockerd.log}
wait_seconds=${DOCKERD_WAIT:-60}

engine_answers() { docker info >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && engine_answers; then
  echo "docker-engine: an engine answers ($(docker version --format '{{.Server.Version}}' 2>/dev/null))"
  exit 0
fi

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  cat >&2 <<MSG
docker-engine: no Docker engine answers, and this script only installs one as root on Debian/Ubuntu.
Install Docker yourself (Debian/Ubuntu: 'sudo apt-get install docker.io'; elsewhere: Docker Engine or
Docker Desktop), make sure 'docker info' works for your user, then run this again.
MSG
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
  echo "docker-engine: installing Debian's docker.io"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq docker.io >/dev/null
fi

# A service manager may be able to start it (a normal Debian host); otherwise start it by hand.
if [ -d /run/systemd/system ] && systemctl start docker 2>/dev/null && engine_answers; then
  echo "docker-engine: started by systemd"
  exit 0
fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
  echo "docker-engine: starting dockerd (log: $log)"
  nohup dockerd >"$log" 2>&1 </dev/null &
fi

for _ in $(seq "$wait_seconds"); do
  if engine_answers; then
    echo "docker-engine: engine up ($(docker version --format '{{.Server.Version}}' 2>/dev/null))"
    exit 0
  fi
  sleep 1
done
echo "docker-engine: dockerd did not answer within ${wait_seconds}s; last lines of $log:" >&2
[ -f "$log" ] && tail -n 20 "$log" >&2
exit 1

#!/usr/bin/env bash
# Build the local systemd-capable base image that molecule scenarios and lab mode run as "hosts".
# Where a registry answers, ubuntu:24.04 (the real target) is the base; otherwise Debian bookworm
# from Debian's mirror via debootstrap + docker import. Built once: an image whose recipe label
# matches this script is reused. RESEARCH_ENV_BASE=auto|ubuntu|debian forces a base.
set -euo pipefail

image=${RESEARCH_ENV_IMAGE:-research-env-host:latest}
base=${RESEARCH_ENV_BASE:-auto}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
here=$(cd "$(dirname "$0")" && pwd)
recipe=$(sha256sum "$here/test-image.sh" | cut -c1-16)
packages=python3,python3-apt,sudo,systemd,systemd-sysv,dbus,openssh-server,cron,iproute2,ca-certificates,curl,procps

existing=$(docker image inspect --format '{{ index .Config.Labels "research-env.recipe" }}' "$image" 2>/dev/null) || existing=""
if [ "$existing" = "$recipe" ]; then
  echo "test-image: $image is up to date (recipe $recipe)"
  exit 0
fi

# The same finishing steps for either base, run as a Dockerfile on top of it.
finish() {
  local from=$1 ctx
  ctx=$(mktemp -d)
  cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $from
ENV container=docker DEBIAN_FRONTEND=noninteractive
RUN if ! command -v sshd >/dev/null; then apt-get update \
      && apt-get install -y --no-install-recommends ${packages//,/ }; fi \
 && rm -rf /var/lib/apt/lists/* && touch -d @0 /var/lib/apt/lists \
 && systemctl mask getty.target console-getty.service systemd-logind.service \
      systemd-udevd.service systemd-udev-trigger.service systemd-firstboot.service \
 && rm -f /etc/ssh/ssh_host_* \
 && printf '%s\n' '[Unit]' 'Description=Generate this host'"'"'s SSH host keys' 'Before=ssh.service' \
      '[Service]' 'Type=oneshot' 'ExecStart=/usr/bin/ssh-keygen -A' \
      '[Install]' 'WantedBy=multi-user.target' > /etc/systemd/system/ssh-hostkeys.service \
 && systemctl enable ssh-hostkeys.service ssh.service cron.service
STOPSIGNAL SIGRTMIN+3
CMD ["/lib/systemd/systemd"]
LABEL research-env.recipe=$recipe
DOCKERFILE
  if ! docker build -q -t "$image" "$ctx" >"$ctx/build.log" 2>&1; then
    cat "$ctx/build.log" >&2
    exit 1
  fi
  rm -rf "$ctx"
}

if [ "$base" = ubuntu ] || { [ "$base" = auto ] && timeout 30 docker pull -q ubuntu:24.04 >/dev/null 2>&1; }; then
  echo "test-image: building $image from ubuntu:24.04"
  docker pull -q ubuntu:24.04 >/dev/null
  finish ubuntu:24.04
else
  echo "test-image: no registry answers; building $image from Debian bookworm (debootstrap)"
  if ! command -v debootstrap >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    else
      echo "test-image: debootstrap is needed (apt-get install debootstrap) and we are not root" >&2
      exit 1
    fi
  fi
  root=$(mktemp -d /tmp/research-env-rootfs.XXXXXX)
  trap 'rm -rf "$root"' EXIT
  debootstrap --variant=minbase --include="$packages" bookworm "$root" "$mirror" >/dev/null
  rm -rf "$root"/var/cache/apt/archives/*.deb
  tar -C "$root" -c . | docker import - research-env-rootfs:bookworm >/dev/null
  finish research-env-rootfs:bookworm
  docker image rm research-env-rootfs:bookworm >/dev/null
fi
echo "test-image: built $image ($(docker image inspect --format '{{.Size}}' "$image" | awk '{printf "%d MB", $1/1e6}'))"

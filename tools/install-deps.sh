#!/usr/bin/env bash
# Installs the Debian packages given as arguments that are not installed yet.
# Runs `apt-get update` only when a package cannot be found in the lists.
set -euo pipefail
missing=()
for p in "$@"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
apt_install() {
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
}
if ! apt_install; then
  $sudo apt-get update -q </dev/null
  apt_install
fi

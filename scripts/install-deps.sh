#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Install the Debian packages the project needs, only those that are missing.
# Usage: install-deps.sh [extra-package...]
. "$(dirname "$0")/lib/common.sh"

pkgs=(linux-source-6.12 qemu-system-x86 busybox-static build-essential flex
      bison bc libelf-dev libssl-dev cpio xz-utils rsync kmod python3 sparse
      patch git python3-sphinx python3-sphinx-rtd-theme
      clang libclang-rt-14-dev liburcu-dev "$@")

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

say "installing: ${missing[*]}"
[ "$(id -u)" -eq 0 ] || die "packages are missing: ${missing[*]}" \
	"run as root, or: sudo apt-get install ${missing[*]}"

log=$LOGS/apt.log
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
	# A fresh machine has no package lists yet; fetch them once and retry.
	apt-get update >>"$log" 2>&1 ||
		die "apt-get update failed: the package archive cannot be reached" \
			"check the network or proxy; details in $log"
	apt-get install -y --no-install-recommends "${missing[@]}" >>"$log" 2>&1 ||
		die "apt-get could not install: ${missing[*]}" \
			"see $log; every package must come from Debian 12 (bookworm)"
fi

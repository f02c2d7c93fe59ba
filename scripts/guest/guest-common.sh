# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash # busybox ash: shellcheck knows dash, not ash
# Sourced by every guest's /init (make-initramfs.sh puts it in the image as
# /guest-common.sh), which then calls guest_setup: busybox applets, and the
# filesystems the guests use.
# Source it; do not run it.

guest_setup() {
	/bin/busybox --install -s /bin
	mount -t proc proc /proc
	mount -t sysfs sys /sys
	mount -t devtmpfs dev /dev
	mount -t tmpfs tmp /tmp
	mount -t debugfs debugfs /sys/kernel/debug
	mkdir -p /dev/hugepages && mount -t hugetlbfs hugetlbfs /dev/hugepages
	echo "== guest: Linux $(uname -r), $(nproc) CPUs"
}

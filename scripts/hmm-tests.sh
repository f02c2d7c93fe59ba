#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Run the kernel's own hmm-tests selftest in QEMU against lib/test_hmm.c:
# the converted driver ("after"), and with --before also the unconverted
# 6.12 driver built from the pristine file as an external module. Prints
# the per-case results; the console is in build/logs/hmm-console.log.
# Usage: hmm-tests.sh [--before]
. "$(dirname "$0")/lib/common.sh"
. "$TOP/scripts/lib/results.sh"
. "$TOP/scripts/lib/series.sh"

console=$LOGS/hmm-console.log
variants=(after)
[ "${1:-}" = --before ] && variants=(before after)

kernel=$("$TOP/scripts/build-kernel.sh" run "$TOP/configs/run.config" \
	"$TOP/configs/hmm.config")
root=$BUILD/hmm-root
rm -rf "$root" && mkdir -p "$root"

"$TOP/scripts/build-userspace.sh"
cp "$BUILD/bin/hmm-tests" "$root/hmm-tests"

for v in "${variants[@]}"; do
	mkdir -p "$root/hmm/$v"
	if [ "$v" = after ]; then
		cp "$BUILD/run/lib/test_hmm.ko" "$root/hmm/$v/"
		continue
	fi
	# The 6.12 driver: undo our patch on a copy and build it out of tree.
	mod=$BUILD/hmm-before
	rm -rf "$mod" && mkdir -p "$mod/lib"
	cp "$SRC/lib/test_hmm.c" "$SRC/lib/test_hmm_uapi.h" "$mod/lib/"
	awk '/^diff --git/ { keep = ($3 == "a/lib/test_hmm.c") } keep' \
		"$TOP"/patches/*-lib-test_hmm-use-pgmap_alloc-for-device-pages.patch \
		>"$mod/test_hmm.patch"
	apply_patch "$mod" "$mod/test_hmm.patch" -R >/dev/null ||
		die "cannot rebuild the unconverted test_hmm.c" "check the test_hmm patch in patches/"
	echo 'obj-m := test_hmm.o' >"$mod/lib/Makefile"
	run_logged "$LOGS/build-hmm-before.log" make -C "$SRC" O="$BUILD/run" \
		ARCH=x86_64 M="$mod/lib" modules
	cp "$mod/lib/test_hmm.ko" "$root/hmm/$v/"
done

(cd "$root" && find hmm -type f) >"$root/files"
"$TOP/scripts/make-initramfs.sh" "$BUILD/hmm-initramfs.cpio.gz" "$TOP/scripts/guest/guest-hmm.sh" \
	"$root/hmm-tests"
# make-initramfs.sh copies flat files; add the module tree to the archive.
(cd "$root" && find hmm | cpio -o -H newc --quiet | gzip -1) >>"$BUILD/hmm-initramfs.cpio.gz"

say "  booting with ${variants[*]} (console: $console)"
"$TOP/scripts/boot-qemu.sh" "$kernel" "$BUILD/hmm-initramfs.cpio.gz" "$console" 1500 \
	loglevel=4 transparent_hugepage=madvise hugepages=16 \
	'memmap=256M!0x40000000' 'memmap=256M!0x50000000'

# One line per case: name, then the result of each variant (from the
# parser test.sh counts with, so that both agree).
for v in "${variants[@]}"; do
	results "$console" hmm-tests "$v" | sed "s/^/$v /"
done | awk -v variants="${variants[*]}" '
	{ v = $1; res = $2; name = $0; sub(/^[^ ]+ [^ ]+ /, "", name) }
	res == "total" {
		split(name, t, " ")
		total[v] = sprintf("%d passed, %d failed, %d skipped%s", t[1], t[2], t[3],
				   t[4] ? "" : " (did not run to the end)")
		next
	}
	{
		if (!(name in seen)) { seen[name] = 1; order[++n] = name }
		r[name, v] = res == "fail" ? "FAIL" : res
	}
	END {
		nv = split(variants, vs, " ")
		printf "%-58s", "hmm-tests case"
		for (i = 1; i <= nv; i++) printf " %-7s", vs[i]
		printf "\n"
		for (k = 1; k <= n; k++) {
			printf "%-58s", order[k]
			for (i = 1; i <= nv; i++) {
				x = r[order[k], vs[i]]
				printf " %-7s", x == "" ? "-" : x
			}
			printf "\n"
		}
		for (i = 1; i <= nv; i++)
			printf "%s: %s\n", vs[i], total[vs[i]]
	}' >"$LOGS/hmm-results.txt"
cat "$LOGS/hmm-results.txt"

# SPDX-License-Identifier: GPL-2.0
# Scan a kernel console log for reports that fail a test run even when every
# test passed: warnings, BUGs, KASAN/KFENCE/UBSAN, lockdep, hung tasks,
# kmemleak, RCU stalls. A warning from the project's own files between the
# markers of PGMAP_KUNIT_EXPECT_WARN() (lib/tests/pgmap_kunit.h) was provoked
# on purpose by a test and is allowed. Prints each report; exit status 1 if
# there was one.

/pgmap_kunit: expected warning begin/ { expected = 1; next }
/pgmap_kunit: expected warning end/ { expected = 0; next }

expected && /WARNING: .* at (mm\/pgmap_folio\.c|lib\/pgmap_alloc\.c):/ { next }

/WARNING:|BUG:|KASAN|KFENCE|UBSAN:|Kernel panic|Oops|general protection fault|possible circular locking|inconsistent lock state|possible recursive locking|INFO: task .* blocked for more than|suspected memory leaks|rcu_.*detected stall|self-detected stall/ {
	print FILENAME ":" FNR ": " $0
	found = 1
}

END { exit found }

# SPDX-License-Identifier: GPL-2.0
# pgmap_alloc: the two commands are `make run` and `make test`; the rest are
# the steps they are made of, for use while developing. KSRC=/path/to/linux
# builds against your own 6.12.y tree instead of Debian's linux-source-6.12.

.PHONY: run test harness fuzz kunit check hmm-compare bench series docs apply prepare deps clean

run:
	@scripts/run.sh

test:
	@scripts/test.sh

# Only the userspace harness of tools/testing/pgmap_alloc: seconds, no kernel.
harness:
	@scripts/test.sh harness

# The harness's fuzzer for FUZZ_S seconds (default 60); crashes in
# build/linux/tools/testing/pgmap_alloc/fuzz-crashes/.
fuzz: prepare
	@$(MAKE) -s -C build/linux/tools/testing/pgmap_alloc fuzz FUZZ_S=$(or $(FUZZ_S),60)

# Only the KUnit suites (SUITES=lib/tests/.kunitconfig for one), incremental.
kunit:
	@scripts/test.sh kunit

# Only checkpatch and kernel-doc.
check:
	@scripts/test.sh style

# hmm-tests against the unconverted and the converted lib/test_hmm.c.
hmm-compare: prepare
	@scripts/hmm-tests.sh --before

# Benchmark in QEMU (not a test): table on stdout, figures in build/bench.json.
bench:
	@scripts/bench.sh

# The patch series with a cover letter, in build/series/.
series: prepare
	@scripts/make-series.sh

# HTML of Documentation/core-api, with pgmap_alloc.rst, in build/docs/.
docs:
	@scripts/make-docs.sh

# Apply the series to your own 6.12.y git tree: make apply KSRC=<tree>
apply: deps
	@scripts/apply-series.sh

prepare: deps
	@scripts/prepare-source.sh

deps:
	@scripts/install-deps.sh

clean:
	rm -rf build

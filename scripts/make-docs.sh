#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make docs: render Documentation/core-api (with pgmap_alloc.rst) to HTML
# through the kernel's own Sphinx build.
. "$(dirname "$0")/lib/common.sh"

"$TOP/scripts/install-deps.sh" python3-sphinx python3-sphinx-rtd-theme
"$TOP/scripts/prepare-source.sh" >/dev/null
run_logged "$LOGS/htmldocs.log" make -C "$SRC" O="$BUILD/docs" SPHINXDIRS=core-api htmldocs
say "HTML: $BUILD/docs/Documentation/output/core-api/pgmap_alloc.html"

#!/usr/bin/env bash
# Refresh axe-core (npm package axe-core, MPL-2.0), injected by the browser tests to check
# the accessibility of every page of the main journeys.
#
#   scripts/refresh_axe.sh            # re-install the version pinned in tests/browser/vendor/axe-core/VERSION
#   scripts/refresh_axe.sh 4.14.1     # install (and pin) another version
#
# Needs npm and tar; only the maintainer runs it. The file is committed, so the tests need no Node.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/tests/browser/vendor/axe-core"
VERSION="${1:-$(cat "$DEST/VERSION")}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
(cd "$WORK" && npm pack "axe-core@$VERSION" --silent >/dev/null && tar xzf "axe-core-$VERSION.tgz")
mkdir -p "$DEST"
cp "$WORK/package/axe.min.js" "$WORK/package/LICENSE" "$DEST/"
echo "$VERSION" > "$DEST/VERSION"
echo "axe-core $VERSION installed in $DEST"

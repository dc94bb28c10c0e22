#!/usr/bin/env bash
# Refresh the DSFR assets shipped in static/dsfr/ from the npm package @gouvfr/dsfr.
#
#   scripts/refresh_dsfr.sh            # re-install the version pinned in static/dsfr/VERSION
#   scripts/refresh_dsfr.sh 1.15.3     # install (and pin) another version
#
# Needs npm and tar; only the maintainer runs it. The result is committed, so running the
# application (make run) needs no Node. Only the files the pages use are copied:
#   - dsfr.min.css, dsfr.module.min.js, dsfr.nomodule.min.js (the whole system, minified);
#   - fonts/*.woff2 (Marianne, Spectral; loaded only with DSFR_MARQUE_ETAT, see static/css/app.css);
#   - favicon/ (the État favicon, used only with DSFR_MARQUE_ETAT);
#   - icons/ : every SVG that dsfr.min.css references, plus the icon categories listed in
#     ICON_CATEGORIES below, whose utility classes (fr-icon-*) are concatenated into
#     utility/icons/icons.min.css;
#   - artwork/ : the pictograms of the error pages;
#   - LICENSE.md (Etalab 2.0 for the code; the Marianne brand and font are restricted to State services).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/static/dsfr"
VERSION="${1:-$(cat "$DEST/VERSION" 2>/dev/null || true)}"
if [[ -z "$VERSION" ]]; then
    echo "usage: $0 <version>   (no static/dsfr/VERSION to read it from)" >&2
    exit 2
fi
# Icon categories whose fr-icon-* classes the templates may use (one folder per category in DSFR).
ICON_CATEGORIES=(arrows buildings business document system user)
PICTOGRAMS=(system/technical-error.svg system/error.svg system/padlock.svg)

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
(cd "$WORK" && npm pack --silent "@gouvfr/dsfr@$VERSION" >/dev/null)
tar -xzf "$WORK"/gouvfr-dsfr-*.tgz -C "$WORK"
DIST="$WORK/package/dist"
ACTUAL="$(node -p "require('$WORK/package/package.json').version" 2>/dev/null || echo "$VERSION")"

rm -rf "$DEST"
mkdir -p "$DEST/fonts" "$DEST/favicon" "$DEST/utility/icons" "$DEST/artwork/pictograms/system"
cp "$DIST/dsfr.min.css" "$DIST/dsfr.module.min.js" "$DIST/dsfr.nomodule.min.js" "$DEST/"
cp "$WORK/package/LICENSE.md" "$DEST/LICENSE.md"
cp "$DIST"/fonts/*.woff2 "$DEST/fonts/"
cp "$DIST"/favicon/* "$DEST/favicon/"
for picto in "${PICTOGRAMS[@]}"; do
    cp "$DIST/artwork/pictograms/$picto" "$DEST/artwork/pictograms/$picto"
done

# The SVGs the component styles point at (url(icons/...) in dsfr.min.css).
grep -o 'url(icons/[^)]*)' "$DIST/dsfr.min.css" | sed 's/^url(//; s/)$//' | sort -u |
    while read -r icon; do
        mkdir -p "$DEST/$(dirname "$icon")"
        cp "$DIST/$icon" "$DEST/$icon"
    done

# The utility classes of the chosen categories, in one file, with URLs relative to it.
{
    echo "/* DSFR $ACTUAL icon utilities, categories: ${ICON_CATEGORIES[*]} (scripts/refresh_dsfr.sh) */"
    for category in "${ICON_CATEGORIES[@]}"; do
        sed 's#\.\./\.\./\.\./icons/#../../icons/#g' \
            "$DIST/utility/icons/icons-$category/icons-$category.min.css"
        echo
        mkdir -p "$DEST/icons/$category"
        cp "$DIST/icons/$category"/*.svg "$DEST/icons/$category/"
    done
} >"$DEST/utility/icons/icons.min.css"

echo "$ACTUAL" >"$DEST/VERSION"
echo "DSFR $ACTUAL installed in static/dsfr ($(du -sh "$DEST" | cut -f1))."

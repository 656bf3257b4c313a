#!/usr/bin/env bash
# Re-fetch the GraphiQL page's assets from the npm registry into smbselect/static/graphiql/.
#
# Why: strawberry's GraphiQL page loads React, GraphiQL and friends from unpkg.com, which a
# deployment without internet access cannot reach. unpkg serves files straight out of the npm
# tarballs, so the same <package>@<version>/<path> taken from `npm pack` is byte-identical and the
# page's integrity (SRI) hashes still hold when we serve it ourselves.
#
# The list of files is read from the installed strawberry's page, not written down here, so after a
# strawberry upgrade re-running this script picks up whatever the new page references. Nothing is
# replaced unless every file's SHA-384 matches the page's integrity attribute.
#
# Usage: scripts/vendor_graphiql.sh            (from anywhere; needs npm and the project's venv)
#        PYTHON=/path/to/python scripts/vendor_graphiql.sh
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-$repo_root/.venv/bin/python}"
dest="$repo_root/smbselect/static/graphiql"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# One line per asset: "<package> <version> <path> <integrity>".
"$python" - >"$work/assets.txt" <<'EOF'
import re

from strawberry.http.ides import get_graphql_ide_html

page = get_graphql_ide_html("graphiql")
tag = re.compile(r"<(?:script|link)\b[^>]*>", re.S)
url = re.compile(r'\b(?:src|href)="https://unpkg\.com/((?:@[^/@"]+/)?[^/@"]+)@([^/"]+)/([^"]+)"')
sri = re.compile(r'\bintegrity="([^"]+)"')
found = 0
for m in tag.finditer(page):
    u = url.search(m.group(0))
    if not u:
        continue
    i = sri.search(m.group(0))
    if not i:
        raise SystemExit(f"no integrity attribute on {m.group(0)!r}")
    print(*u.groups(), i.group(1))
    found += 1
if not found:
    raise SystemExit("strawberry's GraphiQL page references no unpkg.com assets; nothing to do")
EOF

stage="$work/stage"
mkdir -p "$stage"
status=0
while read -r pkg version path integrity; do
    spec="$pkg@$version"
    unpacked="$work/unpacked/$spec"
    if [[ ! -d "$unpacked" ]]; then
        mkdir -p "$unpacked"
        # npm checks the tarball against the registry's own sha512 integrity.
        tarball="$(cd "$work" && npm pack --silent "$spec")"
        tar -xzf "$work/$tarball" -C "$unpacked"
        # Ship each package's licence next to its files (all MIT; the notice must travel with them).
        for lic in LICENSE LICENSE.md LICENSE.txt; do
            if [[ -f "$unpacked/package/$lic" ]]; then
                mkdir -p "$stage/$spec"
                cp "$unpacked/package/$lic" "$stage/$spec/$lic"
            fi
        done
    fi
    src="$unpacked/package/$path"
    if [[ ! -f "$src" ]]; then
        echo "MISSING  $spec/$path (not in the npm tarball)" >&2
        status=1
        continue
    fi
    mkdir -p "$(dirname "$stage/$spec/$path")"
    cp "$src" "$stage/$spec/$path"
    algo="${integrity%%-*}"
    actual="$algo-$(openssl dgst "-$algo" -binary "$src" | openssl base64 -A)"
    if [[ "$actual" == "$integrity" ]]; then
        echo "OK       $spec/$path $actual"
    else
        echo "MISMATCH $spec/$path page=$integrity file=$actual" >&2
        status=1
    fi
done <"$work/assets.txt"

if [[ $status -ne 0 ]]; then
    echo "not replacing $dest: some assets did not verify" >&2
    exit $status
fi

rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
cp -R "$stage" "$dest"
echo "vendored $(wc -l <"$work/assets.txt") assets into ${dest#"$repo_root"/}"

#!/usr/bin/env bash
# Rebuilds the JavaScript SDK (clients/js) and copies its ESM build into the relay's web console
# (src/Relay/Console/sdk/), which the relay embeds. The copied files are committed, so the relay builds
# with dotnet alone; run this after changing clients/js/src and commit the result.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
(cd "$root/clients/js" && npm ci --no-audit --no-fund && npm run build)
rm -rf "$root/src/Relay/Console/sdk"
mkdir -p "$root/src/Relay/Console/sdk"
cp "$root"/clients/js/dist/src/*.js "$root/src/Relay/Console/sdk/"
echo "console: copied $(ls "$root/src/Relay/Console/sdk" | wc -l) SDK files into src/Relay/Console/sdk"

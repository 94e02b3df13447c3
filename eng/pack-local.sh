#!/usr/bin/env bash
# Packs every ContextRelay package (the tools and the libraries) into a local NuGet feed and installs the
# tools listed in eng/tools.txt from it.
#
#   bash eng/pack-local.sh [FEED_DIR] [TOOL_DIR]      # defaults: ./local-feed and ./.tools/bin
#   export PATH="$PWD/.tools/bin:$PATH"               # then: contextrelay-relay, contextrelay-mcp, …
#   dotnet add package ContextRelay.Sdk --source ./local-feed
#
# PACK_ARTIFACTS_PATH=DIR builds in DIR instead of the projects' bin/ and obj/ (tests/Packaging.Tests uses
# it so its build never touches the working tree's).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
feed="${1:-$root/local-feed}"
tool_dir="${2:-$root/.tools/bin}"
mkdir -p "$feed" "$tool_dir"
feed="$(cd "$feed" && pwd)"
tool_dir="$(cd "$tool_dir" && pwd)"

started=$SECONDS
pack_args=(pack "$root/ContextRelay.sln" -c Release -o "$feed" -nologo -v quiet)
if [ -n "${PACK_ARTIFACTS_PATH:-}" ]; then
  pack_args+=(--artifacts-path "$PACK_ARTIFACTS_PATH")
fi
echo "pack-local: packing ContextRelay.sln into $feed"
dotnet "${pack_args[@]}"
echo "pack-local: packed in $((SECONDS - started)) s: $(cd "$feed" && ls -- *.nupkg | tr '\n' ' ')"

commands=()
while read -r id command; do
  case "$id" in '' | '#'*) continue ;; esac
  # Uninstall first: a rebuilt package keeps its version, and an update to the same version would keep the old bits.
  if [ -e "$tool_dir/.store/$(printf '%s' "$id" | tr '[:upper:]' '[:lower:]')" ]; then
    dotnet tool uninstall --tool-path "$tool_dir" "$id" >/dev/null </dev/null
  fi
  dotnet tool install --tool-path "$tool_dir" --source "$feed" "$id" >/dev/null </dev/null
  commands+=("$command")
  echo "pack-local: installed $id: $tool_dir/$command"
done < "$root/eng/tools.txt"

echo "pack-local: done in $((SECONDS - started)) s. The commands (${commands[*]}) are in $tool_dir; put them on PATH with:"
echo "  export PATH=\"$tool_dir:\$PATH\""

#!/usr/bin/env bash
# Installs the pinned Claude Code into .tools/claude-code (ignored by git) for tests/ClaudeCode.Tests.
# Idempotent: does nothing when that version is already there. Needs npm (and network access to the npm
# registry) only when it has to install. The tests find the program at
# .tools/claude-code/node_modules/.bin/claude, or wherever $CLAUDE_CODE_BIN points.
set -euo pipefail
VERSION=2.1.331
cd "$(dirname "$0")/../.."
dir=.tools/claude-code
bin=$dir/node_modules/.bin/claude

if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "^$VERSION "; then
  echo "claude-code: $VERSION already installed in $dir"
  exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "claude-code: installing npm"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
  else
    echo "claude-code: npm is needed to install @anthropic-ai/claude-code@$VERSION (install Node.js and npm)" >&2
    exit 1
  fi
fi

mkdir -p "$dir"
[ -f "$dir/package.json" ] || echo '{ "private": true }' > "$dir/package.json"
# The package's postinstall links the platform's native binary (@anthropic-ai/claude-code-linux-x64, …).
npm install --prefix "$dir" --no-audit --no-fund --no-save --loglevel=error "@anthropic-ai/claude-code@$VERSION" </dev/null
"$bin" --version

// `npm test`: builds what the tests start for real (the relay in src/Relay and the .NET SDK interop helper;
// incremental, so a second run takes seconds), then runs `node --test` over test/*.test.mjs, one file at a
// time (each starts its own relays). Node 22+ has a global WebSocket; Node 20 gets --experimental-websocket.
// CONTEXTRELAY_RELAY_DLL=<path to contextrelay-relay.dll> skips building the relay.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { relayDll, repoRoot, interopProject } from './support/relay.mjs';

const major = Number(process.versions.node.split('.')[0]);
if (major < 20) {
  console.error(`contextrelay-js needs Node 20 or newer (global fetch, WebSocket, crypto.subtle); this is ${process.version}.`);
  process.exit(1);
}

const build = (project) => {
  console.log(`build: dotnet build ${project}`);
  execFileSync('dotnet', ['build', project, '-nologo', '-v', 'q', '-clp:ErrorsOnly'], { cwd: repoRoot, stdio: 'inherit' });
};
if (!process.env.CONTEXTRELAY_RELAY_DLL) build('src/Relay/ContextRelay.Relay.csproj');
build(interopProject);
console.log(`test: relay ${relayDll}, node ${process.version}`);

const files = readdirSync(new URL('.', import.meta.url)).filter((f) => f.endsWith('.test.mjs')).sort().map((f) => `test/${f}`);
const flags = typeof globalThis.WebSocket === 'function' ? [] : ['--experimental-websocket'];
const result = spawnSync(process.execPath, [...flags, '--test', '--test-concurrency=1', '--test-timeout=120000', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);

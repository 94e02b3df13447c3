// Starts a REAL relay (dotnet contextrelay-relay.dll serve) on a free loopback port with its own data folder.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
export const relayDll = process.env.CONTEXTRELAY_RELAY_DLL ?? join(repoRoot, 'src/Relay/bin/Debug/net10.0/contextrelay-relay.dll');
export const interopProject = 'clients/js/test/support/dotnet-interop/DotnetInterop.csproj';
export const interopDll = join(repoRoot, 'clients/js/test/support/dotnet-interop/bin/Debug/net10.0/DotnetInterop.dll');

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A well-formed API key: cr_live_ + 40 base62 characters. */
export function newKey() {
  let key = 'cr_live_';
  for (let i = 0; i < 40; i++) key += BASE62[randomInt(62)];
  return key;
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const running = new Set();
const killAll = () => {
  for (const child of running) child.kill('SIGKILL');
};
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    killAll(); // a cancelled or timed-out test run leaves no relay behind
    process.exit(130);
  });
}

export class Relay {
  /** @param {{ args?: string[], key?: string, data?: string }} options */
  constructor(options = {}) {
    this.args = options.args ?? [];
    this.key = options.key ?? newKey();
    this.data = options.data ?? mkdtempSync(join(tmpdir(), 'contextrelay-js-'));
    this.port = 0;
    this.child = undefined;
    this.log = '';
  }

  static async start(options) {
    const relay = new Relay(options);
    await relay.start();
    return relay;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Runs a relay CLI command (keys, workspaces) against this relay's data folder; returns stdout. */
  cli(...args) {
    return execFileSync('dotnet', [relayDll, ...args, '--data', this.data], {
      env: { ...process.env, CONTEXTRELAY_API_KEY: this.key },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  async start() {
    if (this.port === 0) this.port = await freePort();
    const child = spawn('dotnet', [relayDll, 'serve', '--urls', this.url, '--data', this.data, '--no-access-log', ...this.args], {
      env: { ...process.env, CONTEXTRELAY_API_KEY: this.key, DOTNET_NOLOGO: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    running.add(child);
    child.stdout.on('data', (chunk) => (this.log += chunk));
    child.stderr.on('data', (chunk) => (this.log += chunk));
    const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    this.exited = exited.then(() => running.delete(child));
    const deadline = Date.now() + 60_000;
    for (;;) {
      const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r(undefined), 200))]);
      if (code !== undefined) throw new Error(`The relay exited (${code}) before it served /healthz:\n${this.log}`);
      try {
        const response = await fetch(`${this.url}/healthz`);
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`The relay did not answer /healthz within 60 s:\n${this.log}`);
    }
  }

  /** SIGTERM, as a deployment would: the relay closes its WebSockets with 1012 and exits. */
  async stop() {
    if (this.child === undefined) return;
    const child = this.child;
    this.child = undefined;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await this.exited;
    clearTimeout(timer);
  }

  async dispose() {
    await this.stop();
    rmSync(this.data, { recursive: true, force: true });
  }
}

/** Resolves when `predicate()` is true, polling; fails after `ms`. */
export async function eventually(predicate, ms = 10_000, what = 'the condition') {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}.`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

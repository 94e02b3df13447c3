// The package as users get it: npm pack, install the tarball into an empty project (no network: no
// dependencies), import it by name through "exports", and type-check a TypeScript consumer against its .d.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('..', import.meta.url));
const npm = (args, cwd) => execFileSync('npm', [...args, '--no-audit', '--no-fund', '--offline'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

test('the packed tarball installs, imports by name and type-checks in a TypeScript project', () => {
  const work = mkdtempSync(join(tmpdir(), 'contextrelay-js-pack-'));
  try {
    npm(['pack', '--pack-destination', work], here);
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
    assert.ok(tarball, 'npm pack wrote a tarball');
    const app = join(work, 'app');
    execFileSync('mkdir', [app]);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    npm(['install', join(work, tarball)], app);
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', `
      import { ContextRelay, RelayQuotaError, RelayError, fernet } from 'contextrelay-js';
      const relay = new ContextRelay({ apiKey: 'cr_live_x', baseUrl: 'https://relay.example/v1' });
      const token = await fernet.encrypt(fernet.generateKey(), 'x');
      console.log(relay.baseUrl, new RelayQuotaError('q') instanceof RelayError, token.slice(0, 6));
    `], { cwd: app, encoding: 'utf8' });
    assert.equal(out.trim(), 'https://relay.example/v1/ true gAAAAA');
    writeFileSync(join(app, 'consumer.ts'), `
      import { ContextRelay, RelayQuotaError, type PushResult, type RelayEvent } from 'contextrelay-js';
      const relay = new ContextRelay({ apiKey: 'k', baseUrl: 'http://127.0.0.1:8787' });
      export async function run(): Promise<void> {
        const pushed: PushResult = await relay.push('x', { channel: 'c', metadata: { a: 1 }, encrypted: true, ttlSeconds: 60 });
        const text: string = await relay.pull(pushed.url, { signal: AbortSignal.timeout(1000) });
        const seq: number = await relay.publish('c', text);
        for await (const ev of relay.events('c', { since: seq })) { const e: RelayEvent = ev; void e.seq; }
        try { await relay.peek(pushed.id); } catch (e) { if (e instanceof RelayQuotaError) void e.resetsAt; }
      }
    `);
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, lib: ['ES2022', 'DOM', 'DOM.Iterable'], types: [] },
      files: ['consumer.ts'],
    }));
    execFileSync(process.execPath, [join(here, 'node_modules/typescript/bin/tsc'), '-p', app], { encoding: 'utf8' });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('the SDK uses only web-standard globals (runs in browsers and Workers): no Node modules, process or Buffer', () => {
  const dist = join(here, 'dist/src');
  const files = readdirSync(dist).filter((f) => f.endsWith('.js'));
  assert.ok(files.length >= 5);
  for (const file of files) {
    const code = readFileSync(join(dist, file), 'utf8');
    for (const forbidden of [/\bfrom ['"]node:/, /\brequire\(/, /\bprocess\./, /\bBuffer\b/, /\bimport\(['"](?!\.)/]) {
      assert.doesNotMatch(code, forbidden, `${file} uses ${forbidden}`);
    }
    for (const match of code.matchAll(/\bfrom ['"]([^'"]+)['"]/g)) assert.match(match[1], /^\.\//, `${file} imports ${match[1]}`);
  }
});

// push / pull / peek / publish against a REAL relay, and the .NET SDK interop through it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { ContextRelay, RelayDecryptionError } from '../dist/src/index.js';
import { Relay, interopDll } from './support/relay.mjs';

let relay;
let client;
before(async () => {
  relay = await Relay.start();
  client = new ContextRelay({ apiKey: relay.key, baseUrl: relay.url });
});
after(() => relay?.dispose());

const texts = {
  ascii: 'hello, relay',
  unicode: 'Grüße — 世界 👋🏽 👩‍👩‍👧 ½ «ok»\r\n\ttab\u0000nul',
  envelopeShaped: '{"data":"inner","metadata":{"page":2}}',
  megabyte: 'abcdé'.repeat(210_000), // > 1 MB of UTF-8
};

test('push then pull returns the exact text (ASCII, non-ASCII, envelope-shaped, over 1 MB)', async () => {
  for (const [name, text] of Object.entries(texts)) {
    const pushed = await client.push(text);
    assert.match(pushed.url, new RegExp(`^${relay.url}/pull/${pushed.id}$`), name);
    assert.equal(pushed.size, new TextEncoder().encode(text).length, name);
    assert.equal(pushed.channel, null);
    assert.ok(pushed.expiresAt.getTime() > Date.now(), name);
    assert.equal(await client.pull(pushed.url), text, name);
    assert.equal(await client.pull(pushed.id), text, `${name} by id`);
  }
});

test('peek returns the metadata and the headers: size, channel, encrypted, expiry', async () => {
  const metadata = { task_id: '42', note: 'naïve ✓', nested: { n: 1, list: [true, null] } };
  const pushed = await client.push('peek me', { channel: 'peek-chan', metadata, ttlSeconds: 600 });
  assert.equal(pushed.channel, 'peek-chan');
  const info = await client.peek(pushed.url);
  assert.deepEqual(info.metadata, metadata);
  assert.equal(info.id, pushed.id);
  assert.equal(info.size, 7);
  assert.equal(info.channel, 'peek-chan');
  assert.equal(info.encrypted, false);
  const ttl = (info.expiresAt.getTime() - info.createdAt.getTime()) / 1000;
  assert.ok(ttl > 590 && ttl <= 601, `ttl ${ttl}`);
  assert.deepEqual((await client.peek(await client.push('none').then((r) => r.id))).metadata, {});
});

test('encrypted round trip: the relay stores only a Fernet token, the key travels in #key=', async () => {
  const text = texts.unicode + ' secret';
  const pushed = await client.push(text, { encrypted: true, metadata: { kind: 'secret' } });
  const [bare, fragment] = pushed.url.split('#');
  assert.match(fragment, /^key=[A-Za-z0-9_-]{43}=$/);
  const info = await client.peek(pushed.url);
  assert.equal(info.encrypted, true);
  assert.deepEqual(info.metadata, { kind: 'secret' }); // metadata stays plaintext
  // What the relay holds, fetched like curl would: a Fernet token, not the text.
  const stored = await (await fetch(bare, { headers: { Authorization: `Bearer ${relay.key}` } })).text();
  assert.match(stored, /^gAAAAA[A-Za-z0-9_-]+=*$/);
  assert.ok(!stored.includes('secret'));
  assert.equal(await client.pull(pushed.url), text);
  await assert.rejects(client.pull(bare), RelayDecryptionError);
  const wrongKey = pushed.url.replace(/#key=.*/, '#key=' + 'A'.repeat(43) + '=');
  await assert.rejects(client.pull(wrongKey), RelayDecryptionError);
});

test('a base URL with /v1 (as the hosted relay is copied) works for every call, URLs keep the prefix', async () => {
  const v1 = new ContextRelay({ apiKey: relay.key, baseUrl: `${relay.url}/v1` });
  const received = [];
  const subscription = await v1.subscribe('v1-chan', (e) => received.push(e));
  const pushed = await v1.push('via v1', { channel: 'v1-chan' });
  assert.equal(pushed.url, `${relay.url}/v1/pull/${pushed.id}`);
  assert.equal(await v1.pull(pushed.url), 'via v1');
  assert.equal((await v1.peek(pushed.id)).size, 6);
  const deadline = Date.now() + 10_000;
  while (received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  subscription.close();
  assert.equal(received[0]?.id, pushed.id);
});

test('publish returns increasing seqs', async () => {
  const first = await client.publish('pub-chan', 'one', { metadata: { kind: 'status' } });
  const second = await client.publish('pub-chan', 'two');
  assert.ok(first >= 1);
  assert.equal(second, first + 1);
});

test('delete removes a payload', async () => {
  const pushed = await client.push('short-lived');
  await client.delete(pushed.url);
  await assert.rejects(client.pull(pushed.url), { name: 'RelayNotFoundError', status: 404 });
});

const dotnet = (args, input) => execFileSync('dotnet', [interopDll, ...args], { input, encoding: 'utf8', maxBuffer: 64 << 20 });

test('a payload encrypted by the .NET SDK is pulled and decrypted by JS', async () => {
  const text = texts.unicode + ' from .NET ' + 'x'.repeat(50_000);
  const url = dotnet(['push', relay.url, relay.key], text).trim();
  assert.match(url, /#key=/);
  assert.equal((await client.peek(url)).encrypted, true);
  assert.equal(await client.pull(url), text);
});

test('a payload encrypted by JS is pulled and decrypted by the .NET SDK', async () => {
  const text = texts.unicode + ' from JS';
  const pushed = await client.push(text, { encrypted: true });
  assert.equal(dotnet(['pull', relay.url, relay.key, pushed.url]), text);
});

test('an AbortSignal cancels a pull', async () => {
  const pushed = await client.push(texts.megabyte);
  const controller = new AbortController();
  controller.abort(new Error('cancelled by the caller'));
  await assert.rejects(client.pull(pushed.url, { signal: controller.signal }), /cancelled by the caller/);
  const racing = new AbortController();
  const pending = client.pull(pushed.url, { signal: racing.signal });
  racing.abort();
  await assert.rejects(pending, { name: 'AbortError' });
});

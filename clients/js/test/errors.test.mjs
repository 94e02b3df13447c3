// Every error type against a REAL relay: 401, 404, 413 (a relay with a 1,000-byte limit), 429 (a one-push
// plan), 5xx/network (no relay), decryption, and 401 on a WebSocket.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  ContextRelay,
  RelayAuthError,
  RelayDecryptionError,
  RelayError,
  RelayForbiddenError,
  RelayNotFoundError,
  RelayPayloadTooLargeError,
  RelayQuotaError,
  RelayUnavailableError,
} from '../dist/src/index.js';
import { Relay, freePort, newKey } from './support/relay.mjs';

let small; // Relay:MaxPayloadBytes=1000
let tiny; // workspace dev on plan 'tiny': one push a month
before(async () => {
  small = await Relay.start({ args: ['--Relay:MaxPayloadBytes=1000'] });
  tiny = new Relay({ args: ['--Relay:Plans:tiny:MonthlyPushes=1'] });
  tiny.cli('workspaces', 'set-plan', 'dev', 'tiny', '--Relay:Plans:tiny:MonthlyPushes=1');
  await tiny.start();
});
after(async () => {
  await small?.dispose();
  await tiny?.dispose();
});

test('a bad key is a RelayAuthError (401) with the problem document', async () => {
  const client = new ContextRelay({ apiKey: newKey(), baseUrl: small.url });
  const error = await client.push('x').catch((e) => e);
  assert.ok(error instanceof RelayAuthError);
  assert.ok(error instanceof RelayError);
  assert.equal(error.status, 401);
  assert.equal(error.problem.status, 401);
  assert.equal(typeof error.problem.detail, 'string');
  await assert.rejects(client.pull('00000000-0000-4000-8000-000000000000'), RelayAuthError);
});

test('a bad key on a subscription is a RelayAuthError at once', async () => {
  const client = new ContextRelay({ apiKey: newKey(), baseUrl: small.url });
  await assert.rejects(client.openSubscription('jobs'), (e) => e instanceof RelayAuthError && e.status === 401);
});

test('a read-only key that pushes is a RelayForbiddenError (403)', async () => {
  const readOnly = small.cli('keys', 'create', '--workspace', 'dev', '--read-only').trim().split('\n')[0].trim();
  const client = new ContextRelay({ apiKey: readOnly, baseUrl: small.url });
  const error = await client.push('x').catch((e) => e);
  assert.ok(error instanceof RelayForbiddenError, String(error));
  assert.equal(error.status, 403);
  await assert.rejects(client.publish('jobs', 'x'), RelayForbiddenError);
});

test('an unknown id is a RelayNotFoundError (404)', async () => {
  const client = new ContextRelay({ apiKey: small.key, baseUrl: small.url });
  const error = await client.pull(`${small.url}/pull/6f1c1a52-7d7e-4c43-9a5e-2f6b9d1f0c11`).catch((e) => e);
  assert.ok(error instanceof RelayNotFoundError);
  assert.equal(error.status, 404);
  await assert.rejects(client.peek('6f1c1a52-7d7e-4c43-9a5e-2f6b9d1f0c11'), RelayNotFoundError);
});

test('a payload over the limit is a RelayPayloadTooLargeError (413); at the limit it is stored', async () => {
  const client = new ContextRelay({ apiKey: small.key, baseUrl: small.url });
  const error = await client.push('x'.repeat(1001)).catch((e) => e);
  assert.ok(error instanceof RelayPayloadTooLargeError, String(error));
  assert.equal(error.status, 413);
  assert.equal(await client.pull((await client.push('y'.repeat(1000))).url), 'y'.repeat(1000));
});

test('an exhausted quota is a RelayQuotaError (429) naming plan, meter, limit, used, reset and Retry-After', async () => {
  const client = new ContextRelay({ apiKey: tiny.key, baseUrl: tiny.url });
  await client.push('the one push of the month');
  const error = await client.push('one too many').catch((e) => e);
  assert.ok(error instanceof RelayQuotaError, String(error));
  assert.equal(error.status, 429);
  assert.equal(error.plan, 'tiny');
  assert.equal(error.meter, 'pushes');
  assert.equal(error.limit, 1);
  assert.equal(error.used, 1);
  assert.ok(error.resetsAt instanceof Date && error.resetsAt.getTime() > Date.now());
  assert.equal(error.resetsAt.getUTCDate(), 1); // the first of next month
  assert.ok(error.retryAfter > 0);
});

test('no relay is a RelayUnavailableError', async () => {
  const client = new ContextRelay({ apiKey: newKey(), baseUrl: `http://127.0.0.1:${await freePort()}` });
  await assert.rejects(client.push('x'), RelayUnavailableError);
  await assert.rejects(client.openSubscription('jobs'), RelayUnavailableError);
});

test('an encrypted payload pulled without its key is a RelayDecryptionError', async () => {
  const client = new ContextRelay({ apiKey: small.key, baseUrl: small.url });
  const pushed = await client.push('secret', { encrypted: true });
  await assert.rejects(client.pull(pushed.id), RelayDecryptionError);
});

test('arguments are checked before anything is sent', async () => {
  const client = new ContextRelay({ apiKey: small.key, baseUrl: small.url });
  await assert.rejects(client.push(''), RangeError);
  await assert.rejects(client.pull('not a url/with spaces'), TypeError);
  assert.throws(() => new ContextRelay({ baseUrl: 'ftp://example' }), TypeError);
  assert.throws(() => client.events(''), TypeError); // eagerly, before any iteration
  await assert.rejects(client.subscribe('x'.repeat(201), () => {}), RangeError);
});

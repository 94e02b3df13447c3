// Channels over the WebSocket (subprotocol auth) against a REAL relay: live, since replay, reconnect across a
// relay restart without loss or duplicates, queue groups with ack, abort, and revocation (4401).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ContextRelay, RelayAuthError, RelaySubscription } from '../dist/src/index.js';
import { Relay, eventually } from './support/relay.mjs';

let relay;
let client;
before(async () => {
  relay = await Relay.start();
  client = new ContextRelay({ apiKey: relay.key, baseUrl: relay.url, reconnectDelayMs: 200 });
});
after(() => relay?.dispose());

/** Reads `count` events from an iterator (with a timeout). */
async function take(iterator, count, ms = 10_000) {
  const events = [];
  const timer = setTimeout(() => iterator.return?.(), ms);
  try {
    while (events.length < count) {
      const { value, done } = await iterator.next();
      if (done) break;
      events.push(value);
    }
  } finally {
    clearTimeout(timer);
  }
  return events;
}

test('subscribe with a handler receives pushes and messages live, in order', async () => {
  const received = [];
  const subscription = await client.subscribe('live', (event) => received.push(event));
  assert.ok(subscription instanceof RelaySubscription);
  const pushed = await client.push('payload', { channel: 'live', metadata: { task_id: '7' } });
  const seq = await client.publish('live', 'build is green', { metadata: { kind: 'status' } });
  await eventually(() => received.length === 2, 10_000, 'two events');
  subscription.close();
  await subscription.done;
  const [push, message] = received;
  assert.equal(push.type, 'push');
  assert.equal(push.url, pushed.url);
  assert.equal(push.id, pushed.id);
  assert.deepEqual(push.metadata, { task_id: '7' });
  assert.equal(message.type, 'message');
  assert.equal(message.data, 'build is green');
  assert.equal(message.seq, seq);
  assert.equal(message.seq, push.seq + 1);
  assert.equal(await client.pull(push.url), 'payload');
});

test('events(channel, { since }) replays the retained events first, then goes live', async () => {
  const seqs = [];
  for (const text of ['a', 'b', 'c']) seqs.push(await client.publish('replay', text));
  const iterator = client.events('replay', { since: seqs[0] })[Symbol.asyncIterator]();
  const replayed = await take(iterator, 2);
  assert.deepEqual(replayed.map((e) => e.data), ['b', 'c']);
  await client.publish('replay', 'd');
  const [live] = await take(iterator, 1);
  assert.equal(live.data, 'd');
  assert.equal(live.seq, seqs[2] + 1);
  await iterator.return();
});

test('a subscription reconnects after the relay restarts and loses or doubles no event', async () => {
  // A slow reconnect, so the events published after the restart are missed live and come back by since= replay.
  const slow = new ContextRelay({ apiKey: relay.key, baseUrl: relay.url, reconnectDelayMs: 2500 });
  let reconnected = 0;
  const subscription = await slow.openSubscription('restart', { onReconnect: () => reconnected++ });
  let reconnects = 0;
  const received = [];
  const reader = (async () => {
    for await (const event of subscription) received.push(event.data);
  })();
  for (let i = 0; i < 5; i++) await client.publish('restart', `before-${i}`);
  await eventually(() => received.length === 5, 10_000, 'the first five');
  await relay.stop(); // SIGTERM: the relay closes the socket with 1012
  await relay.start(); // same port, same data: seqs continue
  for (let i = 0; i < 5; i++) await client.publish('restart', `after-${i}`); // possibly before the client is back
  await eventually(() => received.length >= 10, 20_000, 'the events published while reconnecting');
  await client.publish('restart', 'last');
  await eventually(() => received.includes('last'), 10_000, 'the last event');
  subscription.close();
  await reader;
  reconnects = subscription.connections - 1;
  assert.ok(reconnects >= 1, 'reconnected');
  assert.equal(reconnected, reconnects, 'onReconnect called once per reconnect');
  assert.deepEqual(received, [...[0, 1, 2, 3, 4].map((i) => `before-${i}`), ...[0, 1, 2, 3, 4].map((i) => `after-${i}`), 'last']);
});

test('a queue group hands each event to exactly one member, which acks it', async () => {
  const channel = 'tasks';
  const a = await client.openSubscription(channel, { group: 'workers', ackTimeout: 30, prefetch: 1 });
  const b = await client.openSubscription(channel, { group: 'workers', ackTimeout: 30, prefetch: 1 });
  const seen = [];
  const run = (subscription) => (async () => {
    for await (const event of subscription) {
      seen.push(event);
      assert.equal(subscription.ack(event), true);
    }
  })();
  const readers = [run(a), run(b)];
  for (let i = 0; i < 6; i++) await client.publish(channel, `task-${i}`);
  await eventually(() => seen.length >= 6, 20_000, 'all six tasks');
  await new Promise((r) => setTimeout(r, 300)); // nothing more may come: every task was acked
  assert.deepEqual(seen.map((e) => e.data).sort(), [0, 1, 2, 3, 4, 5].map((i) => `task-${i}`));
  for (const e of seen) {
    assert.equal(e.group, 'workers');
    assert.equal(e.deliveries, 1);
  }
  a.close();
  b.close();
  await Promise.all(readers);
});

test('a queue-group event not acked by a member that leaves is redelivered to another (deliveries 2)', async () => {
  const channel = 'redeliver';
  const first = await client.openSubscription(channel, { group: 'g', ackTimeout: 30 });
  const firstIterator = first[Symbol.asyncIterator]();
  await client.publish(channel, 'job');
  const [held] = await take(firstIterator, 1);
  assert.equal(held.data, 'job');
  assert.equal(held.deliveries, 1);
  const second = await client.openSubscription(channel, { group: 'g', ackTimeout: 30 });
  first.close(); // leaves without acking
  const [again] = await take(second[Symbol.asyncIterator](), 1);
  assert.equal(again.data, 'job');
  assert.equal(again.seq, held.seq);
  assert.equal(again.deliveries, 2);
  assert.equal(second.ack(again), true);
  second.close();
});

test('groups() lists a group\'s connected members and a pending claim until it is acked', async () => {
  const channel = 'listed';
  assert.deepEqual(await client.groups(channel), []);
  const before = Date.now() - 5_000;
  const a = await client.openSubscription(channel, { group: 'crew', ackTimeout: 300 });
  const b = await client.openSubscription(channel, { group: 'crew', ackTimeout: 300 });
  let group;
  const groupWhen = async (condition, what) => {
    await eventually(async () => {
      [group] = await client.groups(channel);
      return group !== undefined && condition(group);
    }, 10_000, what);
    return group;
  };
  await groupWhen((g) => g.members.length === 2, 'both members to be listed');
  assert.equal(group.name, 'crew');
  assert.equal(group.backlog, 0);
  for (const m of group.members) {
    assert.ok(m.connectedAt.getTime() >= before && m.connectedAt.getTime() <= Date.now(), 'connectedAt');
    assert.ok(m.seenUntil.getTime() > Date.now(), 'seenUntil');
  }

  const seq = await client.publish(channel, 'job');
  const iterators = [a, b].map((s) => s[Symbol.asyncIterator]());
  const nexts = iterators.map((it, i) => it.next().then((r) => ({ i, event: r.value })));
  const { i, event } = await Promise.race(nexts);
  assert.equal(event.seq, seq);
  await groupWhen((g) => g.pending.length === 1, 'the claim to be pending');
  const [claim] = group.pending;
  assert.equal(claim.seq, seq);
  assert.equal(claim.deliveries, 1);
  assert.ok(group.members.some((m) => m.id === claim.member), 'the claim belongs to a listed member');
  assert.ok(claim.ackDeadline.getTime() > Date.now() + 200_000, 'ack deadline about 300 s away');
  assert.equal(group.cursor, seq);

  assert.equal([a, b][i].ack(event), true);
  await groupWhen((g) => g.pending.length === 0, 'the ack to clear the claim');
  a.close();
  b.close();
  await groupWhen((g) => g.members.length === 0, 'the members to leave');
});

test('push events carry the payload size; messages do not', async () => {
  const channel = 'sizes';
  const subscription = await client.openSubscription(channel);
  await client.push('héllo', { channel });
  await client.publish(channel, 'no size');
  const [push, message] = await take(subscription[Symbol.asyncIterator](), 2);
  assert.equal(push.size, 6);
  assert.equal(message.size, undefined);
  subscription.close();
});

test('a handler that throws stops delivery and done rejects with its error', async () => {
  const seen = [];
  const subscription = await client.subscribe('throwing', (event) => {
    seen.push(event.data);
    if (event.data === 'bad') throw new Error('handler failed on bad');
  });
  for (const text of ['good', 'bad', 'after']) await client.publish('throwing', text);
  await assert.rejects(subscription.done, /handler failed on bad/);
  assert.equal(subscription.closed, true);
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(seen, ['good', 'bad']);
});

test('a plain subscription refuses ack', async () => {
  const subscription = await client.openSubscription('no-group');
  assert.throws(() => subscription.ack(1), TypeError);
  subscription.close();
});

test('an AbortSignal ends a subscription: the iterator throws the abort reason', async () => {
  const controller = new AbortController();
  const received = [];
  const loop = (async () => {
    for await (const event of client.events('abortable', { signal: controller.signal })) {
      received.push(event.data);
      if (received.length === 1) controller.abort(new Error('stop listening'));
    }
  })();
  const outcome = loop.then(() => 'ended quietly', (error) => error);
  await eventually(async () => (await client.publish('abortable', 'one')) > 0 && received.length > 0, 10_000, 'an event');
  const error = await outcome;
  assert.match(String(error?.message), /stop listening/);
  const early = new AbortController();
  early.abort();
  await assert.rejects(client.subscribe('abortable', () => {}, { signal: early.signal }), { name: 'AbortError' });
});

test('revoking the key ends the subscription with RelayAuthError within seconds (4401, no reconnect)', async () => {
  const second = relay.cli('keys', 'create', '--workspace', 'dev').trim().split('\n')[0].trim();
  assert.match(second, /^cr_live_[A-Za-z0-9]{40}$/);
  const other = new ContextRelay({ apiKey: second, baseUrl: relay.url, reconnectDelayMs: 200 });
  const received = [];
  const subscription = await other.subscribe('revocable', (e) => received.push(e.data));
  await client.publish('revocable', 'before');
  await eventually(() => received.length === 1, 10_000, 'the first event');
  const row = relay.cli('keys', 'list').split('\n').find((line) => line.includes(second.slice(0, 14)));
  const id = row.trim().split(/\s+/)[0];
  const started = Date.now();
  relay.cli('keys', 'revoke', id);
  await assert.rejects(subscription.done, (error) => error instanceof RelayAuthError && error.status === 401 && /revoked/i.test(error.message));
  assert.ok(Date.now() - started < 8_000, `ended after ${Date.now() - started} ms`);
  assert.equal(subscription.connections, 1, 'never reconnected');
  assert.equal(subscription.closed, true);
  // A new subscription with the revoked key fails at once with the same error type.
  await assert.rejects(other.openSubscription('revocable'), RelayAuthError);
});

test('the key travels only as the contextrelay.bearer subprotocol, never in the URL; the relay answers contextrelay.v1', async () => {
  const Real = globalThis.WebSocket;
  const opened = [];
  globalThis.WebSocket = class extends Real {
    constructor(url, protocols) {
      super(url, protocols);
      opened.push({ url: String(url), protocols, socket: this });
    }
  };
  try {
    const subscription = await client.openSubscription('wire', { since: 0 });
    subscription.close();
  } finally {
    globalThis.WebSocket = Real;
  }
  assert.equal(opened.length, 1);
  const [{ url, protocols, socket }] = opened;
  assert.equal(url, `${relay.url.replace('http:', 'ws:')}/ws/wire?since=0`);
  assert.ok(!url.includes(relay.key));
  assert.deepEqual(protocols, ['contextrelay.v1', `contextrelay.bearer.${relay.key}`]);
  assert.equal(socket.protocol, 'contextrelay.v1');
});

test('a relay in open mode serves a client without a key (HTTP and WebSocket)', async () => {
  const open = await Relay.start({ args: ['--open'] });
  try {
    const anonymous = new ContextRelay({ baseUrl: open.url });
    const received = [];
    const subscription = await anonymous.subscribe('open-chan', (e) => received.push(e));
    const pushed = await anonymous.push('no key needed', { channel: 'open-chan' });
    assert.equal(await anonymous.pull(pushed.url), 'no key needed');
    await eventually(() => received.length === 1, 10_000, 'the push event');
    assert.equal(received[0].id, pushed.id);
    subscription.close();
  } finally {
    await open.dispose();
  }
});

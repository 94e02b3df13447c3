// The relay's web console: plain ES module on the contextrelay-js SDK (sdk/, copied by eng/build-console.sh).
// The API key lives in sessionStorage and travels only in headers / WebSocket subprotocols to this same origin;
// an encrypted payload's #key= is read here and decrypted here by the SDK, never sent to the relay.
import { ContextRelay, RelayAuthError } from './sdk/index.js';

const KEY_STORAGE = 'contextrelay.console.key';
const SHOWN_BYTES = 256 * 1024;
const TIMELINE_ROWS = 1000; // the oldest rows go beyond this (the channel itself retains its last 1,000 events)
const GROUPS_REFRESH_MS = 3000; // and at once after each event of the open channel
const BRIDGES_CHANNEL = 'contextrelay.bridges'; // where bridges announce themselves (docs/protocol.md)
const BRIDGES_RENDER_MS = 2000; // re-judges staleness
const MISSED_HEARTBEATS = 2.5; // a bridge unheard for this many heartbeat intervals is stale
const relayBase = new URL('../', document.baseURI).href; // the relay's root, with /v1 or a path base if the page had one

const $ = (id) => document.getElementById(id);
let relay = null;
let subscription = null;
let groupsTimer = null;
let downloadUrl = null;

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function describe(error) {
  return error instanceof Error ? error.message : String(error);
}

function formatBytes(n) {
  if (n === null || n === undefined) return '—';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function fillList(list, rows) {
  list.replaceChildren();
  for (const [name, value] of rows) {
    list.append(element('dt', name), element('dd', value));
  }
}

// ---- sign in -------------------------------------------------------------------------------------------------

async function signIn(key) {
  const candidate = new ContextRelay({ apiKey: key, baseUrl: relayBase });
  const usage = await fetchUsage(key); // proves the key before the page opens
  relay = candidate;
  sessionStorage.setItem(KEY_STORAGE, key);
  $('sign-in-panel').hidden = true;
  $('app').hidden = false;
  $('sign-out').hidden = false;
  $('who').textContent = `workspace ${usage.workspace}`;
  showUsage(usage);
  startBridges();
}

function signOut() {
  closeChannel();
  stopBridges();
  sessionStorage.removeItem(KEY_STORAGE);
  relay = null;
  $('app').hidden = true;
  $('sign-out').hidden = true;
  $('who').textContent = '';
  $('sign-in-panel').hidden = false;
  $('api-key').value = '';
}

$('sign-in').addEventListener('submit', async (e) => {
  e.preventDefault();
  $('sign-in-error').textContent = '';
  try {
    await signIn($('api-key').value.trim());
  } catch (error) {
    $('sign-in-error').textContent = describe(error);
  }
});
$('sign-out').addEventListener('click', signOut);

// ---- usage ---------------------------------------------------------------------------------------------------

async function fetchUsage(key) {
  const headers = key ? { Authorization: `Bearer ${key}` } : {}; // no key: an open-mode relay's own workspace
  const response = await fetch(new URL('usage', relayBase), { headers, cache: 'no-store' });
  if (!response.ok) {
    let detail = '';
    try { detail = (await response.json()).detail ?? ''; } catch { /* not a problem document */ }
    if (response.status === 401 && !key) throw new Error('This relay needs an API key (401): paste yours, or create one with contextrelay-relay keys create.');
    throw new Error(response.status === 401
      ? 'The relay does not know this key (401): check it, or create one with contextrelay-relay keys create.'
      : `The relay answered ${response.status} to GET /usage. ${detail}`.trim());
  }
  return response.json();
}

function meter(m, format = String) {
  return m.limit === null || m.limit === undefined ? `${format(m.used)} (no limit)` : `${format(m.used)} / ${format(m.limit)}`;
}

function showUsage(usage) {
  fillList($('usage'), [
    ['plan', usage.plan],
    ['period', usage.period],
    ['pushes', meter(usage.pushes)],
    ['pulls', meter(usage.pulls)],
    ['stored', meter(usage.stored_bytes, formatBytes)],
    ['resets at', new Date(usage.resets_at).toLocaleString()],
  ]);
}

$('usage-refresh').addEventListener('click', async () => {
  $('usage-error').textContent = '';
  try {
    showUsage(await fetchUsage(sessionStorage.getItem(KEY_STORAGE)));
  } catch (error) {
    $('usage-error').textContent = describe(error);
  }
});

// ---- channels ------------------------------------------------------------------------------------------------

function closeChannel() {
  subscription?.close();
  subscription = null;
  $('channel-close').disabled = true;
  stopGroups();
}

function addEvent(ev) {
  const row = element('tr', undefined, ev.type);
  row.dataset.seq = String(ev.seq);
  const body = element('td');
  if (ev.type === 'push') {
    const link = element('code', ev.url);
    body.append(link);
    row.title = 'Open this payload';
    row.addEventListener('click', () => openPayload(ev.url));
  } else {
    body.append(element('span', ev.data ?? ''));
  }
  row.append(
    element('td', String(ev.seq)),
    element('td', ev.timestamp.toLocaleTimeString()),
    element('td', ev.type),
    element('td', ev.size === undefined ? '' : formatBytes(ev.size), 'size'),
    element('td', Object.keys(ev.metadata).length ? JSON.stringify(ev.metadata) : ''),
    body);
  const rows = $('timeline').tBodies[0];
  rows.prepend(row);
  while (rows.rows.length > TIMELINE_ROWS) rows.lastElementChild.remove();
  refreshGroupsSoon();
}

$('channel-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  closeChannel();
  const channel = $('channel-name').value.trim();
  const sinceText = $('channel-since').value.trim();
  const options = sinceText === '' ? {} : { since: Number(sinceText) };
  $('timeline').tBodies[0].replaceChildren();
  $('channel-status').textContent = `connecting to '${channel}'…`;
  try {
    const opened = await relay.subscribe(channel, addEvent, options);
    subscription = opened;
    $('channel-close').disabled = false;
    startGroups(channel);
    $('channel-status').textContent = sinceText === '' ? `live: ${channel}` : `live: ${channel} (replayed after seq ${sinceText})`;
    opened.done.then(
      () => { if (subscription === opened) $('channel-status').textContent = `closed: ${channel}`; },
      (error) => {
        if (subscription !== opened) return;
        $('channel-status').textContent = error instanceof RelayAuthError ? 'The key was revoked or expired: sign in again.' : describe(error);
      });
  } catch (error) {
    $('channel-status').textContent = describe(error);
  }
});
$('channel-close').addEventListener('click', () => {
  closeChannel();
  $('channel-status').textContent = 'closed';
});

// ---- queue groups --------------------------------------------------------------------------------------------

let groupsChannel = null;
let groupsLoading = null;
let groupsAgain = false;

function startGroups(channel) {
  groupsChannel = channel;
  $('groups-refresh').disabled = false;
  $('groups-status').textContent = `queue groups of '${channel}'`;
  refreshGroupsSoon();
  groupsTimer = setInterval(refreshGroupsSoon, GROUPS_REFRESH_MS);
}

function stopGroups() {
  clearInterval(groupsTimer);
  groupsTimer = null;
  groupsChannel = null;
  $('groups-refresh').disabled = true;
  $('groups').replaceChildren();
}

/** One request at a time: asked again while one is under way, it runs once more when that one ends. */
function refreshGroupsSoon() {
  if (groupsChannel === null) return;
  if (groupsLoading) {
    groupsAgain = true;
    return;
  }
  const channel = groupsChannel;
  groupsLoading = relay.groups(channel)
    .then((groups) => { if (channel === groupsChannel) showGroups(channel, groups); })
    .catch((error) => { if (channel === groupsChannel) $('groups-status').textContent = describe(error); })
    .finally(() => {
      groupsLoading = null;
      if (groupsAgain) {
        groupsAgain = false;
        refreshGroupsSoon();
      }
    });
}

function shortId(id) {
  return id.length > 8 ? id.slice(0, 8) : id;
}

function table(className, headings, rows) {
  const node = element('table', undefined, className);
  const head = node.createTHead().insertRow();
  for (const h of headings) head.append(element('th', h));
  const body = node.createTBody();
  for (const row of rows) body.append(row);
  return node;
}

function showGroups(channel, groups) {
  $('groups-status').textContent = groups.length === 0
    ? `'${channel}' has no queue groups (members join with ?group=NAME).`
    : `queue groups of '${channel}', ${new Date().toLocaleTimeString()}`;
  $('groups').replaceChildren(...groups.map((group) => {
    const box = element('article', undefined, 'group');
    box.dataset.group = group.name;
    const facts = element('dl');
    fillList(facts, [
      ['cursor', `seq ${group.cursor}`],
      ['backlog', `${group.backlog} waiting`],
      ['members', String(group.members.length)],
      ['pending', String(group.pending.length)],
    ]);
    const members = group.members.map((m) => {
      const row = element('tr');
      row.dataset.member = m.id;
      row.append(element('td', shortId(m.id)), element('td', m.connectedAt.toLocaleTimeString()));
      return row;
    });
    const pending = group.pending.map((c) => {
      const row = element('tr');
      row.dataset.seq = String(c.seq);
      row.append(
        element('td', String(c.seq)),
        element('td', shortId(c.member)),
        element('td', String(c.deliveries)),
        element('td', c.ackDeadline ? c.ackDeadline.toLocaleTimeString() : 'released: goes to the next member'));
      return row;
    });
    box.append(
      element('h3', group.name),
      facts,
      table('members', ['member', 'connected since'], members),
      table('pending', ['seq', 'member', 'deliveries', 'ack deadline'], pending));
    return box;
  }));
}

$('groups-refresh').addEventListener('click', refreshGroupsSoon);

// ---- bridges -------------------------------------------------------------------------------------------------

const bridges = new Map(); // bridge id → { metadata, ts } of its last announcement
let bridgesSubscription = null;
let bridgesTimer = null;

async function startBridges() {
  stopBridges();
  try {
    // since 0: the retained announcements first (each bridge's last status), then live ones.
    bridgesSubscription = await relay.subscribe(BRIDGES_CHANNEL, (ev) => {
      const m = ev.metadata;
      if (m.kind !== 'contextrelay.bridge' || typeof m.bridge !== 'string') return;
      bridges.set(m.bridge, { metadata: m, ts: ev.ts });
      renderBridges();
    }, { since: 0 });
    bridgesTimer = setInterval(renderBridges, BRIDGES_RENDER_MS);
    renderBridges();
  } catch (error) {
    $('bridges-status').textContent = `Cannot read ${BRIDGES_CHANNEL}: ${describe(error)}`;
  }
}

function stopBridges() {
  bridgesSubscription?.close();
  bridgesSubscription = null;
  clearInterval(bridgesTimer);
  bridgesTimer = null;
  bridges.clear();
  $('bridges').tBodies[0].replaceChildren();
}

function bridgeStatus(m, stale) {
  if (m.status === 'stopped') return 'stopped';
  if (stale) return 'stale: no heartbeat';
  if (m.status === 'working') return `working on task ${m.task}`;
  if (m.status === 'done') return 'idle';
  return String(m.status);
}

function renderBridges() {
  const now = Date.now();
  const rows = [...bridges.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([id, { metadata: m, ts }]) => {
    const stale = m.status !== 'stopped' && now - ts > MISSED_HEARTBEATS * (Number(m.heartbeat_s) || 60) * 1000;
    const row = element('tr', undefined, stale ? 'stale' : m.status);
    row.dataset.bridge = id;
    row.append(
      element('td', m.tmux_session ? `${id} (tmux ${m.tmux_session})` : id),
      element('td', `${m.task_channel} → ${m.done_channel}`),
      element('td', bridgeStatus(m, stale), 'status'),
      element('td', m.last_task ? `${m.last_task}: ${m.last_result}` : '—'),
      element('td', new Date(ts).toLocaleTimeString()));
    return row;
  });
  $('bridges').tBodies[0].replaceChildren(...rows);
  $('bridges-status').textContent = rows.length === 0
    ? `No bridge has announced itself on ${BRIDGES_CHANNEL} lately.`
    : `${rows.length} bridge${rows.length === 1 ? '' : 's'} heard on ${BRIDGES_CHANNEL}`;
}

// ---- payloads ------------------------------------------------------------------------------------------------

async function openPayload(address) {
  $('payload-url').value = address;
  $('payload-error').textContent = '';
  $('payload-note').replaceChildren();
  $('payload-text').textContent = '';
  $('payload-info').replaceChildren();
  if (downloadUrl) URL.revokeObjectURL(downloadUrl);
  downloadUrl = null;
  try {
    const info = await relay.peek(address); // the SDK drops #key= before asking the relay
    fillList($('payload-info'), [
      ['id', info.id],
      ['size', formatBytes(info.size)],
      ['encrypted', info.encrypted ? 'yes' : 'no'],
      ['channel', info.channel ?? '—'],
      ['created', info.createdAt ? info.createdAt.toLocaleString() : '—'],
      ['expires', info.expiresAt ? info.expiresAt.toLocaleString() : '—'],
      ['metadata', JSON.stringify(info.metadata)],
    ]);
    if (info.encrypted && !address.includes('#key=')) {
      $('payload-note').textContent = 'Encrypted: paste the full URL with its #key=… to read it (the key never reaches the relay).';
      return;
    }
    const text = await relay.pull(address); // decrypted here when the URL has #key=
    showText(text, info.id);
  } catch (error) {
    $('payload-error').textContent = describe(error);
  }
}

function showText(text, id) {
  let shown = text;
  try {
    shown = JSON.stringify(JSON.parse(text), null, 2);
  } catch { /* plain text */ }
  if (shown.length > SHOWN_BYTES) {
    downloadUrl = URL.createObjectURL(new Blob([text], { type: 'application/octet-stream' }));
    const link = element('a', 'download all');
    link.href = downloadUrl;
    link.download = `${id}.txt`;
    $('payload-note').append(`Showing the first 256 KB of ${formatBytes(new Blob([text]).size)}: `, link);
    shown = shown.slice(0, SHOWN_BYTES);
  }
  $('payload-text').textContent = shown;
}

$('payload-form').addEventListener('submit', (e) => {
  e.preventDefault();
  openPayload($('payload-url').value.trim());
});

// ---- start ---------------------------------------------------------------------------------------------------

const saved = sessionStorage.getItem(KEY_STORAGE);
if (saved !== null) { // '' after signing in to an open-mode relay without a key
  signIn(saved).catch(() => signOut());
}

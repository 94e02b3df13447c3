var _a;
import { RelayDecryptionError, RelayError, RelayUnavailableError, translateFailure } from './errors.js';
import { decryptString, encrypt, generateKey } from './fernet.js';
import { RelaySubscription } from './subscription.js';
/** The address a relay listens on when nothing else is configured. */
export const DEFAULT_BASE_URL = 'http://127.0.0.1:8787';
/**
 * Client of a ContextRelay relay: push a payload and hand on its URL, pull or peek it elsewhere,
 * publish to and subscribe on channels. Uses only the global `fetch`, `WebSocket` and `crypto.subtle`,
 * so it runs in Node 22+, browsers and Cloudflare Workers. Create one and share it.
 */
export class ContextRelay {
    baseUrl;
    apiKey;
    reconnectDelayMs;
    requestTimeoutMs;
    #fetch;
    constructor(options = {}) {
        this.baseUrl = parseBaseUrl(options.baseUrl ?? DEFAULT_BASE_URL);
        this.apiKey = options.apiKey?.trim() || undefined;
        this.reconnectDelayMs = options.reconnectDelayMs ?? 1000;
        this.requestTimeoutMs = options.requestTimeoutMs ?? 5 * 60 * 1000;
        const f = options.fetch ?? globalThis.fetch;
        if (typeof f !== 'function')
            throw new TypeError('No global fetch: use Node 18+, a browser or a Worker, or pass options.fetch.');
        this.#fetch = f.bind(globalThis);
    }
    /**
     * Stores `data` on the relay and returns its URL. With `encrypted`, the text is Fernet-encrypted here
     * and the key travels only in the URL's `#key=` fragment, which is never sent to the relay.
     */
    async push(data, options = {}) {
        if (typeof data !== 'string')
            throw new TypeError('A payload is a string.');
        if (data.length === 0)
            throw new RangeError('A payload cannot be empty.');
        if (options.ttlSeconds !== undefined && !(options.ttlSeconds > 0))
            throw new RangeError('The time to live must be positive.');
        let body = data;
        let key;
        if (options.encrypted) {
            key = generateKey();
            body = await encrypt(key, data);
        }
        const query = new URLSearchParams();
        if (options.channel !== undefined) {
            validateName(options.channel, 'channel');
            query.set('channel', options.channel);
        }
        if (options.ttlSeconds !== undefined)
            query.set('ttl_seconds', String(Math.ceil(options.ttlSeconds)));
        if (options.encrypted)
            query.set('encrypted', 'true');
        const headers = { 'Content-Type': 'text/plain; charset=utf-8' };
        const metadata = serializeMetadata(options.metadata);
        if (metadata !== undefined)
            headers['X-Relay-Metadata'] = metadata;
        const search = query.toString();
        const response = await this.#send('push' + (search ? '?' + search : ''), { method: 'POST', body, headers }, options.signal);
        const answer = await readJsonObject(response);
        if (typeof answer.url !== 'string' || typeof answer.id !== 'string')
            throw new RelayError('Unexpected answer from the relay: the push answer has no url or id.');
        return {
            url: key === undefined ? answer.url : `${answer.url}#key=${key}`,
            id: answer.id,
            channel: typeof answer.channel === 'string' ? answer.channel : null,
            expiresAt: new Date(typeof answer.expires_at === 'string' ? answer.expires_at : NaN),
            size: typeof answer.size === 'number' ? answer.size : 0,
        };
    }
    /**
     * Downloads a payload as text, exactly as pushed. `urlOrId` is the URL as handed on (decrypted here when
     * it carries `#key=`) or a bare id.
     */
    async pull(urlOrId, options = {}) {
        const address = parseAddress(urlOrId);
        // X-Relay-Format: raw opts out of the hosted relay's envelope (docs/protocol.md), as the .NET SDK does.
        const response = await this.#send('pull/' + address.id, { headers: { 'X-Relay-Format': 'raw' } }, options.signal);
        if (address.key === undefined && response.headers.get('X-Relay-Encrypted')?.toLowerCase() === 'true') {
            await response.body?.cancel();
            throw new RelayDecryptionError('This payload is encrypted and the URL has no #key=… fragment: pass the whole URL exactly as the sender handed it on.');
        }
        const bytes = new Uint8Array(await readBody(response, options.signal));
        if (address.key === undefined)
            return new TextDecoder().decode(bytes); // strips a UTF-8 BOM like the .NET SDK
        return decryptString(address.key, new TextDecoder().decode(bytes));
    }
    /** Reads a payload's metadata, size, channel and expiry without downloading it. */
    async peek(urlOrId, options = {}) {
        const address = parseAddress(urlOrId);
        const response = await this.#send('peek/' + address.id, {}, options.signal);
        const metadata = await readJsonObject(response);
        const channel = response.headers.get('X-Relay-Channel');
        return {
            id: address.id,
            metadata,
            size: Number(response.headers.get('X-Relay-Size') ?? 0) || 0,
            channel: channel ? decodeURIComponent(channel) : null,
            encrypted: response.headers.get('X-Relay-Encrypted')?.toLowerCase() === 'true',
            createdAt: parseTime(response.headers.get('X-Relay-Created-At')),
            expiresAt: parseTime(response.headers.get('X-Relay-Expires-At')),
        };
    }
    /** Deletes a payload before it expires (only its own workspace can). */
    async delete(urlOrId, options = {}) {
        const address = parseAddress(urlOrId);
        const response = await this.#send('pull/' + address.id, { method: 'DELETE' }, options.signal);
        await response.body?.cancel();
    }
    /** Sends a message on a channel without storing a payload; returns its sequence number. */
    async publish(channel, data, options = {}) {
        validateName(channel, 'channel');
        if (typeof data !== 'string')
            throw new TypeError('A message is a string.');
        const body = { data };
        if (options.metadata !== undefined)
            body.metadata = JSON.parse(serializeMetadata(options.metadata));
        const response = await this.#send('publish/' + encodeURIComponent(channel), {
            method: 'POST',
            body: JSON.stringify(body),
            headers: { 'Content-Type': 'application/json' },
        }, options.signal);
        const answer = await readJsonObject(response);
        return typeof answer.seq === 'number' ? answer.seq : 0;
    }
    /** The channel's queue groups with their position, backlog, connected members and unacknowledged claims. */
    async groups(channel, options = {}) {
        validateName(channel, 'channel');
        const response = await this.#send(`channels/${encodeURIComponent(channel)}/groups`, {}, options.signal);
        const answer = await readJsonObject(response);
        return (Array.isArray(answer.groups) ? answer.groups : []).map((group) => ({
            name: String(group.name),
            cursor: Number(group.cursor) || 0,
            backlog: Number(group.backlog) || 0,
            members: (Array.isArray(group.members) ? group.members : []).map((m) => ({
                id: String(m.id),
                connectedAt: new Date(Number(m.connected_at)),
                seenUntil: new Date(Number(m.seen_until)),
            })),
            pending: (Array.isArray(group.pending) ? group.pending : []).map((c) => ({
                seq: Number(c.seq),
                member: String(c.member),
                deliveries: Number(c.deliveries) || 0,
                ackDeadline: typeof c.ack_deadline === 'number' ? new Date(c.ack_deadline) : null,
            })),
        }));
    }
    /**
     * Connects to a channel and resolves once the relay has registered the subscription, so nothing
     * published after that can be missed. Calls `handler` for each event, one at a time, in order. Reconnects
     * by itself and resumes after the last event it received (`since=`), dropping duplicates. `close()` (or
     * aborting `signal`) unsubscribes; `subscription.done` settles when delivery ends — rejected with the
     * handler's error, or RelayAuthError when the relay revoked the key (close code 4401).
     */
    async subscribe(channel, handler, options = {}) {
        if (typeof handler !== 'function')
            throw new TypeError('handler must be a function.');
        const subscription = await this.openSubscription(channel, options);
        subscription.runHandler(handler);
        return subscription;
    }
    /**
     * Connects and resolves once registered; read the events with `for await (const ev of subscription)`.
     * Close it when done.
     */
    async openSubscription(channel, options = {}) {
        validateName(channel, 'channel');
        if (options.group !== undefined) {
            validateName(options.group, 'group');
            if (options.prefetch !== undefined && !(options.prefetch >= 1))
                throw new RangeError('prefetch is at least 1.');
        }
        const subscription = new RelaySubscription(this, channel, options);
        await subscription.start();
        return subscription;
    }
    /**
     * The events of a channel as they happen: `for await (const ev of relay.events('jobs', { since: 0 }))`.
     * Leaving the loop unsubscribes; aborting `signal` ends the loop with the abort reason. Arguments are
     * checked here; the connection opens on the first iteration.
     */
    events(channel, options = {}) {
        validateName(channel, 'channel');
        if (options.group !== undefined)
            validateName(options.group, 'group');
        return this.#events(channel, options);
    }
    async *#events(channel, options) {
        const subscription = await this.openSubscription(channel, options);
        try {
            yield* subscription;
        }
        finally {
            subscription.close();
        }
    }
    /** @internal */
    buildUrl(relative) {
        return new URL(relative, this.baseUrl).toString();
    }
    /** @internal Translates a non-success answer into the error type of its status. */
    static async failure(response, what) {
        const problem = await readProblem(response);
        const retryAfter = Number(response.headers.get('Retry-After'));
        return translateFailure(response.status, problem, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined, what);
    }
    /** @internal */
    async send(relative, init, signal, what) {
        return this.#send(relative, init, signal, what);
    }
    async #send(relative, init, signal, what = describe(relative, init.method)) {
        signal?.throwIfAborted();
        const headers = new Headers(init.headers);
        if (this.apiKey !== undefined)
            headers.set('Authorization', `Bearer ${this.apiKey}`);
        const timeout = AbortSignal.timeout(this.requestTimeoutMs);
        const combined = signal === undefined ? timeout : anySignal([signal, timeout]);
        let response;
        try {
            response = await this.#fetch(this.buildUrl(relative), { ...init, headers, signal: combined });
        }
        catch (error) {
            if (signal?.aborted)
                throw signal.reason;
            if (timeout.aborted)
                throw new RelayUnavailableError(`The relay at ${this.baseUrl} did not answer within ${this.requestTimeoutMs} ms.`, { cause: error });
            throw new RelayUnavailableError(`Cannot reach the relay at ${this.baseUrl}: ${errorText(error)}`, { cause: error });
        }
        if (response.ok)
            return response;
        throw await _a.failure(response, what);
    }
}
_a = ContextRelay;
/** A payload reference: a full URL (with or without `#key=`) or a bare id. */
export function parseAddress(urlOrId) {
    if (typeof urlOrId !== 'string' || urlOrId.trim() === '')
        throw new TypeError('Pass a ContextRelay URL (…/pull/<id>) or a payload id.');
    let text = urlOrId.trim();
    let key;
    const hash = text.indexOf('#');
    if (hash >= 0) {
        for (const part of text.slice(hash + 1).split('&')) {
            if (part.startsWith('key=')) {
                key = decodeURIComponent(part.slice(4)) || undefined;
                break;
            }
        }
        text = text.slice(0, hash);
    }
    const query = text.indexOf('?');
    if (query >= 0)
        text = text.slice(0, query);
    text = text.replace(/\/+$/, '');
    const id = text.slice(text.lastIndexOf('/') + 1);
    if (!/^[A-Za-z0-9_-]+$/.test(id))
        throw new TypeError(`'${urlOrId}' is neither a ContextRelay URL (…/pull/<id>) nor a payload id.`);
    return { id, key };
}
function parseBaseUrl(value) {
    let url;
    try {
        url = new URL(value.trim());
    }
    catch {
        throw new TypeError(`The relay URL must be an http:// or https:// address such as ${DEFAULT_BASE_URL}, not '${value}'.`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw new TypeError(`The relay URL must be an http:// or https:// address such as ${DEFAULT_BASE_URL}, not '${value}'.`);
    }
    url.hash = '';
    url.search = '';
    if (!url.pathname.endsWith('/'))
        url.pathname += '/';
    return url.toString();
}
/** @internal */
export function validateName(name, what) {
    if (typeof name !== 'string' || name.trim() === '')
        throw new TypeError(`A ${what} name cannot be empty.`);
    if (name.length > 200)
        throw new RangeError(`A ${what} name has at most 200 characters.`);
}
/** Metadata as JSON with every non-ASCII character escaped as \uXXXX, so it is safe in an HTTP header. */
function serializeMetadata(metadata) {
    if (metadata === undefined || metadata === null)
        return undefined;
    if (typeof metadata !== 'object' || Array.isArray(metadata))
        throw new TypeError('Metadata must be a plain object.');
    return JSON.stringify(metadata).replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}
async function readBody(response, signal) {
    try {
        return await response.arrayBuffer();
    }
    catch (error) {
        if (signal?.aborted)
            throw signal.reason;
        throw new RelayUnavailableError(`The relay connection broke while reading the answer: ${errorText(error)}`, { cause: error });
    }
}
async function readJsonObject(response) {
    const text = new TextDecoder().decode(await readBody(response, undefined));
    let value;
    try {
        value = JSON.parse(text.length === 0 ? '{}' : text);
    }
    catch (error) {
        throw new RelayError('The relay answered with malformed JSON; is the base URL a ContextRelay relay?', { cause: error });
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value))
        throw new RelayError('Unexpected answer from the relay: expected a JSON object.');
    return value;
}
async function readProblem(response) {
    try {
        const text = await response.text();
        if (text.trim() === '')
            return undefined;
        const value = JSON.parse(text);
        if (value === null || typeof value !== 'object' || Array.isArray(value))
            return undefined;
        const problem = value;
        if (typeof problem.status !== 'number')
            problem.status = response.status;
        return problem;
    }
    catch {
        return undefined;
    }
}
function describe(relative, method) {
    if (relative.startsWith('push'))
        return 'store the payload';
    if (relative.startsWith('publish/'))
        return 'publish the message';
    if (relative.startsWith('peek/'))
        return 'peek at the payload';
    if (method === 'DELETE')
        return 'delete the payload';
    return 'return the payload';
}
function parseTime(value) {
    const time = value ? Date.parse(value) : NaN;
    return Number.isNaN(time) ? null : new Date(time);
}
/** @internal */
export function errorText(error) {
    const cause = error?.cause;
    const base = error instanceof Error ? error.message : String(error);
    return cause instanceof Error && cause.message ? `${base} (${cause.message})` : base;
}
/** AbortSignal.any where available (Node 20+, modern browsers), else a small polyfill. */
function anySignal(signals) {
    const any = AbortSignal.any;
    if (typeof any === 'function')
        return any.call(AbortSignal, signals);
    const controller = new AbortController();
    for (const s of signals) {
        if (s.aborted) {
            controller.abort(s.reason);
            break;
        }
        s.addEventListener('abort', () => controller.abort(s.reason), { once: true });
    }
    return controller.signal;
}
//# sourceMappingURL=client.js.map
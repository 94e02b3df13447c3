import type { ContextRelay } from './client.js';
import { errorText } from './client.js';
import { RelayAuthError, RelayError, RelayQuotaError, RelayUnavailableError } from './errors.js';

/** The relay's close code for a subscription whose API key was revoked or expired: never reconnect after it. */
export const KEY_REVOKED_CLOSE_CODE = 4401;

/** The subprotocol the relay answers with; the key travels as `contextrelay.bearer.<key>` (never in the URL). */
export const SUBPROTOCOL = 'contextrelay.v1';

const OPEN_TIMEOUT_MS = 30_000;

export interface SubscribeOptions {
  /**
   * Replay the retained events after this seq first, then go live. With `group`: when this join creates the
   * group, the group starts after this seq instead of at the channel's end; an existing group keeps its position.
   */
  since?: number;
  /** Join a queue group: each event goes to one live member, which must `ack` it. */
  group?: string;
  /** For a group: seconds the relay waits for an ack before redelivering (default 30). */
  ackTimeout?: number;
  /** For a group: how many unacknowledged events this member may hold at once (default 1). */
  prefetch?: number;
  /** Aborting ends the subscription: the iterator throws the abort reason, `done` rejects with it. */
  signal?: AbortSignal;
  /** Called each time the subscription reconnected (after a relay restart or a network drop). */
  onReconnect?: (subscription: RelaySubscription) => void;
}

/** One event on a channel, as the relay's frame says. */
export interface RelayEvent {
  type: 'push' | 'message';
  channel: string;
  /** Position in the channel; increases by one per event. */
  seq: number;
  /** Epoch milliseconds. */
  ts: number;
  timestamp: Date;
  /** For a push: the payload's URL (never with a key: keys do not travel through the relay). */
  url?: string;
  /** For a push: the payload id. */
  id?: string;
  /** For a push: the payload's stored size in bytes (absent from relays or events that do not carry it). */
  size?: number;
  /** For a message: its text. */
  data?: string;
  metadata: Record<string, unknown>;
  /** For a queue-group member: the group that handed this event to it. */
  group?: string;
  /** For a queue-group member: how many times the event was handed out (2+ = redelivery). */
  deliveries: number;
}

/**
 * A live subscription to one channel over a WebSocket that reconnects by itself and resumes after the
 * last event it received (`?since=seq`), dropping anything already delivered, so consumers see each
 * event once, in order. Iterate it with `for await`, or give `relay.subscribe` a handler. `close()` to
 * unsubscribe.
 */
export class RelaySubscription implements AsyncIterable<RelayEvent> {
  readonly channel: string;
  readonly group: string | undefined;
  readonly #relay: ContextRelay;
  readonly #options: SubscribeOptions;
  readonly #queue: RelayEvent[] = [];
  #waiters: Array<() => void> = [];
  #socket: WebSocket | undefined;
  #lastSeq: number;
  #connections = 0;
  #ended = false;
  #error: unknown;
  #handlerLoop: Promise<void> | undefined;
  readonly #stopped = new AbortController();
  readonly #endedPromise: Promise<void>;
  #settle!: (error: unknown) => void;

  /** @internal Use `relay.subscribe`, `relay.openSubscription` or `relay.events`. */
  constructor(relay: ContextRelay, channel: string, options: SubscribeOptions) {
    this.#relay = relay;
    this.channel = channel;
    this.group = options.group;
    this.#options = options;
    this.#lastSeq = options.since ?? -1;
    this.#endedPromise = new Promise<void>((resolve, reject) => {
      this.#settle = (error) => (error === undefined ? resolve() : reject(error));
    });
    this.#endedPromise.catch(() => {}); // reported through done / the iterator, never as an unhandled rejection
  }

  /** Seq of the last event received (-1 before the first). */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** How many times the socket connected (1 + reconnects). */
  get connections(): number {
    return this.#connections;
  }

  /** Whether the subscription has ended (closed, aborted, revoked or failed). */
  get closed(): boolean {
    return this.#ended;
  }

  /**
   * Settles when delivery ends: resolves after `close()`; rejects with RelayAuthError when the relay
   * revoked the key, with the abort reason when the signal aborted, or with the handler's error.
   */
  get done(): Promise<void> {
    return this.#handlerLoop ?? this.#endedPromise;
  }

  /** Unsubscribes. Events not yet read are dropped. */
  close(): void {
    this.#end(undefined);
  }

  /**
   * Acknowledges a queue-group event: the relay will not hand it to anyone again. Returns false when the
   * socket is not open right now (the relay then redelivers the event; handle redeliveries idempotently).
   */
  ack(seqOrEvent: number | RelayEvent): boolean {
    if (this.group === undefined) throw new TypeError('Only queue-group subscriptions (options.group) acknowledge events.');
    const seq = typeof seqOrEvent === 'number' ? seqOrEvent : seqOrEvent.seq;
    const socket = this.#socket;
    if (socket === undefined || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify({ type: 'ack', seq }));
    return true;
  }

  [Symbol.asyncIterator](): AsyncIterator<RelayEvent> {
    return {
      next: async (): Promise<IteratorResult<RelayEvent>> => {
        const next = await this.#next();
        return next === undefined ? { value: undefined, done: true } : { value: next, done: false };
      },
      return: async (): Promise<IteratorResult<RelayEvent>> => {
        this.close();
        return { value: undefined, done: true };
      },
    };
  }

  /** The next event; undefined once closed; throws why the subscription ended (revoked, aborted). */
  async #next(): Promise<RelayEvent | undefined> {
    for (;;) {
      const next = this.#queue.shift();
      if (next !== undefined) return next;
      if (this.#ended) {
        if (this.#error !== undefined) throw this.#error;
        return undefined;
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** @internal Connects once; resolves when the relay registered the subscription. */
  async start(): Promise<void> {
    const signal = this.#options.signal;
    signal?.throwIfAborted();
    if (typeof globalThis.WebSocket !== 'function') {
      throw new RelayError('No global WebSocket: use Node 22+ (or Node 20 with --experimental-websocket), a browser or a Worker.');
    }
    const onAbort = () => this.#end(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    this.#stopped.signal.addEventListener('abort', () => signal?.removeEventListener('abort', onAbort), { once: true });
    try {
      this.#socket = await this.#connect();
    } catch (error) {
      const reason = this.#ended ? (this.#error ?? error) : await this.#diagnose(error);
      this.#end(reason);
      throw reason;
    }
  }

  /** @internal Runs the handler over the events, one at a time. */
  runHandler(handler: (event: RelayEvent) => unknown): void {
    this.#handlerLoop = (async () => {
      try {
        for (let event = await this.#next(); event !== undefined; event = await this.#next()) {
          await handler(event);
        }
      } catch (error) {
        this.#end(error); // delivery stops at the handler's error (or the subscription's end reason)
        throw error;
      }
    })();
    this.#handlerLoop.catch(() => {});
  }

  #url(): string {
    const url = new URL(this.#relay.buildUrl('ws/' + encodeURIComponent(this.channel)));
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const options = this.#options;
    if (options.group !== undefined) {
      // A member gets whatever the group hands it; since only matters to the join that creates the group.
      url.searchParams.set('group', options.group);
      if (options.since !== undefined && options.since >= 0) url.searchParams.set('since', String(options.since));
      url.searchParams.set('prefetch', String(options.prefetch ?? 1));
      if (options.ackTimeout !== undefined) url.searchParams.set('ack_timeout', String(Math.max(1, Math.ceil(options.ackTimeout))));
    } else if (this.#lastSeq >= 0) {
      url.searchParams.set('since', String(this.#lastSeq)); // resume exactly after what was received
    }
    return url.toString();
  }

  #connect(): Promise<WebSocket> {
    return new Promise<WebSocket>((resolve, reject) => {
      const key = this.#relay.apiKey;
      const protocols = key === undefined ? [SUBPROTOCOL] : [SUBPROTOCOL, 'contextrelay.bearer.' + key];
      let socket: WebSocket;
      try {
        socket = new WebSocket(this.#url(), protocols);
      } catch (error) {
        reject(error);
        return;
      }
      let opened = false;
      let settled = false;
      let closeHandled = false;
      const fail = (error: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(openTimer);
        this.#stopped.signal.removeEventListener('abort', onStop);
        try {
          socket.close();
        } catch {
          // not open yet
        }
        reject(error);
      };
      const onStop = () => {
        try {
          socket.close(1000, 'unsubscribe');
        } catch {
          // already closing
        }
        fail(this.#error ?? new RelayError('The subscription was closed.'));
      };
      // Some engines (Node 20's) report a refused connection with an error event only, never a close.
      const openTimer = setTimeout(() => fail(new RelayUnavailableError(`The WebSocket to '${this.channel}' did not open within ${OPEN_TIMEOUT_MS / 1000} s.`)), OPEN_TIMEOUT_MS);
      this.#stopped.signal.addEventListener('abort', onStop, { once: true });
      const closed = (code: number, reason: string) => {
        if (closeHandled) return;
        closeHandled = true;
        this.#stopped.signal.removeEventListener('abort', onStop);
        if (this.#socket === socket) this.#socket = undefined;
        this.#onClosed(code, reason);
      };
      socket.onopen = () => {
        if (settled) return;
        settled = opened = true;
        clearTimeout(openTimer);
        this.#connections++;
        resolve(socket);
      };
      socket.onmessage = (message: MessageEvent) => this.#onFrame(message.data);
      socket.onerror = () => {
        if (!opened) {
          fail(new RelayUnavailableError(`The WebSocket to '${this.channel}' did not open.`));
          return;
        }
        // A close event normally follows; if the engine never sends one, treat the socket as lost.
        setTimeout(() => closed(1006, 'connection lost'), 1000);
      };
      socket.onclose = (event: CloseEvent) => {
        if (!opened) {
          fail(new RelayUnavailableError(`The WebSocket to '${this.channel}' did not open (close code ${event.code}).`));
          return;
        }
        closed(event.code, event.reason);
      };
    });
  }

  #onClosed(code: number, reason: string): void {
    if (this.#ended) return;
    if (code === KEY_REVOKED_CLOSE_CODE) {
      // The key was revoked or expired: reconnecting cannot help, the consumer gets the reason instead.
      this.#end(new RelayAuthError(
        `The relay ended the subscription to '${this.channel}': ${reason || 'API key revoked'}. Use a valid API key.`,
        { problem: { status: 401, title: 'Unauthorized', detail: reason } },
      ));
      return;
    }
    void this.#reconnect();
  }

  async #reconnect(): Promise<void> {
    while (!this.#ended) {
      await delay(this.#relay.reconnectDelayMs, this.#stopped.signal);
      if (this.#ended) return;
      try {
        this.#socket = await this.#connect();
        this.#options.onReconnect?.(this);
        return;
      } catch (error) {
        if (this.#ended) return;
        const reason = await this.#diagnose(error);
        if (!(reason instanceof RelayUnavailableError || reason instanceof RelayQuotaError)) {
          this.#end(reason); // 401, 403, 404, 400: retrying cannot help
          return;
        }
      }
    }
  }

  /**
   * A WebSocket that failed to open says nothing about why (browsers hide the status). Ask the same route
   * over plain HTTP: a good key gets 426 (upgrade required); otherwise the status says what is wrong.
   */
  async #diagnose(error: unknown): Promise<unknown> {
    if (error instanceof RelayError && !(error instanceof RelayUnavailableError)) return error;
    try {
      const response = await this.#relay.send('ws/' + encodeURIComponent(this.channel), {}, this.#stopped.signal, `subscribe to '${this.channel}'`);
      await response.body?.cancel();
    } catch (probe) {
      if (this.#ended) return this.#error ?? probe;
      if (probe instanceof RelayError && probe.status !== 426) return probe;
      if (probe instanceof RelayUnavailableError) return probe;
    }
    return new RelayUnavailableError(`Cannot subscribe to '${this.channel}' on ${this.#relay.baseUrl}: ${errorText(error)}`, { cause: error });
  }

  #onFrame(data: unknown): void {
    if (typeof data !== 'string') return;
    let event: RelayEvent | undefined;
    try {
      event = parseEvent(data);
    } catch {
      return; // a frame this client does not understand (a newer relay): skip it
    }
    if (event === undefined || this.#ended) return;
    if (this.group === undefined && event.seq <= this.#lastSeq) return; // replayed after a reconnect: already delivered
    if (event.seq > this.#lastSeq) this.#lastSeq = event.seq;
    this.#queue.push(event);
    this.#wake();
  }

  #end(error: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = error;
    if (error !== undefined) this.#queue.length = 0;
    this.#stopped.abort();
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket !== undefined && socket.readyState <= WebSocket.OPEN) {
      try {
        socket.close(1000, 'unsubscribe');
      } catch {
        // already closing
      }
    }
    this.#settle(error);
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}

/** Parses one frame; undefined for a type this client does not know. */
export function parseEvent(text: string): RelayEvent | undefined {
  const frame: unknown = JSON.parse(text);
  if (frame === null || typeof frame !== 'object' || Array.isArray(frame)) return undefined;
  const f = frame as Record<string, unknown>;
  const type = f.type === 'message' ? 'message' : f.type === 'push' || f.type === undefined ? 'push' : undefined;
  if (type === undefined) return undefined;
  const ts = typeof f.ts === 'number' ? f.ts : 0;
  const metadata = f.metadata !== null && typeof f.metadata === 'object' && !Array.isArray(f.metadata) ? (f.metadata as Record<string, unknown>) : {};
  const event: RelayEvent = {
    type,
    channel: typeof f.channel === 'string' ? f.channel : '',
    seq: typeof f.seq === 'number' ? f.seq : 0,
    ts,
    timestamp: new Date(ts),
    metadata,
    deliveries: typeof f.deliveries === 'number' ? f.deliveries : 0,
  };
  if (typeof f.url === 'string') event.url = f.url;
  if (typeof f.id === 'string') event.id = f.id;
  if (typeof f.size === 'number') event.size = f.size;
  if (typeof f.data === 'string') event.data = f.data;
  if (typeof f.group === 'string') event.group = f.group;
  return event;
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

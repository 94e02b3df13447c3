/**
 * Base of every error the client raises. When the relay answered with a problem document,
 * `problem` carries it so callers can show the server's own words.
 */
export class RelayError extends Error {
    /** The relay's problem detail, when the error came from the relay. */
    problem;
    constructor(message, options = {}) {
        super(message, options.cause === undefined ? undefined : { cause: options.cause });
        this.name = new.target.name;
        this.problem = options.problem;
    }
    /** The HTTP status the relay answered with, when there was one. */
    get status() {
        return this.problem !== undefined && this.problem.status > 0 ? this.problem.status : undefined;
    }
}
/** 401: the API key is missing, malformed, unknown, revoked or expired (also: WebSocket close 4401). */
export class RelayAuthError extends RelayError {
}
/** 403: the key is valid but may not do this (a read-only key that pushes, a channel outside its scope). */
export class RelayForbiddenError extends RelayError {
}
/** 404: no such payload — unknown, expired, deleted, or another workspace's (the relay never says which). */
export class RelayNotFoundError extends RelayError {
}
/** 413: the payload is larger than the relay accepts. */
export class RelayPayloadTooLargeError extends RelayError {
}
/**
 * 429: the workspace is over its plan's monthly quota, per-minute rate or storage quota (or too many bad
 * keys / WebSockets). `retryAfter` (seconds) and `resetsAt` say when to try again; `plan`, `meter`,
 * `limit` and `used` which limit it is.
 */
export class RelayQuotaError extends RelayError {
    /** Seconds to wait, from the `Retry-After` header. */
    retryAfter;
    constructor(message, options = {}) {
        super(message, options);
        this.retryAfter = options.retryAfter;
    }
    /** The workspace's plan (`free`, `pro`…), when the relay named it. */
    get plan() {
        return stringMember(this.problem, 'plan');
    }
    /** What ran out: `pushes` or `pulls` (monthly) or `requests` (per minute). */
    get meter() {
        return stringMember(this.problem, 'meter');
    }
    get limit() {
        return numberMember(this.problem, 'limit');
    }
    get used() {
        return numberMember(this.problem, 'used');
    }
    /** When the exhausted quota or rate resets. */
    get resetsAt() {
        const text = stringMember(this.problem, 'resets_at');
        const time = text === undefined ? NaN : Date.parse(text);
        return Number.isNaN(time) ? undefined : new Date(time);
    }
}
/** The relay could not be reached, or answered 5xx. */
export class RelayUnavailableError extends RelayError {
}
/**
 * An encrypted payload could not be decrypted: the URL has no `#key=`, the key is wrong, or the token was
 * tampered with. Never returns garbage instead.
 */
export class RelayDecryptionError extends RelayError {
}
function stringMember(problem, name) {
    const value = problem?.[name];
    return typeof value === 'string' ? value : undefined;
}
function numberMember(problem, name) {
    const value = problem?.[name];
    return typeof value === 'number' ? value : undefined;
}
/** Maps a failed answer to the error type of its status, as the .NET SDK's TranslateFailure does. */
export function translateFailure(status, problem, retryAfter, what) {
    const detail = problem?.detail ?? problem?.title ?? `${status}`;
    const withStatus = problem ?? { status };
    if (status === 401)
        return new RelayAuthError(`The relay rejected the API key: ${detail}`, { problem: withStatus });
    if (status === 403)
        return new RelayForbiddenError(`This key may not ${what}: ${detail}`, { problem: withStatus });
    if (status === 404)
        return new RelayNotFoundError(`Not found: ${detail}`, { problem: withStatus });
    if (status === 413)
        return new RelayPayloadTooLargeError(`Payload too large: ${detail}`, { problem: withStatus });
    if (status === 429)
        return new RelayQuotaError(`Quota exceeded: ${detail}`, { problem: withStatus, retryAfter });
    if (status >= 500)
        return new RelayUnavailableError(`The relay failed to ${what}: ${detail}`, { problem: withStatus });
    return new RelayError(`The relay refused to ${what}: ${detail}`, { problem: withStatus });
}
//# sourceMappingURL=errors.js.map
import { RelayDecryptionError } from './errors.js';
/**
 * Fernet (https://github.com/fernet/spec) on WebCrypto: AES-128-CBC with PKCS#7 padding, then
 * HMAC-SHA256 over version ‖ timestamp ‖ IV ‖ ciphertext. Tokens are byte-compatible with Python's
 * `cryptography.fernet` and the .NET SDK. A key is the URL-safe base64 of 32 bytes: the signing key
 * first, the encryption key last.
 */
const VERSION = 0x80;
const MAX_CLOCK_SKEW_SECONDS = 60;
const HEADER_LENGTH = 1 + 8 + 16;
const MAC_LENGTH = 32;
function subtle() {
    const crypto = globalThis.crypto;
    if (crypto?.subtle === undefined) {
        throw new RelayDecryptionError('Encryption needs WebCrypto (globalThis.crypto.subtle): use Node 20+, a browser over https, or a Worker.');
    }
    return crypto.subtle;
}
/** A fresh random key: URL-safe base64 (with padding) of 32 random bytes. */
export function generateKey() {
    return toBase64Url(globalThis.crypto.getRandomValues(new Uint8Array(32)));
}
/** Encrypts UTF-8 text (or bytes) into a Fernet token with the current time and a random IV. */
export async function encrypt(key, plaintext) {
    const iv = globalThis.crypto.getRandomValues(new Uint8Array(16));
    return encryptAt(key, plaintext, Math.floor(Date.now() / 1000), iv);
}
/** Encrypts with a given timestamp (Unix seconds) and IV: deterministic, for test vectors. */
export async function encryptAt(key, plaintext, nowSeconds, iv) {
    if (iv.length !== 16)
        throw new RangeError('A Fernet IV is 16 bytes.');
    const ivBytes = new Uint8Array(iv);
    const { signing, encryption } = await importKey(key);
    const data = typeof plaintext === 'string' ? new TextEncoder().encode(plaintext) : new Uint8Array(plaintext);
    const ciphertext = new Uint8Array(await subtle().encrypt({ name: 'AES-CBC', iv: ivBytes }, encryption, data));
    const token = new Uint8Array(HEADER_LENGTH + ciphertext.length + MAC_LENGTH);
    token[0] = VERSION;
    writeTimestamp(token, nowSeconds);
    token.set(ivBytes, 9);
    token.set(ciphertext, HEADER_LENGTH);
    const signed = token.subarray(0, HEADER_LENGTH + ciphertext.length);
    token.set(new Uint8Array(await subtle().sign('HMAC', signing, signed)), signed.length);
    return toBase64Url(token);
}
/**
 * Decrypts a token to its plaintext bytes. With `ttlSeconds`, a token older than that is refused.
 * Throws RelayDecryptionError for a bad key, a tampered or malformed token, or an expired one.
 */
export async function decrypt(key, token, options = {}) {
    const { signing, encryption } = await importKey(key);
    const bytes = fromBase64Url(token.trim());
    if (bytes === undefined || bytes.length < HEADER_LENGTH + 16 + MAC_LENGTH || (bytes.length - HEADER_LENGTH - MAC_LENGTH) % 16 !== 0) {
        throw new RelayDecryptionError('The payload is not a valid Fernet token (malformed or truncated).');
    }
    if (bytes[0] !== VERSION) {
        throw new RelayDecryptionError('The payload is not a Fernet token (unknown version byte).');
    }
    const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
    const timestamp = readTimestamp(bytes);
    if (options.ttlSeconds !== undefined && timestamp + options.ttlSeconds < now) {
        throw new RelayDecryptionError('The encrypted payload has expired (its token is older than the allowed time to live).');
    }
    if (now + MAX_CLOCK_SKEW_SECONDS < timestamp) {
        throw new RelayDecryptionError('The encrypted payload carries a timestamp in the future; check the clocks.');
    }
    const signedLength = bytes.length - MAC_LENGTH;
    const valid = await subtle().verify('HMAC', signing, bytes.subarray(signedLength), bytes.subarray(0, signedLength));
    if (!valid) {
        throw new RelayDecryptionError('The payload could not be decrypted: wrong key, or the token was altered. Pass the whole URL with its #key=… exactly as handed on.');
    }
    try {
        const iv = bytes.slice(9, HEADER_LENGTH);
        return new Uint8Array(await subtle().decrypt({ name: 'AES-CBC', iv }, encryption, bytes.subarray(HEADER_LENGTH, signedLength)));
    }
    catch (error) {
        throw new RelayDecryptionError('The payload could not be decrypted: bad padding (wrong key or altered token).', { cause: error });
    }
}
/** Like decrypt, then decodes the plaintext as UTF-8 (binary plaintext is refused, as in the .NET SDK). */
export async function decryptString(key, token, options = {}) {
    const plaintext = await decrypt(key, token, options);
    try {
        return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(plaintext);
    }
    catch (error) {
        throw new RelayDecryptionError('The payload decrypted, but it is binary, not UTF-8 text: read it with decrypt() instead.', { cause: error });
    }
}
async function importKey(key) {
    const raw = typeof key === 'string' ? fromBase64Url(key.trim()) : undefined;
    if (raw === undefined || raw.length !== 32) {
        throw new RelayDecryptionError('The key is not a Fernet key (URL-safe base64 of 32 bytes): pass the #key=… part of the URL exactly as handed on.');
    }
    const signing = await subtle().importKey('raw', raw.slice(0, 16), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    const encryption = await subtle().importKey('raw', raw.slice(16), { name: 'AES-CBC' }, false, ['encrypt', 'decrypt']);
    return { signing, encryption };
}
function writeTimestamp(target, seconds) {
    // 64-bit big-endian; Unix seconds fit exactly in a double far beyond 2^32.
    const high = Math.floor(seconds / 0x1_0000_0000);
    const low = seconds >>> 0;
    const view = new DataView(target.buffer, target.byteOffset, target.byteLength);
    view.setUint32(1, high);
    view.setUint32(5, low);
}
function readTimestamp(token) {
    const view = new DataView(token.buffer, token.byteOffset, token.byteLength);
    return view.getUint32(1) * 0x1_0000_0000 + view.getUint32(5);
}
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const LOOKUP = (() => {
    const table = new Int16Array(128).fill(-1);
    for (let i = 0; i < ALPHABET.length; i++)
        table[ALPHABET.charCodeAt(i)] = i;
    return table;
})();
/** URL-safe base64 with `=` padding, as Python's `base64.urlsafe_b64encode`. */
export function toBase64Url(bytes) {
    const parts = [];
    let chunk = '';
    for (let i = 0; i < bytes.length; i += 3) {
        const a = bytes[i];
        const b = i + 1 < bytes.length ? bytes[i + 1] : 0;
        const c = i + 2 < bytes.length ? bytes[i + 2] : 0;
        chunk += ALPHABET[a >> 2] + ALPHABET[((a & 3) << 4) | (b >> 4)]
            + (i + 1 < bytes.length ? ALPHABET[((b & 15) << 2) | (c >> 6)] : '=')
            + (i + 2 < bytes.length ? ALPHABET[c & 63] : '=');
        if (chunk.length >= 8192) {
            parts.push(chunk);
            chunk = '';
        }
    }
    parts.push(chunk);
    return parts.join('');
}
/** Strict URL-safe base64 (padding optional but, when present, correct); undefined when malformed. */
export function fromBase64Url(text) {
    let end = text.length;
    while (end > 0 && text.charCodeAt(end - 1) === 0x3d)
        end--;
    if (text.length - end > 2 || (text.length !== end && text.length % 4 !== 0) || end % 4 === 1)
        return undefined;
    const out = new Uint8Array(Math.floor((end * 3) / 4));
    let buffer = 0;
    let bits = 0;
    let index = 0;
    for (let i = 0; i < end; i++) {
        const code = text.charCodeAt(i);
        const value = code < 128 ? LOOKUP[code] : -1;
        if (value < 0)
            return undefined;
        buffer = ((buffer << 6) | value) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[index++] = (buffer >> bits) & 0xff;
        }
    }
    return out;
}
//# sourceMappingURL=fernet.js.map
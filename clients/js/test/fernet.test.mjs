// Fernet on WebCrypto against the official spec vectors, the Python interop vectors, and Python's
// cryptography.fernet both ways (python3 -c).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fernet, RelayDecryptionError } from '../dist/src/index.js';

const vectors = (name) => JSON.parse(readFileSync(new URL(`./vectors/${name}`, import.meta.url), 'utf8'));
const seconds = (now) => (typeof now === 'number' ? now : Date.parse(now) / 1000);
const sha256 = (text) => createHash('sha256').update(text, 'utf8').digest('hex');

test('generate.json: encrypting with the given time and IV gives the exact token', async () => {
  const cases = vectors('generate.json');
  assert.ok(cases.length >= 1);
  for (const v of cases) {
    assert.equal(seconds(v.now), 499162800);
    assert.equal(await fernet.encryptAt(v.secret, v.src, seconds(v.now), new Uint8Array(v.iv)), v.token);
  }
});

test('verify.json: decrypting at the given time returns the plaintext', async () => {
  for (const v of vectors('verify.json')) {
    assert.equal(await fernet.decryptString(v.secret, v.token, { ttlSeconds: v.ttl_sec, nowSeconds: seconds(v.now) }), v.src);
  }
});

test('invalid.json: every token is refused with RelayDecryptionError', async () => {
  const cases = vectors('invalid.json');
  assert.equal(cases.length, 8);
  for (const v of cases) {
    await assert.rejects(
      fernet.decrypt(v.secret, v.token, { ttlSeconds: v.ttl_sec, nowSeconds: seconds(v.now) }),
      RelayDecryptionError,
      v.desc,
    );
  }
});

test('python-interop.json: same tokens (or length and hash for 1 MiB), decrypt, expiry and wrong key', async () => {
  const cases = vectors('python-interop.json');
  assert.equal(cases.length, 10);
  for (const v of cases) {
    const src = v.src ?? v.src_repeat.repeat(v.count);
    assert.equal(new TextEncoder().encode(src).length, v.src_len, v.desc);
    assert.equal(sha256(src), v.src_sha256, v.desc);
    const token = await fernet.encryptAt(v.secret, src, v.now, new Uint8Array(v.iv));
    if (v.token !== undefined) assert.equal(token, v.token, v.desc);
    else {
      assert.equal(token.length, v.token_len, v.desc);
      assert.equal(sha256(token), v.token_sha256, v.desc);
    }
    assert.equal(new TextDecoder().decode(await fernet.decrypt(v.secret, token, { ttlSeconds: v.ttl_sec, nowSeconds: v.now })), src, v.desc);
    await assert.rejects(fernet.decrypt(v.secret, token, { ttlSeconds: v.ttl_sec, nowSeconds: v.now + v.ttl_sec + 1 }), RelayDecryptionError, v.desc);
    await assert.rejects(fernet.decrypt(fernet.generateKey(), token, { nowSeconds: v.now }), RelayDecryptionError, v.desc);
  }
});

const python = (script, input) => execFileSync('python3', ['-c', script], { input, encoding: 'utf8', maxBuffer: 64 << 20 });
const texts = ['hello', 'Grüße, 世界 👋🏽 — ok', '{"data":"x","metadata":{}}', 'x'.repeat(100_000)];

test('a token made here decrypts with Python cryptography.fernet', async () => {
  for (const text of texts) {
    const key = fernet.generateKey();
    const token = await fernet.encrypt(key, text);
    const out = python(
      'import sys,json; from cryptography.fernet import Fernet; d=json.load(sys.stdin); sys.stdout.write(Fernet(d["k"]).decrypt(d["t"].encode()).decode("utf-8"))',
      JSON.stringify({ k: key, t: token }),
    );
    assert.equal(out, text);
  }
});

test('a token made by Python cryptography.fernet decrypts here', async () => {
  for (const text of texts) {
    const [key, token] = python(
      'import sys,json; from cryptography.fernet import Fernet; k=Fernet.generate_key(); t=Fernet(k).encrypt(sys.stdin.read().encode("utf-8")); print(k.decode()); print(t.decode())',
      text,
    ).trim().split('\n');
    assert.equal(await fernet.decryptString(key, token), text);
  }
});

test('a malformed key or token is a RelayDecryptionError, never garbage', async () => {
  await assert.rejects(fernet.encrypt('short', 'x'), RelayDecryptionError);
  const key = fernet.generateKey();
  const token = await fernet.encrypt(key, 'secret');
  const tampered = token.slice(0, 20) + (token[20] === 'A' ? 'B' : 'A') + token.slice(21);
  await assert.rejects(fernet.decrypt(key, tampered), RelayDecryptionError);
  await assert.rejects(fernet.decrypt(key, 'not a token'), RelayDecryptionError);
});

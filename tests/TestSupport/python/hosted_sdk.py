"""A faithful re-creation of the wire behaviour of the hosted product's Python package (`contextrelay` 0.2):
its client (push / pull / peek / subscribe), `AgentBridge.push_and_wait`, and the bridge daemon's task
handling (`contextrelay-bridge start --exec`, `send`). Tests run it with the real `python3` and the real
`requests` library against a real relay, so what reaches the relay — paths, headers, JSON bodies, the
User-Agent — and what the client does with the answers are the package's own.

Written for these tests (the package is not on this machine); each function says which behaviour of the
package it reproduces. WebSockets use a small stdlib client instead of `websocket-client`; only the
handshake headers and the text frames it reads matter to the relay.

Usage (data on stdin, results on stdout, errors on stderr with exit 1):
  hosted_sdk.py push BASE [--channel C] [--metadata JSON] [--encrypted] [--api-key K]   -> URL
  hosted_sdk.py pull BASE URL [--api-key K]                                             -> payload (UTF-8)
  hosted_sdk.py push-many BASE [--api-key K]      stdin: JSON list of texts              -> JSON list of URLs
  hosted_sdk.py pull-many BASE [--api-key K]      stdin: JSON list of URLs               -> JSON list of texts
  hosted_sdk.py peek BASE URL [--api-key K]                                             -> metadata JSON
  hosted_sdk.py subscribe BASE CHANNEL --count N [--api-key K]                          -> N URLs, one a line
  hosted_sdk.py push-and-wait BASE [--task-channel T] [--done-channel D] [--timeout S]  -> result text
  hosted_sdk.py bridge BASE --exec CMD [--task-channel T] [--done-channel D] [--timeout S] [--tasks N]
  hosted_sdk.py send BASE [--task-channel T] [--done-channel D] [--wait] [--timeout S]  -> as bridge_cli send
"""

import argparse
import base64
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
from urllib.parse import urlparse, urlunparse

import requests

# --- constants of the package --------------------------------------------------------------------------
DEFAULT_TASK_CHANNEL = "agent-tasks"
DEFAULT_DONE_CHANNEL = "agent-done"
OUTCOME_START = "=== CC_OUTCOME_START ==="
OUTCOME_END = "=== CC_OUTCOME_END ==="
OUTCOME_INSTRUCTION = (
    "\n\n---\nAfter completing the task above, end your response with this exact block:\n\n"
    + OUTCOME_START
    + "\nCOMPLETED: <bullet list of what was done>\n"
    + "NOT_DONE: <anything skipped, blocked, or errored — or \"none\">\n"
    + "NOTES: <anything the orchestrating agent should know>\n"
    + OUTCOME_END
    + "\n"
)


class Client:
    """contextrelay.client.ContextRelay."""

    def __init__(self, base_url, api_key=None, timeout=30):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def push(self, data, channel=None, encrypted=False, metadata=None):
        # JSON body {"data", "channel"?, "metadata"?}; the key stays in the URL fragment.
        key = None
        if encrypted:
            from cryptography.fernet import Fernet

            key = Fernet.generate_key()
            data = Fernet(key).encrypt(data.encode("utf-8")).decode("ascii")
        body = {"data": data}
        if channel is not None:
            body["channel"] = channel
        if metadata is not None:
            body["metadata"] = metadata
        response = requests.post(f"{self.base_url}/push", json=body, headers=self.headers, timeout=self.timeout)
        response.raise_for_status()
        url = response.json()["url"]
        return f"{url}#key={key.decode('ascii')}" if key else url

    def pull(self, url):
        # GET the URL without its fragment; unwrap a {"data": str, "metadata"?: dict} envelope; decrypt.
        key = None
        if "#key=" in url:
            url, _, fragment = url.partition("#")
            key = fragment[len("key="):]
            if not key:
                raise ValueError("Failed to decrypt: Invalid or missing key")
        response = requests.get(url, headers=self.headers, timeout=self.timeout)
        response.raise_for_status()
        payload = raw = response.text
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and isinstance(parsed.get("data"), str) and isinstance(parsed.get("metadata", {}), dict):
            payload = parsed["data"]
        if key is None:
            return payload
        from cryptography.fernet import Fernet, InvalidToken

        try:
            return Fernet(key.encode("ascii")).decrypt(payload.encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError, TypeError) as e:
            raise ValueError("Failed to decrypt: Invalid or missing key") from e

    def peek(self, url):
        # Replaces '/pull/' with '/peek/' in the URL; a non-dict answer counts as {}.
        base = url.split("#", 1)[0]
        if "/pull/" not in base:
            raise ValueError("Not a ContextRelay pointer URL — expected '/pull/<uuid>' in the path")
        prefix, _, pid = base.partition("/pull/")
        response = requests.get(f"{prefix}/peek/{pid}", headers=self.headers, timeout=self.timeout)
        response.raise_for_status()
        result = response.json()
        return result if isinstance(result, dict) else {}

    def subscribe(self, channel, callback, stop=None, on_open=None):
        # ws(s)://<base without scheme>/ws/<channel>, the Authorization header on the upgrade; every JSON
        # text frame with a "url" goes to callback(rewrite_to_gateway(url)); reconnect 1 s, 2 s, 4 s, ...
        delay = 1.0
        while stop is None or not stop.is_set():
            try:
                with _WebSocket(self._ws_url(channel), self.headers) as ws:
                    delay = 1.0
                    if on_open:
                        on_open()
                    for text in ws.messages(stop):
                        try:
                            msg = json.loads(text)
                        except ValueError:
                            continue
                        if isinstance(msg, dict) and "url" in msg:
                            try:
                                callback(self.rewrite_to_gateway(msg["url"]))
                            except Exception:  # the package swallows callback errors
                                pass
            except OSError:
                pass
            if stop is not None and stop.wait(delay):
                return
            if stop is None:
                time.sleep(delay)
            delay = min(delay * 2, 60.0)

    def rewrite_to_gateway(self, url):
        parsed, our = urlparse(url), urlparse(self.base_url)
        if parsed.netloc == our.netloc:
            return url
        return urlunparse((our.scheme, our.netloc, our.path.rstrip("/") + parsed.path, "", "", ""))

    def _ws_url(self, channel):
        if self.base_url.startswith("https://"):
            return "wss://" + self.base_url[len("https://"):] + f"/ws/{channel}"
        if self.base_url.startswith("http://"):
            return "ws://" + self.base_url[len("http://"):] + f"/ws/{channel}"
        return "wss://" + self.base_url + f"/ws/{channel}"


class _WebSocket:
    """Just enough RFC 6455 for a subscriber: handshake with headers, text frames, ping/pong, close."""

    def __init__(self, url, headers):
        parsed = urlparse(url)
        if parsed.scheme != "ws":
            raise OSError("only ws:// in tests")
        self.sock = socket.create_connection((parsed.hostname, parsed.port or 80), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode("ascii")
        path = parsed.path + (f"?{parsed.query}" if parsed.query else "")
        lines = [f"GET {path} HTTP/1.1", f"Host: {parsed.netloc}", "Upgrade: websocket", "Connection: Upgrade",
                 f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("ascii"))
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise OSError("closed during handshake")
            self.buffer += chunk
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status + b" ":
            raise OSError(f"handshake refused: {status.decode('latin-1')}")
        self.sock.settimeout(0.5)

    def __enter__(self):
        return self

    def __exit__(self, *_):
        try:
            self._send(0x8, b"")
        except OSError:
            pass
        self.sock.close()

    def _recv_exact(self, n, stop):
        while len(self.buffer) < n:
            if stop is not None and stop.is_set():
                raise OSError("stopped")
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                raise OSError("closed")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def _send(self, opcode, payload):
        mask = os.urandom(4)
        header = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def messages(self, stop):
        message = b""
        while True:
            b1, b2 = self._recv_exact(2, stop)
            opcode, n = b1 & 0x0F, b2 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._recv_exact(2, stop))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._recv_exact(8, stop))[0]
            payload = self._recv_exact(n, stop)
            if opcode == 0x9:
                self._send(0xA, payload)
            elif opcode == 0x8:
                return
            elif opcode in (0x0, 0x1):
                message += payload
                if b1 & 0x80:
                    yield message.decode("utf-8")
                    message = b""


def extract_outcome(raw):
    """agent_bridge._extract_outcome: the last start marker up to the next end marker, else everything."""
    start = raw.rfind(OUTCOME_START)
    if start == -1:
        return raw
    end = raw.find(OUTCOME_END, start)
    if end == -1:
        return raw
    return raw[start:end + len(OUTCOME_END)].strip()


def push_and_wait(hub, task, task_channel, done_channel, timeout):
    """AgentBridge.push_and_wait: subscribe to the done channel, wait 1 s, push the task with
    {"summary": task[:80]}, return the first result pulled from the done channel (no correlation)."""
    holder, ready, stop = [], threading.Event(), threading.Event()

    def on_done(url):
        try:
            holder.append(hub.pull(url))
        except Exception as e:  # noqa: BLE001 - as the package
            holder.append(f"[AgentBridge] error pulling result: {e}")
        ready.set()

    threading.Thread(target=hub.subscribe, args=(done_channel, on_done, stop), daemon=True).start()
    time.sleep(1)
    hub.push(task, channel=task_channel, metadata={"summary": task[:80]})
    try:
        if not ready.wait(timeout=timeout):
            return f"[AgentBridge] timeout after {timeout}s — no result received"
        return holder[0] if holder else "[AgentBridge] empty result"
    finally:
        stop.set()


def run_bridge(hub, exec_cmd, task_channel, done_channel, timeout, tasks):
    """AgentBridge.start with bridge_cli's --exec dispatcher: each task URL from the task channel is
    pulled, the outcome instruction appended, the command run with it on stdin, the outcome extracted,
    and the result pushed to the done channel with {"summary": result[:120]} (no task_id, no status)."""
    done, stop = [0], threading.Event()
    lock = threading.Lock()

    def process(url):
        task_text = hub.pull(url)
        try:
            r = subprocess.run(exec_cmd, input=task_text + OUTCOME_INSTRUCTION, capture_output=True, text=True,
                               timeout=timeout, shell=True)
            result = extract_outcome(r.stdout + r.stderr)
        except Exception as e:  # noqa: BLE001 - as the package
            result = f"[AgentBridge] dispatcher error: {e}"
        hub.push(result, channel=done_channel, metadata={"summary": result[:120]})
        with lock:
            done[0] += 1
            if tasks and done[0] >= tasks:
                stop.set()

    def on_task(url):
        threading.Thread(target=process, args=(url,), daemon=True).start()

    print(f"[AgentBridge] listening on '{task_channel}' → results to '{done_channel}'", flush=True)
    hub.subscribe(task_channel, on_task, stop, on_open=lambda: print("[AgentBridge] subscribed", flush=True))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("command")
    p.add_argument("base")
    p.add_argument("rest", nargs="*")
    p.add_argument("--api-key")
    p.add_argument("--channel")
    p.add_argument("--metadata")
    p.add_argument("--encrypted", action="store_true")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--task-channel", default=DEFAULT_TASK_CHANNEL)
    p.add_argument("--done-channel", default=DEFAULT_DONE_CHANNEL)
    p.add_argument("--timeout", type=int, default=600)
    p.add_argument("--exec", dest="exec_cmd")
    p.add_argument("--tasks", type=int, default=0)
    p.add_argument("--wait", action="store_true")
    a = p.parse_args()
    hub = Client(a.base, api_key=a.api_key or None)
    out = sys.stdout.buffer
    try:
        if a.command == "push":
            meta = json.loads(a.metadata) if a.metadata else None
            out.write(hub.push(sys.stdin.buffer.read().decode("utf-8"), a.channel, a.encrypted, meta).encode())
        elif a.command == "push-many":
            texts = json.loads(sys.stdin.buffer.read().decode("utf-8"))
            out.write(json.dumps([hub.push(t, a.channel, a.encrypted) for t in texts]).encode("utf-8"))
        elif a.command == "pull-many":
            urls = json.loads(sys.stdin.buffer.read().decode("utf-8"))
            out.write(json.dumps([hub.pull(u) for u in urls]).encode("utf-8"))
        elif a.command == "pull":
            out.write(hub.pull(a.rest[0]).encode("utf-8"))
        elif a.command == "peek":
            out.write(json.dumps(hub.peek(a.rest[0])).encode("utf-8"))
        elif a.command == "subscribe":
            got, stop = [], threading.Event()

            def on_url(url):
                got.append(url)
                print(url, flush=True)
                if len(got) >= a.count:
                    stop.set()

            hub.subscribe(a.rest[0], on_url, stop, on_open=lambda: print("subscribed", file=sys.stderr, flush=True))
        elif a.command == "push-and-wait":
            task = sys.stdin.buffer.read().decode("utf-8")
            out.write(push_and_wait(hub, task, a.task_channel, a.done_channel, a.timeout).encode("utf-8"))
        elif a.command == "bridge":
            run_bridge(hub, a.exec_cmd, a.task_channel, a.done_channel, a.timeout, a.tasks)
        elif a.command == "send":
            task = sys.stdin.buffer.read().decode("utf-8")
            if a.wait:
                result = push_and_wait(hub, task, a.task_channel, a.done_channel, a.timeout)
                lines = result.split("\n")
                cut = next((i for i, line in enumerate(lines) if "─" * 10 in line or "┌" in line), len(lines))
                out.write("\n".join(lines[:cut]).strip().encode("utf-8"))
            else:
                url = hub.push(task, channel=a.task_channel, metadata={"summary": task[:80]})
                out.write(f"[bridge] task pushed → {url}".encode("utf-8"))
        else:
            raise SystemExit(f"unknown command {a.command}")
    except requests.HTTPError as e:
        print(f"HTTPError {e.response.status_code}: {e.response.text}", file=sys.stderr)
        sys.exit(1)
    out.flush()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""A stand-in for a TUI coding agent (drawn like Claude Code), used by the bridge tests and the sample.

It draws the way an Ink-based agent does: finished text is written once ("static") and scrolls into
the terminal's scrollback; a "live" area at the bottom (spinner, boxed input prompt, footer) is redrawn
in place with carriage returns, cursor-up and erase sequences, in ANSI colours. It enables bracketed
paste, so a pasted multi-line task is one input, while a bare CR or LF typed outside a paste submits
(as key-by-key typing would).

Answers are deterministic functions of the task, so tests can assert them exactly. Directives inside
the task steer one turn:
  [[think=S]]   think S seconds before answering (default: 0.4-1.1 s derived from the task)
  [[lines=N]]   answer with N numbered lines (default: 3-6)
  [[hang]]      never finish the turn (Esc interrupts it, as in Claude Code)
  [[linger=S]]  after answering (and running the Stop hooks), keep a busy spinner for S seconds
  [[outcome]]   end the answer with a structured outcome block (=== CC_OUTCOME_START === ... END ===),
                as an agent does when the task carries the outcome instruction

At the end of each turn it runs the Stop hooks found in ./.claude/settings.json (as Claude Code does),
with a JSON input on stdin that carries "last_assistant_message".

With STANDIN_LOG=<dir>, each turn writes turn-N.task.txt (the input exactly as received),
turn-N.answer.txt (the answer as a reader sees it on screen, plain) and turn-N.message.md (the
assistant message as the model wrote it, markdown; what the Stop hook receives).
"""

import hashlib
import json
import os
import select
import shutil
import subprocess
import sys
import termios
import time
import tty

ESC = "\x1b"
RESET = ESC + "[0m"
BOLD = ESC + "[1m"
DIM = ESC + "[2m"
GLYPHS = "·✢✳✶✻✽✻✶✳✢"
PALETTE = [ESC + "[38;5;174m", ESC + "[38;5;209m", ESC + "[38;5;216m", ESC + "[38;5;180m"]
WORD_COLOURS = [ESC + "[36m", ESC + "[1m", ESC + "[33m", ESC + "[38;5;150m", ""]
GREEN_BULLET = ESC + "[32m⏺" + RESET
WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
         "kilo", "lima", "mike", "november", "oscar", "papa"]


def write(text):
    data = text.encode("utf-8")
    while data:
        n = os.write(1, data)
        data = data[n:]


def width():
    return max(40, shutil.get_terminal_size((100, 30)).columns)


def colour_words(text):
    """Colours each word separately, as agents that stream markdown tokens do."""
    parts = text.split(" ")
    return " ".join(WORD_COLOURS[i % len(WORD_COLOURS)] + p + (RESET if WORD_COLOURS[i % len(WORD_COLOURS)] else "")
                    for i, p in enumerate(parts))


class Terminal:
    """Static lines are written once; the live area is erased and redrawn in place."""

    def __init__(self):
        self.live_height = 0

    def erase_live(self):
        if self.live_height:
            seq = "\r"
            if self.live_height > 1:
                seq += ESC + "[%dA" % (self.live_height - 1)
            write(seq + ESC + "[J")
            self.live_height = 0

    def static(self, lines):
        self.erase_live()
        write("".join(line + "\r\n" for line in lines))

    def live(self, lines):
        self.erase_live()
        write("\r\n".join(lines))
        self.live_height = len(lines)


class Agent:
    def __init__(self):
        self.term = Terminal()
        self.input = ""
        self.queue = []
        self.turn = 0
        self.log_dir = os.environ.get("STANDIN_LOG")
        self.pending = b""

    # ----- drawing -------------------------------------------------------------------------------
    def prompt_box(self):
        w = width()
        text = self.input
        if "\n" in text or len(text) > w - 8:
            shown = "[Pasted text #1 +%d lines]" % (text.count("\n") + 1)
        else:
            shown = text
        inner = w - 2
        line = " > " + shown
        line = line + " " * max(0, inner - len(line))
        return [
            DIM + "╭" + "─" * inner + "╮" + RESET,
            DIM + "│" + RESET + line[:inner] + DIM + "│" + RESET,
            DIM + "╰" + "─" * inner + "╯" + RESET,
            DIM + "  ? for shortcuts" + " " * max(1, w - 36) + "◯ stand-in" + RESET,
        ]

    def draw_idle(self):
        self.term.live(self.prompt_box())

    def draw_busy(self, started, frame, verb="Thinking"):
        glyph = GLYPHS[frame % len(GLYPHS)]
        colour = PALETTE[frame % len(PALETTE)]
        elapsed = int(time.monotonic() - started)
        spinner = (colour + glyph + RESET + " " + colour + BOLD + verb + "…" + RESET + " "
                   + DIM + "(%ds · ↑ %d tokens · " % (elapsed, 40 * frame) + BOLD + "esc" + RESET + DIM
                   + " to interrupt)" + RESET)
        self.term.live([spinner, ""] + self.prompt_box())

    def banner(self):
        w = width()
        inner = w - 2
        rows = [" ✻ Welcome to Stand-in Code!", "", "   /help for help, /status for your current setup", "",
                "   cwd: " + os.getcwd()]
        lines = ["╭" + "─" * inner + "╮"]
        lines += ["│" + r[:inner].ljust(inner) + "│" for r in rows]
        lines += ["╰" + "─" * inner + "╯", ""]
        self.term.static([PALETTE[0] + l + RESET if i in (0, len(lines) - 2) else l for i, l in enumerate(lines)])

    # ----- input ---------------------------------------------------------------------------------
    def read_input(self, timeout):
        """Reads what is available within timeout; returns False on Ctrl+C/EOF."""
        ready, _, _ = select.select([0], [], [], max(0.0, timeout))
        if not ready:
            return True
        chunk = os.read(0, 65536)
        if not chunk:
            return False
        self.pending += chunk
        return self.consume()

    def consume(self):
        data = self.pending
        i = 0
        while i < len(data):
            if data.startswith(b"\x1b[200~", i):
                end = data.find(b"\x1b[201~", i + 6)
                if end < 0:
                    break  # the rest of the paste has not arrived yet
                pasted = data[i + 6:end].decode("utf-8", "replace")
                self.input += pasted.replace("\r\n", "\n").replace("\r", "\n")
                i = end + 6
                continue
            byte = data[i:i + 1]
            if byte == b"\x1b":
                if i + 1 >= len(data):
                    # a lone Esc, unless the rest of a sequence is on its way
                    more, _, _ = select.select([0], [], [], 0.05)
                    if more:
                        break
                    self.on_escape()
                    i += 1
                    continue
                if data[i + 1:i + 2] == b"[":
                    j = i + 2
                    while j < len(data) and not (0x40 <= data[j] <= 0x7e):
                        j += 1
                    if j >= len(data):
                        break
                    i = j + 1  # an unhandled key sequence (arrows, ...): ignored
                    continue
                self.on_escape()
                i += 1
                continue
            if byte in (b"\r", b"\n"):
                if self.input.strip():
                    self.queue.append(self.input)
                self.input = ""
                i += 1
                continue
            if byte == b"\x03":
                return False
            if byte == b"\x7f":
                self.input = self.input[:-1]
                i += 1
                continue
            # one UTF-8 character
            n = 1
            lead = data[i]
            if lead >= 0xF0:
                n = 4
            elif lead >= 0xE0:
                n = 3
            elif lead >= 0xC0:
                n = 2
            if i + n > len(data):
                break
            self.input += data[i:i + n].decode("utf-8", "replace")
            i += n
        self.pending = data[i:]
        return True

    def on_escape(self):
        self.interrupted = True

    # ----- a turn --------------------------------------------------------------------------------
    def wait_busy(self, seconds, started, verb="Thinking"):
        """Animates the spinner for `seconds` (forever when None) while reading input."""
        end = None if seconds is None else time.monotonic() + seconds
        frame = 0
        while end is None or time.monotonic() < end:
            self.draw_busy(started, frame, verb)
            frame += 1
            step = 0.1 if end is None else min(0.1, max(0.0, end - time.monotonic()))
            if not self.read_input(step):
                raise KeyboardInterrupt
            if self.interrupted:
                return False
        return True

    def run_turn(self, task):
        self.turn += 1
        self.interrupted = False
        digest = hashlib.sha256(task.encode("utf-8")).hexdigest()
        directives = parse_directives(task)
        think = float(directives.get("think", 0.4 + int(digest[0], 16) % 8 / 10))
        count = int(directives.get("lines", 3 + int(digest[1], 16) % 4))
        line_count = task.count("\n") + 1

        # the echo of the user's message
        task_lines = task.split("\n")
        if len(task_lines) > 1 or len(task) > width() - 8:
            echo = [DIM + "> " + RESET + "[Pasted text #1 +%d lines]" % len(task_lines)]
        else:
            echo = [DIM + "> " + RESET + task_lines[0]]
        self.term.static(echo + [""])
        started = time.monotonic()
        self.log("task.txt", task)

        if "hang" in directives:
            self.term.static([GREEN_BULLET + " " + colour_words("Working on it: the first half is done, the rest is slow."), ""])
            self.log("answer.txt", "Working on it: the first half is done, the rest is slow.")
            self.wait_busy(None, started, "Hanging")
            self.term.static(["  ⎿  Interrupted by user", ""])
            self.draw_idle()
            return

        if not self.wait_busy(think / 2, started):
            return self.interrupted_turn()
        self.term.static([GREEN_BULLET + " " + BOLD + "Read" + RESET + "(src/Auth/Module.cs)",
                          "  ⎿  Read " + str(40 + count) + " lines (ctrl+r to expand)", ""])
        # an old spinner line kept in the transcript (extended thinking): must not count as busy
        self.term.static([PALETTE[1] + "✻" + RESET + " " + DIM + "Thinking…" + RESET, "",
                          GREEN_BULLET + " " + BOLD + "Update" + RESET + "(src/Auth/Module.cs)",
                          "  ⎿  Updated src/Auth/Module.cs with 2 additions and 1 removal",
                          "      ╭──────────────────────────────────────╮",
                          "      │ 12 -  var token = Read();            │",
                          "      │ 12 +  var token = await ReadAsync(); │",
                          "      ╰──────────────────────────────────────╯", ""])
        if not self.wait_busy(think / 2, started):
            return self.interrupted_turn()

        first = "Done. Task %s received whole: %d lines, %d chars." % (digest[:12], line_count, len(task))
        body = []
        for n in range(1, count + 1):
            words = " ".join(WORDS[int(digest[(n + k) % 64], 16)] for k in range(4))
            body.append("Line %d of %d: %s %s" % (n, count, words, digest[n % 56:n % 56 + 8]))
        table = [("checksum", digest[:12]), ("lines", str(line_count)), ("chars", str(len(task)))]
        tail = "All good."
        outcome = []
        if "outcome" in directives:
            outcome = ["=== CC_OUTCOME_START ===",
                       "COMPLETED: - answered task %s with %d lines" % (digest[:12], count),
                       "- checked the summary table",
                       "NOT_DONE: none",
                       "NOTES: stand-in turn %d" % self.turn,
                       "=== CC_OUTCOME_END ==="]

        screen = [GREEN_BULLET + " " + colour_words(first.replace(digest[:12], BOLD + digest[:12] + RESET))]
        screen += ["  " + colour_words(b) for b in body]
        inner = 32
        screen.append("  " + DIM + "╭─ Summary " + "─" * (inner - 10) + "╮" + RESET)
        for key, value in table:
            screen.append("  " + DIM + "│" + RESET + (" %-9s %s" % (key, value)).ljust(inner) + DIM + "│" + RESET)
        screen.append("  " + DIM + "╰" + "─" * inner + "╯" + RESET)
        screen.append("  " + tail)
        if outcome:
            screen.append("")
            screen += ["  " + line for line in outcome]
        screen.append("")
        self.term.static(screen)

        plain = [first] + body + ["%-9s %s" % (k, v) for k, v in table] + [tail] + ([""] + outcome if outcome else [])
        message = ([first.replace(digest[:12], "**" + digest[:12] + "**")] + body + [""]
                   + ["| %s | %s |" % (k, v) for k, v in table] + ["", tail] + ([""] + outcome if outcome else []))
        self.log("answer.txt", "\n".join(plain))
        self.log("message.md", "\n".join(message))
        self.draw_idle()
        self.run_stop_hooks("\n".join(message))

        linger = directives.get("linger")
        if linger is not None:
            self.wait_busy(float(linger), time.monotonic(), "Tidying")
            self.interrupted = False
            self.draw_idle()

    def interrupted_turn(self):
        self.term.static(["  ⎿  Interrupted by user", ""])
        self.draw_idle()

    def run_stop_hooks(self, message):
        try:
            with open(os.path.join(os.getcwd(), ".claude", "settings.json"), encoding="utf-8") as f:
                settings = json.load(f)
        except (OSError, ValueError):
            return
        payload = json.dumps({
            "session_id": "stand-in-%d" % os.getpid(),
            "transcript_path": "",
            "cwd": os.getcwd(),
            "hook_event_name": "Stop",
            "stop_hook_active": False,
            "last_assistant_message": message,
        })
        for group in settings.get("hooks", {}).get("Stop", []):
            for hook in group.get("hooks", []):
                if hook.get("type") == "command" and hook.get("command"):
                    result = subprocess.run(hook["command"], shell=True, input=payload.encode("utf-8"),
                                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                            timeout=hook.get("timeout", 60))
                    self.log("hook.txt", "exit %d\n%s%s" % (result.returncode, result.stdout.decode("utf-8", "replace"),
                                                          result.stderr.decode("utf-8", "replace")))

    def log(self, name, text):
        if self.log_dir:
            path = os.path.join(self.log_dir, "turn-%d.%s" % (self.turn, name))
            with open(path + ".tmp", "w", encoding="utf-8", newline="") as f:
                f.write(text)
            os.replace(path + ".tmp", path)

    def run(self):
        self.interrupted = False
        self.banner()
        self.draw_idle()
        while True:
            if self.queue:
                self.run_turn(self.queue.pop(0))
                continue
            if not self.read_input(1.0):
                return
            self.interrupted = False
            self.draw_idle()


def parse_directives(task):
    found = {}
    start = 0
    while True:
        i = task.find("[[", start)
        if i < 0:
            return found
        j = task.find("]]", i)
        if j < 0:
            return found
        body = task[i + 2:j]
        key, _, value = body.partition("=")
        found[key.strip()] = value.strip() if value else ""
        start = j + 2


def main():
    fd = 0
    saved = termios.tcgetattr(fd) if os.isatty(fd) else None
    if saved:
        tty.setraw(fd)
    write(ESC + "[?2004h")  # bracketed paste on
    try:
        Agent().run()
    except KeyboardInterrupt:
        pass
    finally:
        write(ESC + "[?2004l\r\n")
        if saved:
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)


if __name__ == "__main__":
    main()

using System.Text;

namespace CtxRelay.Bridge.Internal;

/// <summary>
/// Turns what an agent drew for one task into its answer as plain text. In order: ANSI escapes and
/// redraws resolved (<see cref="TerminalText"/>); the input area at the bottom cut off (empty prompt,
/// its box, the footer); everything up to and including the echoed task dropped; then, line by line,
/// spinners, progress bars, thinking notes, status and footer lines, tool calls with their
/// <c>⎿</c> results, box borders and prompts removed, boxed rows unboxed, message bullets removed, and
/// the common indentation and repeated blank lines taken out.
/// </summary>
internal static class ScreenCleaner
{
    /// <summary>How many non-blank lines from the bottom may belong to the input area and footer.</summary>
    private const int InputAreaSearchLines = 8;

    public static string Clean(string screenText, string? task = null)
        => Clean(TerminalText.Render(screenText), task);

    public static string Clean(IReadOnlyList<string> rendered, string? task = null)
    {
        var lines = new List<string>(rendered.Count);
        foreach (var line in rendered)
        {
            // Already-plain input may still carry escapes or redraws (e.g. a fixture); render per line.
            lines.Add(line.AsSpan().IndexOfAny("\u001b\r\b\t") < 0 ? line.TrimEnd() : string.Join(' ', TerminalText.Render(line)).TrimEnd());
        }

        CutInputArea(lines);
        DropThroughEcho(lines, task);
        var kept = StripChrome(lines);
        return Tidy(kept);
    }

    /// <summary>Removes the empty prompt at the bottom, with its box and everything under it.</summary>
    private static void CutInputArea(List<string> lines)
    {
        var seen = 0;
        for (var row = lines.Count - 1; row >= 0 && seen < InputAreaSearchLines; row--)
        {
            if (string.IsNullOrWhiteSpace(lines[row]))
            {
                continue;
            }

            seen++;
            if (Chrome.EmptyPromptLine().IsMatch(lines[row]))
            {
                var top = row > 0 && Chrome.IsBorder(lines[row - 1]) ? row - 1 : row;
                lines.RemoveRange(top, lines.Count - top);
                return;
            }
        }
    }

    /// <summary>
    /// Drops what precedes the echoed task and the echo itself. The echo is the last prompt line
    /// that starts the task's text (or shows Claude Code's <c>[Pasted text #1 +N lines]</c>), with the
    /// lines that continue the task after it; without such a line, the first prompt line before any
    /// assistant message.
    /// </summary>
    private static void DropThroughEcho(List<string> lines, string? task)
    {
        var normalizedTask = task is null ? null : Normalize(task);
        var echo = -1;
        if (normalizedTask is { Length: > 0 })
        {
            for (var row = lines.Count - 1; row >= 0 && echo < 0; row--)
            {
                if (IsEchoOf(lines[row], normalizedTask))
                {
                    echo = row;
                }
            }
        }

        for (var row = 0; row < lines.Count && echo < 0; row++)
        {
            if (Chrome.MessageBullet().IsMatch(lines[row]))
            {
                break; // the answer has started: no echo on screen
            }

            if (Chrome.PromptLine().IsMatch(lines[row]) && !Chrome.EmptyPromptLine().IsMatch(lines[row]))
            {
                echo = row;
            }
        }

        if (echo < 0)
        {
            return;
        }

        var end = echo + 1;
        var first = StripPromptMarker(lines[echo]);
        if (normalizedTask is not null && !Chrome.PastedText().IsMatch(first))
        {
            var head = Normalize(first);
            if (head.Length > 0 && normalizedTask.StartsWith(head, StringComparison.Ordinal))
            {
                var remaining = normalizedTask[head.Length..].TrimStart();
                while (remaining.Length > 0 && end < lines.Count)
                {
                    // Blank lines inside the task are echoed too: skip them when the task goes on after them.
                    var row = end;
                    while (row < lines.Count && string.IsNullOrWhiteSpace(lines[row]))
                    {
                        row++;
                    }

                    var next = row < lines.Count ? Normalize(lines[row]) : string.Empty;
                    if (next.Length == 0 || !remaining.StartsWith(next, StringComparison.Ordinal))
                    {
                        break;
                    }

                    remaining = remaining[next.Length..].TrimStart();
                    end = row + 1;
                }
            }
        }

        lines.RemoveRange(0, end);
    }

    private static bool IsEchoOf(string line, string normalizedTask)
    {
        if (!Chrome.PromptLine().IsMatch(line) || Chrome.EmptyPromptLine().IsMatch(line))
        {
            return false;
        }

        var content = StripPromptMarker(line);
        if (Chrome.PastedText().IsMatch(content))
        {
            return true;
        }

        var head = Normalize(content);
        return head.Length > 0 && normalizedTask.StartsWith(head, StringComparison.Ordinal);
    }

    private static List<string> StripChrome(List<string> lines)
    {
        var kept = new List<string>(lines.Count);
        var inTool = false;
        var inThinking = false;
        foreach (var raw in lines)
        {
            if (inThinking && (string.IsNullOrWhiteSpace(raw) || char.IsWhiteSpace(raw[0])))
            {
                continue; // the thinking text under a thinking note, up to the next message
            }

            inThinking = false;
            if (string.IsNullOrWhiteSpace(raw))
            {
                inTool = false;
                kept.Add(string.Empty);
                continue;
            }

            if (inTool && char.IsWhiteSpace(raw[0]) && !Chrome.MessageBullet().IsMatch(raw))
            {
                continue; // more of a tool call or its result
            }

            inTool = false;
            if (Chrome.ToolCall().IsMatch(raw) || Chrome.ToolResult().IsMatch(raw))
            {
                inTool = true;
                continue;
            }

            if (Chrome.ThinkingNote().IsMatch(raw))
            {
                inThinking = true;
                continue;
            }

            if (Chrome.IsBusy(raw) || Chrome.ProgressBar().IsMatch(raw)
                || Chrome.IsStatusLine(raw) || Chrome.EmptyPromptLine().IsMatch(raw) || Chrome.IsBorder(raw))
            {
                continue;
            }

            var line = raw;
            if (Chrome.BoxedRow().Match(line) is { Success: true } boxed)
            {
                var inner = boxed.Groups[2].Value;
                inner = inner.StartsWith(' ') ? inner[1..] : inner;
                if (string.IsNullOrWhiteSpace(inner))
                {
                    continue;
                }

                line = boxed.Groups[1].Value + inner.TrimEnd();
            }

            line = Chrome.MessageBullet().Replace(line, "$1 $2", 1);
            kept.Add(line.TrimEnd());
        }

        return kept;
    }

    /// <summary>Removes the common indentation, repeated blank lines, and blank lines at both ends.</summary>
    private static string Tidy(List<string> lines)
    {
        var indent = int.MaxValue;
        foreach (var line in lines)
        {
            if (line.Length > 0)
            {
                indent = Math.Min(indent, line.Length - line.TrimStart().Length);
            }
        }

        if (indent == int.MaxValue)
        {
            return string.Empty;
        }

        var builder = new StringBuilder();
        var blank = false;
        foreach (var line in lines)
        {
            if (line.Length == 0)
            {
                blank = builder.Length > 0;
                continue;
            }

            if (blank)
            {
                builder.Append('\n');
                blank = false;
            }

            if (builder.Length > 0)
            {
                builder.Append('\n');
            }

            builder.Append(line, indent, line.Length - indent);
        }

        return builder.ToString();
    }

    private static string StripPromptMarker(string line)
    {
        var t = line.TrimStart().TrimStart('│', '┃', '║', '|').TrimStart();
        t = t.Length > 0 && t[0] is '>' or '❯' or '›' ? t[1..] : t;
        return t.Trim().TrimEnd('│', '┃', '║', '|').Trim();
    }

    /// <summary>Whitespace runs become one space, so wrapped or re-indented echo lines compare with the task.</summary>
    private static string Normalize(string text)
    {
        var builder = new StringBuilder(text.Length);
        var space = false;
        foreach (var c in text)
        {
            if (char.IsWhiteSpace(c))
            {
                space = builder.Length > 0;
                continue;
            }

            if (space)
            {
                builder.Append(' ');
                space = false;
            }

            builder.Append(c);
        }

        return builder.ToString();
    }
}

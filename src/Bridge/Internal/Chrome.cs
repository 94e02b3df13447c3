using System.Text.RegularExpressions;

namespace CtxRelay.Bridge.Internal;

/// <summary>
/// What a TUI coding agent draws around its answer (Claude Code's look: a boxed <c>&gt;</c> prompt,
/// <c>✻ Thinking… (esc to interrupt)</c> spinners, <c>⏺ Tool(args)</c> calls with <c>⎿</c> results,
/// a footer). Patterns run on plain text: strip ANSI first, since agents colour word by word.
/// </summary>
internal static partial class Chrome
{
    /// <summary>An input prompt line, empty or not: <c>&gt;</c>, <c>❯</c> or <c>›</c>, possibly inside a box.</summary>
    [GeneratedRegex(@"^\s*[│┃║|]?\s*[>❯›](\s|$)")]
    public static partial Regex PromptLine();

    /// <summary>An empty input prompt: the agent waits for input.</summary>
    [GeneratedRegex(@"^\s*[│┃║|]?\s*[>❯›]\s*[│┃║|]?\s*$")]
    public static partial Regex EmptyPromptLine();

    /// <summary>A spinner: one glyph, one word with an ellipsis, optionally a parenthesised status.</summary>
    [GeneratedRegex(@"^\s*[·✢✳✶✻✽✺✹✸✷*⋆]\s+\p{L}[\p{L}\p{M}'’-]*(…|\.\.\.)(\s*\(.*\))?\s*$")]
    public static partial Regex SpinnerLine();

    [GeneratedRegex(@"esc to interrupt", RegexOptions.IgnoreCase)]
    public static partial Regex InterruptHint();

    [GeneratedRegex(@"^\s*[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏⣾⣽⣻⢿⡿⣟⣯⣷]\s")]
    public static partial Regex BrailleSpinner();

    /// <summary>A thinking note left in the transcript (<c>✻ Thinking…</c>, <c>✻ Thought for 5s</c>).</summary>
    [GeneratedRegex(@"^\s*[✻∴✽]\s+(Thinking|Thought for)\b")]
    public static partial Regex ThinkingNote();

    /// <summary>A progress bar with a percentage.</summary>
    [GeneratedRegex(@"^\s*\[?[#=█▓▒░■━▰]{3,}[\s#=█▓▒░■□━─▱·.>-]*\]?\s*\d{1,3}(\.\d+)?\s?%")]
    public static partial Regex ProgressBar();

    /// <summary>Footer and status lines under the prompt.</summary>
    [GeneratedRegex(@"\? for shortcuts|⏵⏵|shift\+tab to cycle|Context left until auto-compact|auto-accept edits|plan mode on|bypass permissions on|Press Ctrl-C again to exit", RegexOptions.IgnoreCase)]
    public static partial Regex Footer();

    /// <summary>
    /// Claude Code's note at the end of a turn (<c>✻ Cooked for 6s · done 6:30 AM</c>, <c>✻ Worked for 1m 5s</c>):
    /// a glyph, a word, "for" and a duration — no ellipsis, so it is not a live spinner.
    /// </summary>
    [GeneratedRegex(@"^\s*[·✢✳✶✻✽*]\s+\p{L}[\p{L}'’-]*\s+for\s+\d+(\.\d+)?[hms](\s*\d+(\.\d+)?[hms])*(\s+·\s.*)?\s*$")]
    public static partial Regex TurnSummary();

    /// <summary>Claude Code's collapsed tool calls: <c>Called contextrelay (ctrl+o to expand)</c>, <c>Read 2 files (ctrl+o to expand)</c>.</summary>
    [GeneratedRegex(@"\((ctrl|ctrl\+shift)\+o to expand\)\s*$", RegexOptions.IgnoreCase)]
    public static partial Regex CollapsedToolCall();

    /// <summary>Claude Code's effort indicator (<c>◐ medium · /effort</c>), drawn above the prompt by the fullscreen renderer.</summary>
    [GeneratedRegex(@"^\s*[◐◑◒◓○◔◕]\s+\p{L}+\s+·\s+/effort\s*$")]
    public static partial Regex EffortIndicator();

    /// <summary>A tool call: <c>⏺ Read(src/x.cs)</c>, <c>⏺ Bash(npm test</c> (may wrap), <c>⏺ ctx - search (MCP)(q: "x")</c>.</summary>
    [GeneratedRegex(@"^\s{0,2}[⏺●]\s+[\w.:/-]+(\s+-\s+[\w.:/ -]+)?(\s*\(MCP\))?\(")]
    public static partial Regex ToolCall();

    /// <summary>A tool result line (<c>  ⎿  Read 42 lines</c>).</summary>
    [GeneratedRegex(@"^\s*⎿")]
    public static partial Regex ToolResult();

    /// <summary>The bullet in front of an assistant message.</summary>
    [GeneratedRegex(@"^(\s{0,2})[⏺●](\s)")]
    public static partial Regex MessageBullet();

    /// <summary>Claude Code's stand-in for a long paste in the echo: <c>[Pasted text #1 +40 lines]</c>.</summary>
    [GeneratedRegex(@"^\[Pasted text #\d+(\s*\+\d+ lines)?\]")]
    public static partial Regex PastedText();

    /// <summary>A row of a box: <c>│ content │</c>.</summary>
    [GeneratedRegex(@"^(\s*)[│┃║](.*?)[│┃║]\s*$")]
    public static partial Regex BoxedRow();

    /// <summary>A line of status rather than answer: the footer, the end-of-turn note, a collapsed tool call, the effort indicator.</summary>
    public static bool IsStatusLine(string line)
        => Footer().IsMatch(line) || TurnSummary().IsMatch(line) || CollapsedToolCall().IsMatch(line) || EffortIndicator().IsMatch(line);

    public static bool IsBusy(string line)
        => SpinnerLine().IsMatch(line) || InterruptHint().IsMatch(line) || BrailleSpinner().IsMatch(line);

    /// <summary>A border: only box-drawing characters, or a corner at each end (<c>╭─ Title ─╮</c>).</summary>
    public static bool IsBorder(string line)
    {
        var t = line.AsSpan().Trim();
        if (t.IsEmpty)
        {
            return false;
        }

        var onlyBox = true;
        foreach (var c in t)
        {
            if (!IsBoxDrawing(c) && c != ' ')
            {
                onlyBox = false;
                break;
            }
        }

        return onlyBox || ("╭┌╰└├┏┗╔╚┍┕╞".Contains(t[0]) && "╮┐╯┘┤┓┛╗╝┑┙╡".Contains(t[^1]));
    }

    public static bool IsBoxDrawing(char c) => c is >= '\u2500' and <= '\u257F';
}

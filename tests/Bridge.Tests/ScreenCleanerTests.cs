using CtxRelay.Bridge.Internal;

namespace CtxRelay.Bridge.Tests;

/// <summary>The stripping, on screens captured from the stand-in and on Claude Code-like screens.</summary>
public sealed class ScreenCleanerTests
{
    private const string StandInTask = "Add retry to the HTTP client [[lines=30]] [[think=1.2]]";

    private static string Fixture(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", name));

    [Theory]
    [InlineData("standin-capture.screen.txt")] // tmux capture-pane -J of the whole scrollback: banner, echo, tools, answer, prompt
    [InlineData("standin-ansi.screen.txt")] // the same with -e: colours on every word
    [InlineData("standin-raw.screen.txt")] // the raw pty stream (pipe-pane): \r, cursor-up and erase redraws of the spinner
    public void StandInScreens_CleanToExactlyItsAnswer(string fixture)
    {
        var cleaned = ScreenCleaner.Clean(Fixture(fixture), StandInTask);

        Assert.Equal(Fixture("standin.expected.txt"), cleaned);
    }

    [Fact]
    public void ClaudeCodeScreen_KeepsTheMessages_DropsEverythingElse()
    {
        // Scrollback before the task, a wrapped echo, tool calls with ⎿ results and diffs, a thinking
        // note, a table, the boxed prompt and a footer.
        var cleaned = ScreenCleaner.Clean(Fixture("claude-code-answer.screen.txt"), Fixture("claude-code-answer.task.txt"));

        Assert.Equal(Fixture("claude-code-answer.expected.txt"), cleaned);
    }

    [Fact]
    public void EchoedTaskWithBlankLines_IsDroppedWhole_NotLeakedIntoTheAnswer()
    {
        // Claude Code echoes a short multi-paragraph task in full: its blank lines are part of the echo.
        var cleaned = ScreenCleaner.Clean(Fixture("claude-code-blank-line.screen.txt"), Fixture("claude-code-blank-line.task.txt"));

        Assert.Equal(Fixture("claude-code-blank-line.expected.txt"), cleaned);
    }

    [Fact]
    public void ClaudeCodeIdleScreen_WithRuledPrompt_CleansToTheAnswer()
    {
        var cleaned = ScreenCleaner.Clean(Fixture("claude-code-idle.screen.txt"));

        Assert.Equal(Fixture("claude-code-idle.expected.txt"), cleaned);
    }

    [Fact]
    public void WordByWordColours_AreStrippedBeforeMatching()
    {
        // Each word of the spinner and of the footer in its own colour: only plain text can match.
        var screen = "\u001b[32m⏺\u001b[0m \u001b[1mAll\u001b[0m \u001b[36mtests\u001b[0m \u001b[33mpass.\u001b[0m\r\n"
            + "\u001b[38;5;174m✻\u001b[0m \u001b[1mThinking…\u001b[0m \u001b[2m(3s · \u001b[1mesc\u001b[0m\u001b[2m to interrupt)\u001b[0m\r\n"
            + "\u001b[2m╭────────╮\u001b[0m\r\n\u001b[2m│\u001b[0m >      \u001b[2m│\u001b[0m\r\n\u001b[2m╰────────╯\u001b[0m\r\n"
            + "\u001b[2m  \u001b[1m?\u001b[0m\u001b[2m for shortcuts\u001b[0m\r\n";

        Assert.Equal("All tests pass.", ScreenCleaner.Clean(screen));
    }

    [Fact]
    public void CarriageReturnRedraws_LeaveOnlyTheFinalText()
    {
        var screen = "⠋ Waiting for the model…\r⠙ Waiting for the model…\r\u001b[K\u001b[32m●\u001b[0m Fixed the off-by-one in Pager.cs.\r\n"
            + "  Progress: [#####     ] 50%\r  Progress: [##########] 100%\r\u001b[2K  The pager now includes the last item.\r\n";

        Assert.Equal("Fixed the off-by-one in Pager.cs.\nThe pager now includes the last item.", ScreenCleaner.Clean(screen));
    }

    [Fact]
    public void ProgressBarsAndSpinnersAlone_AreDropped_ButAnswerLinesThatLookSimilarStay()
    {
        var screen = string.Join('\n',
            "● Summary:",
            "  ████████████░░░░░░░░ 60%",
            "  ✶ Compacting…",
            "  * Note: retries are capped at three… see RetryPolicy.",
            "  Progress was 60% at noon.");

        Assert.Equal("Summary:\n* Note: retries are capped at three… see RetryPolicy.\nProgress was 60% at noon.", ScreenCleaner.Clean(screen));
    }

    [Fact]
    public void PastedTaskEcho_IsDropped_WithEverythingBeforeIt()
    {
        var screen = string.Join('\n',
            "⏺ An older answer that scrolled past.",
            "",
            "> [Pasted text #1 +12 lines]",
            "",
            "⏺ Done: 12 items renamed.");

        Assert.Equal("Done: 12 items renamed.", ScreenCleaner.Clean(screen, "rename\nthese\nitems"));
    }

    [Fact]
    public void NothingButChrome_CleansToEmpty()
    {
        var screen = Fixture("standin-busy.screen.txt");
        var lines = screen.Split('\n');
        var fromEcho = string.Join('\n', lines.SkipWhile(l => !l.StartsWith("> Investigate", StringComparison.Ordinal)));

        Assert.Equal(string.Empty, ScreenCleaner.Clean(fromEcho, "Investigate the flaky test [[hang]]"));
    }
}

using CtxRelay.Bridge.Internal;
using CtxRelay.ClaudeCode.Tests.Support;

namespace CtxRelay.ClaudeCode.Tests;

/// <summary>
/// The bridge's screen reading and stripping on screens of the real Claude Code 2.1.331 TUI (classic
/// renderer, 100×30 pane), saved with <c>tmux capture-pane -p -e -J -S -</c> exactly as the bridge reads
/// them: the whole scrollback with colours (Fixtures/*.screen.txt).
/// </summary>
public sealed class ScreenTests
{
    private const string MultiLineTask = "Fix the flaky test in Pager.cs.\nKeep the public API.\nSLOW: run the tests after.";

    private static string Fixture(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", name));

    /// <summary>The visible screen of a fixture: its last 30 rows, as the bridge's plain <c>capture-pane</c> sees them.</summary>
    private static List<string> VisibleScreen(string name)
    {
        var lines = TerminalText.Render(Fixture(name));
        return lines.Count > 30 ? lines[^30..] : lines;
    }

    [Fact]
    public void IdleScreen_AfterStart_ShowsThePrompt_NotBusy()
    {
        var reading = ScreenReader.Read(VisibleScreen("idle.screen.txt"));

        Assert.True(reading.PromptVisible);
        Assert.False(reading.Busy);
        Assert.Equal("────", VisibleScreen("idle.screen.txt")[reading.InputAreaTop][..4]); // the rule above ❯
    }

    [Fact]
    public void BusyScreen_WithSpinnerAndEscToInterrupt_IsBusy_AndCleansToNothing()
    {
        var reading = ScreenReader.Read(VisibleScreen("busy.screen.txt"));

        Assert.True(reading.Busy);
        Assert.True(reading.PromptVisible);
        Assert.Equal(string.Empty, ScreenCleaner.Clean(Fixture("busy.screen.txt"), MultiLineTask));
    }

    [Fact]
    public void AnsweredScreen_IsIdle_AndCleansToTheRenderedAnswer()
    {
        // Banner, the multi-line echo (grey background), the answer with a list, a code block and a
        // table, the "✻ Cooked for 6s · done 6:30 AM" note, the ruled prompt and the footer.
        var reading = ScreenReader.Read(VisibleScreen("answered.screen.txt"));
        var cleaned = ScreenCleaner.Clean(Fixture("answered.screen.txt"), MultiLineTask);

        Assert.False(reading.Busy);
        Assert.True(reading.PromptVisible);
        Assert.Equal(Fixture("answered.expected.txt"), cleaned);
    }

    [Fact]
    public void FullscreenRendererScreen_CleansToTheSameAnswer()
    {
        // The fullscreen renderer (alternate screen): the capture is the visible screen only.
        var reading = ScreenReader.Read(VisibleScreen("fullscreen-answered.screen.txt"));
        var cleaned = ScreenCleaner.Clean(Fixture("fullscreen-answered.screen.txt"), "SLOW Fix it");

        Assert.False(reading.Busy);
        Assert.True(reading.PromptVisible);
        Assert.Equal(Fixture("answered.expected.txt"), cleaned);
    }

    [Fact]
    public void LongAnswer_LongerThanTheScreen_CleansToExactlyTheModelsText()
    {
        var cleaned = ScreenCleaner.Clean(Fixture("long-answer.screen.txt"), "LONG answer please");

        Assert.Equal(Answers.LongAnswer(80), cleaned);
    }

    [Fact]
    public void CollapsedMcpToolCall_IsDropped_TheAnswerAfterItKept()
    {
        // "Called contextrelay (ctrl+o to expand)": how 2.1.331 shows an MCP call in the transcript.
        var cleaned = ScreenCleaner.Clean(Fixture("mcp-tool.screen.txt"), "Please PUSHIT to the relay");

        Assert.Equal("Pushed it. The next agent can pull it from\nhttp://127.0.0.1:18787/pull/ceaa11bc-c961-4a37-8e02-62812d92075c", cleaned);
    }

    [Theory]
    [InlineData("✻ Cooked for 6s · done 6:30 AM")]
    [InlineData("✻ Worked for 1m 5s")]
    [InlineData("✻ Sautéed for 0s · done 6:29 AM")]
    [InlineData("                                                                                ◐ medium · /effort")]
    public void TurnSummary_IsStatus_NotBusy(string line)
    {
        Assert.True(Chrome.IsStatusLine(line));
        Assert.False(Chrome.IsBusy(line));
    }

    [Theory]
    [InlineData("* Note: the retry runs for 5s at most.")]
    [InlineData("The build ran for 3m and passed.")]
    [InlineData("✻ Thinking… (esc to interrupt)")]
    public void AnswerLinesAndSpinners_AreNotTurnSummaries(string line)
        => Assert.DoesNotMatch(Chrome.TurnSummary(), line);
}

using CtxRelay.Bridge.Internal;

namespace CtxRelay.Bridge.Tests;

/// <summary>Busy and prompt detection on captured screens: only the last lines decide.</summary>
public sealed class ScreenReaderTests
{
    private static string[] Screen(string name)
        => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", name)).TrimEnd('\n').Split('\n');

    [Fact]
    public void StandInThinking_IsBusy_WithThePromptShowing()
    {
        var reading = ScreenReader.Read(Screen("standin-busy.screen.txt"));

        Assert.True(reading.Busy);
        Assert.True(reading.PromptVisible);
    }

    [Fact]
    public void ClaudeCodeWorking_IsBusy()
    {
        var reading = ScreenReader.Read(Screen("claude-code-busy.screen.txt"));

        Assert.True(reading.Busy);
        Assert.True(reading.PromptVisible);
    }

    [Fact]
    public void OldSpinnerLineInTheScrollback_DoesNotCount()
    {
        // The screen still shows '✻ Thinking… (esc to interrupt)' higher up, but the turn is over.
        var screen = Screen("claude-code-idle.screen.txt");
        Assert.Contains(screen, line => Chrome.IsBusy(line));

        var reading = ScreenReader.Read(screen);

        Assert.False(reading.Busy);
        Assert.True(reading.PromptVisible);
    }

    [Fact]
    public void FinishedStandIn_IsIdle_AndTheInputAreaStartsAtTheBoxTop()
    {
        var screen = Screen("standin-capture.screen.txt");

        var reading = ScreenReader.Read(screen);

        Assert.False(reading.Busy);
        Assert.True(reading.PromptVisible);
        Assert.StartsWith("╭", screen[reading.InputAreaTop], StringComparison.Ordinal);
        Assert.StartsWith("│ >", screen[reading.InputAreaTop + 1], StringComparison.Ordinal);
    }

    [Fact]
    public void NoPrompt_ButASpinnerAtTheBottom_IsBusyWithoutAPrompt()
    {
        var reading = ScreenReader.Read(["$ agent run", "⠙ Waiting for the model…", ""]);

        Assert.True(reading.Busy);
        Assert.False(reading.PromptVisible);
    }

    [Fact]
    public void CustomPromptPattern_IsUsed()
    {
        var reading = ScreenReader.Read(["answer", "aider> "], new System.Text.RegularExpressions.Regex(@"^aider>\s*$"));

        Assert.True(reading.PromptVisible);
        Assert.Equal(1, reading.InputAreaTop);
    }
}

using CtxRelay.Bridge.Tests.Support;

namespace CtxRelay.Bridge.Tests;

/// <summary>A mistyped command or option is one line naming the nearest valid one, exit code 2 — never the whole help.</summary>
public sealed class UsageErrorTests
{
    [Theory]
    [InlineData(new[] { "strat" }, "did you mean 'start'?")]
    [InlineData(new[] { "start", "--tmx", "agent" }, "did you mean '--tmux'?")]
    [InlineData(new[] { "send", "--tsk-channel", "x", "task" }, "did you mean '--task-channel'?")]
    public async Task A_typo_is_one_line_with_the_nearest_valid_name_and_exit_code_2(string[] args, string expected)
    {
        var (exitCode, output, error) = await BridgeTool.RunAsync(args);

        Assert.Equal(2, exitCode);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Single(error.Trim().Split('\n'));
        Assert.Equal(string.Empty, output);
    }
}

using System.Text.Json.Nodes;
using CtxRelay.Bridge.Tests.Support;
using CtxRelay.Testing;

namespace CtxRelay.Bridge.Tests;

/// <summary>The command line: clear one-line errors, status, stop, signal-done and install-hook.</summary>
[Collection(TmuxCollection.Name)]
public sealed class CliTests(RelayFixture relay) : IClassFixture<RelayFixture>
{
    [Fact]
    public async Task Start_WithoutTmux_SaysToInstallIt()
    {
        var (exitCode, _, error) = await BridgeTool.RunAsync(
            ["start", "--tmux", "agent", "--task-channel", "t", "--done-channel", "d", "--relay-url", relay.BaseUrl, "--api-key", relay.ApiKey],
            new Dictionary<string, string?> { ["PATH"] = "/nonexistent" });

        Assert.Equal(BridgeCli.ExitError, exitCode);
        BridgeTool.AssertOneLineError(error, "tmux is not installed or not on PATH");
    }

    [Fact]
    public async Task Start_WithoutATmuxServer_SaysSo()
    {
        var (exitCode, _, error) = await StartAsync("--tmux", "agent", "-L", "crb-none-" + Guid.NewGuid().ToString("N")[..8]);

        Assert.Equal(BridgeCli.ExitError, exitCode);
        BridgeTool.AssertOneLineError(error, "No tmux server is running");
    }

    [Fact]
    public async Task Start_OnAnUnknownSession_SaysSo()
    {
        await using var server = await TmuxServer.StartShellAsync();

        var (exitCode, _, error) = await StartAsync("--tmux", "nope", "-L", server.Socket);

        Assert.Equal(BridgeCli.ExitError, exitCode);
        BridgeTool.AssertOneLineError(error, "The tmux session 'nope' does not exist");
    }

    [Fact]
    public async Task Start_OnAnUnknownPane_SaysSo()
    {
        await using var server = await TmuxServer.StartShellAsync();

        var (exitCode, _, error) = await StartAsync("--tmux", TmuxServer.Session, "--pane", "7", "-L", server.Socket);

        Assert.Equal(BridgeCli.ExitError, exitCode);
        BridgeTool.AssertOneLineError(error, "has no pane '7'");
    }

    [Fact]
    public async Task Start_WithAKeyTheRelayRejects_SaysSo()
    {
        await using var server = await TmuxServer.StartShellAsync();

        var (exitCode, _, error) = await Wait.For(
            BridgeTool.InvokeAsync(
                "start", "--tmux", TmuxServer.Session, "-L", server.Socket, "--state-dir", server.StateDirectory,
                "--task-channel", "t", "--done-channel", "d", "--relay-url", relay.BaseUrl, "--api-key", "cr_live_not_a_real_key"),
            "start to fail");

        Assert.Equal(BridgeCli.ExitError, exitCode);
        BridgeTool.AssertOneLineError(error, "rejected the API key");
    }

    [Fact]
    public async Task Status_AndStop_FollowARunningBridge()
    {
        await using var server = await TmuxServer.StartStandInAsync();
        var pane = new[] { "--tmux", TmuxServer.Session, "-L", server.Socket, "--state-dir", server.StateDirectory };
        var tasks = "tasks-" + Guid.NewGuid().ToString("N")[..8];

        var notYet = await BridgeTool.InvokeAsync(["status", .. pane]);
        var running = BridgeTool.InvokeAsync(
            ["start", .. pane, "--task-channel", tasks, "--done-channel", "done-x", "--relay-url", relay.BaseUrl, "--api-key", relay.ApiKey]);
        await Wait.Until(async () => (await BridgeTool.InvokeAsync(["status", .. pane])).ExitCode == 0, "status to see the bridge");
        var status = await BridgeTool.InvokeAsync(["status", .. pane]);
        var all = await BridgeTool.InvokeAsync("status", "--json", "--state-dir", server.StateDirectory);
        var second = await Wait.For(
            BridgeTool.InvokeAsync(["start", .. pane, "--task-channel", "other", "--done-channel", "done-y", "--relay-url", relay.BaseUrl, "--api-key", relay.ApiKey]),
            "a second start to fail");
        var stop = await BridgeTool.InvokeAsync(["stop", .. pane]);
        var exit = await Wait.For(running, "the bridge to exit");
        var after = await BridgeTool.InvokeAsync(["status", .. pane]);

        Assert.Equal(BridgeCli.ExitNotRunning, notYet.ExitCode);
        Assert.Contains("No bridge is running", notYet.Output, StringComparison.Ordinal);
        Assert.Contains($"Bridge running on {TmuxServer.Session}:0.0", status.Output, StringComparison.Ordinal);
        Assert.Contains($"tasks from '{tasks}', results to 'done-x'", status.Output, StringComparison.Ordinal);
        Assert.Contains("now: idle", status.Output, StringComparison.Ordinal);
        Assert.Equal(tasks, JsonNode.Parse(all.Output)![0]!["task_channel"]!.GetValue<string>());
        Assert.Equal(BridgeCli.ExitError, second.ExitCode);
        BridgeTool.AssertOneLineError(second.Error, "already serves");
        Assert.Equal(0, stop.ExitCode);
        Assert.Contains("Stopped the bridge", stop.Output, StringComparison.Ordinal);
        Assert.Equal(0, exit.ExitCode);
        Assert.Equal(BridgeCli.ExitNotRunning, after.ExitCode);
    }

    [Fact]
    public async Task Start_OnAWindowThatDoesNotExist_SaysSo()
    {
        await using var server = await TmuxServer.StartShellAsync();

        var (exitCode, _, error) = await StartAsync("--tmux", TmuxServer.Session, "--window", "9", "-L", server.Socket);

        Assert.Equal(BridgeCli.ExitError, exitCode);
        BridgeTool.AssertOneLineError(error, "has no window '9'");
    }

    [Fact]
    public async Task SignalDone_WithNoBridge_ExitsZero_SoTheHookNeverDisturbsTheAgent()
    {
        await using var server = await TmuxServer.StartShellAsync();

        var (exitCode, _, error) = await BridgeTool.InvokeAsync(
            "signal-done", "--tmux", TmuxServer.Session, "-L", server.Socket, "--state-dir", server.StateDirectory, "--message", "hi");

        Assert.Equal(0, exitCode);
        Assert.Contains("No bridge is running", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InstallHook_WritesTheStopHook()
    {
        var project = Path.Combine(Path.GetTempPath(), "crb-cli", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(project);
        try
        {
            var first = await BridgeTool.InvokeAsync("install-hook", "--project", project);
            var again = await BridgeTool.InvokeAsync("install-hook", "--project", project);

            Assert.Equal(0, first.ExitCode);
            Assert.Contains("Added the Stop hook 'contextrelay-bridge signal-done'", first.Output, StringComparison.Ordinal);
            Assert.Contains("already has the Stop hook", again.Output, StringComparison.Ordinal);
            var settings = JsonNode.Parse(File.ReadAllText(Path.Combine(project, ".claude", "settings.json")))!;
            Assert.Equal("contextrelay-bridge signal-done", settings["hooks"]!["Stop"]![0]!["hooks"]![0]!["command"]!.GetValue<string>());
        }
        finally
        {
            Directory.Delete(project, recursive: true);
        }
    }

    [Fact]
    public async Task BadDuration_IsAParseError()
    {
        var (exitCode, _, error) = await StartAsync("--tmux", "agent", "--task-timeout", "soon");

        Assert.NotEqual(0, exitCode);
        Assert.Contains("--task-timeout 'soon' is not a positive duration", error, StringComparison.Ordinal);
    }

    private Task<(int ExitCode, string Output, string Error)> StartAsync(params string[] args)
        => Wait.For(
            BridgeTool.InvokeAsync(["start", .. args, "--task-channel", "t", "--done-channel", "d", "--relay-url", relay.BaseUrl, "--api-key", relay.ApiKey]),
            "start to fail");
}

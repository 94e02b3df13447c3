using System.Diagnostics;
using CtxRelay.Bridge.Tests.Support;
using CtxRelay.Testing;
using Xunit.Abstractions;

namespace CtxRelay.Bridge.Tests;

/// <summary>
/// <c>start --exec CMD</c>: a real <c>/bin/sh</c> command per task instead of a tmux pane, on a real relay;
/// the structured outcome, the maximum task age and <c>send</c>.
/// </summary>
public sealed class ExecBridgeTests(RelayFixture relay, ITestOutputHelper output) : IClassFixture<RelayFixture>, IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly TemporaryDirectory _scratch = new("exec-bridge");

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public async Task TheCommandGetsTheTaskOnStdin_ItsOutputIsTheAnswer()
    {
        await using var bridge = await StartAsync("tr a-z A-Z");
        using var client = relay.CreateClient();

        var result = await new AgentBridge(client, bridge.TaskChannel, bridge.DoneChannel)
            .PushAndWaitForResultAsync("rename the config keys\nand update the docs", Patience);

        Assert.Equal(AgentTaskStatus.Done, result.Status);
        Assert.Equal("RENAME THE CONFIG KEYS\nAND UPDATE THE DOCS", result.Output);
        Assert.True(result.Correlated);
        Assert.Null(result.Outcome);
    }

    [Fact]
    public async Task ANonZeroExit_IsStatusError_WithStdoutAndStderrInTheOrderWritten()
    {
        await using var bridge = await StartAsync("echo first; echo 'to stderr' >&2; cat; exit 3");
        using var client = relay.CreateClient();

        var result = await new AgentBridge(client, bridge.TaskChannel, bridge.DoneChannel).PushAndWaitForResultAsync("the task", Patience);
        var error = await Assert.ThrowsAsync<AgentBridgeException>(
            () => new AgentBridge(client, bridge.TaskChannel, bridge.DoneChannel).PushAndWaitAsync("again", Patience));

        Assert.Equal(AgentTaskStatus.Error, result.Status);
        Assert.Equal("first\nto stderr\nthe task", result.Output);
        Assert.Equal(AgentTaskStatus.Error, error.Status);
        Assert.Equal("first\nto stderr\nagain", error.Output);
    }

    [Fact]
    public async Task AtTheTimeout_TheCommandIsKilledWithEveryProcessItStarted()
    {
        var pidFile = Path.Combine(_scratch.Path, "child.pid");
        await using var bridge = await StartAsync($"sleep 600 & echo $! > '{pidFile}'; echo 'half done'; wait", taskTimeout: TimeSpan.FromSeconds(3));
        using var client = relay.CreateClient();

        var timeout = await Assert.ThrowsAsync<AgentBridgeTimeoutException>(
            () => new AgentBridge(client, bridge.TaskChannel, bridge.DoneChannel).PushAndWaitAsync("long job", Patience));

        Assert.Equal("half done", timeout.Output); // the bridge's report, with what the command wrote
        var child = int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        await Wait.Until(() => Task.FromResult(!IsRunning(child)), $"the command's child process {child} to be gone");
    }

    [Fact]
    public async Task StoppingTheBridgeMidTask_KillsTheCommand_AndTellsTheWaitingOrchestrator()
    {
        var pidFile = Path.Combine(_scratch.Path, "command.pid");
        var bridge = await StartAsync($"echo $$ > '{pidFile}.tmp' && mv '{pidFile}.tmp' '{pidFile}'; exec sleep 600");
        using var client = relay.CreateClient();
        var waiting = new AgentBridge(client, bridge.TaskChannel, bridge.DoneChannel).PushAndWaitAsync("a long job", Patience);
        await Wait.Until(() => Task.FromResult(File.Exists(pidFile)), "the command to start");

        await bridge.DisposeAsync();
        var error = await Assert.ThrowsAsync<AgentBridgeException>(() => waiting);

        Assert.Equal(AgentTaskStatus.Error, error.Status);
        Assert.Contains("the bridge was stopped before the agent finished", error.Message, StringComparison.Ordinal);
        var command = int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        await Wait.Until(() => Task.FromResult(!IsRunning(command)), $"the command {command} to be gone");
    }

    [Fact]
    public async Task Outcome_TheResultIsTheBlock_ItsFieldsAreInTheMetadata_AndTheWholeAnswerIsKept()
    {
        var script = Path.Combine(_scratch.Path, "agent.sh");
        await File.WriteAllTextAsync(script, """
            cat > /dev/null
            echo 'Renamed the keys.'
            echo '=== CC_OUTCOME_START ==='
            echo 'COMPLETED: - renamed 12 keys'
            echo '- updated the docs'
            echo 'NOT_DONE: none'
            echo 'NOTES: the old names still work for one release'
            echo '=== CC_OUTCOME_END ==='
            echo 'Anything else?'
            """);
        await using var bridge = await StartAsync($"sh '{script}'");
        using var client = relay.CreateClient();
        await using var done = await client.OpenSubscriptionAsync(bridge.DoneChannel);

        var result = await new AgentBridge(client, bridge.TaskChannel, bridge.DoneChannel)
            .PushAndWaitForResultAsync("Rename the config keys", new AgentTaskOptions { Timeout = Patience, Outcome = true });
        var metadata = (await Wait.For(done.WaitForAsync(_ => true), "the result event")).Metadata;

        const string Block = "=== CC_OUTCOME_START ===\nCOMPLETED: - renamed 12 keys\n- updated the docs\nNOT_DONE: none\nNOTES: the old names still work for one release\n=== CC_OUTCOME_END ===";
        Assert.Equal(AgentTaskStatus.Done, result.Status);
        Assert.Equal(Block, result.Output);
        Assert.Equal("- renamed 12 keys\n- updated the docs", result.Outcome?.Completed);
        Assert.Equal("none", result.Outcome?.NotDone);
        Assert.Equal("the old names still work for one release", result.Outcome?.Notes);
        Assert.Equal("found", metadata["outcome"]!.GetValue<string>());
        Assert.Equal("- renamed 12 keys\n- updated the docs", metadata["completed"]!.GetValue<string>());
        Assert.Equal("none", metadata["not_done"]!.GetValue<string>());
        Assert.Equal("the old names still work for one release", metadata["notes"]!.GetValue<string>());
        Assert.Equal("renamed 12 keys", metadata["summary"]!.GetValue<string>());
        Assert.Equal(result.TranscriptUrl, metadata["transcript_url"]!.GetValue<string>());
        var transcript = await client.PullAsync(result.TranscriptUrl!);
        Assert.Equal("Renamed the keys.\n" + Block + "\nAnything else?", transcript);
    }

    [Fact]
    public async Task Outcome_TheAgentGetsTheInstruction_AndAnEchoOfItIsNoOutcome()
    {
        // cat answers with the task itself, instruction included: its template block is not the agent's.
        await using var bridge = await StartAsync("cat", outcome: true);
        using var client = relay.CreateClient();
        await using var done = await client.OpenSubscriptionAsync(bridge.DoneChannel);

        var result = await new AgentBridge(client, bridge.TaskChannel, bridge.DoneChannel).PushAndWaitForResultAsync("Check the lint warnings", Patience);
        var metadata = (await Wait.For(done.WaitForAsync(_ => true), "the result event")).Metadata;

        Assert.Equal(AgentTaskStatus.Done, result.Status);
        Assert.Equal(("Check the lint warnings" + AgentOutcome.Instruction).TrimEnd(), result.Output); // the whole answer, nothing lost
        Assert.Null(result.Outcome);
        Assert.Equal("missing", metadata["outcome"]!.GetValue<string>());
        Assert.Null(metadata["transcript_url"]);
    }

    [Fact]
    public async Task ATaskOlderThanTheMaximumAge_IsAnsweredWithAnError_NotRun_WhileATaskWithADeadlineFollowsItsDeadline()
    {
        var ran = Path.Combine(_scratch.Path, "ran");
        var channels = RunningBridge.NewChannels();
        using var client = relay.CreateClient();
        await using var done = await client.OpenSubscriptionAsync(channels.Done);
        var old = await new AgentBridge(client, channels.Task, channels.Done).SendAsync("yesterday's task");

        // Any task is older than a millisecond by the time this bridge gets to it.
        await using var bridge = await StartAsync($"cat >> '{ran}'; echo ran", channels: channels, maxTaskAge: TimeSpan.FromMilliseconds(1));
        var skipped = await Wait.For(done.WaitForAsync(e => e.Metadata["task_id"]?.GetValue<string>() == old.TaskId), "the skipped task's result");
        var fresh = await new AgentBridge(client, channels.Task, channels.Done).PushAndWaitAsync("today's task", Patience);

        Assert.Equal("error", skipped.Metadata["status"]!.GetValue<string>());
        Assert.Contains("longer than the bridge's maximum task age", skipped.Metadata["reason"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("ran", fresh);
        Assert.Equal("today's task", File.ReadAllText(ran)); // the old task never reached the command
    }

    [Fact]
    public async Task Send_Wait_PrintsTheAnswer_AndItsExitCodeFollowsTheStatus()
    {
        await using var upper = await StartAsync("tr a-z A-Z");
        await using var failing = await StartAsync("echo 'cannot do that'; exit 2");

        var words = await SendAsync(upper, null, "--wait", "add", "retries");
        var stdin = await SendAsync(upper, "line one\nline two\n", "--wait", "-");
        var file = Path.Combine(_scratch.Path, "task.md");
        await File.WriteAllTextAsync(file, "from a file");
        var fromFile = await SendAsync(upper, null, "--wait", "--file", file);
        var error = await SendAsync(failing, null, "--wait", "do", "it");

        Assert.Equal((0, "ADD RETRIES\n"), (words.ExitCode, words.Output));
        Assert.Equal((0, "LINE ONE\nLINE TWO\n"), (stdin.ExitCode, stdin.Output));
        Assert.Equal((0, "FROM A FILE\n"), (fromFile.ExitCode, fromFile.Output));
        Assert.Equal((BridgeCli.ExitTaskError, "cannot do that\n"), (error.ExitCode, error.Output));
        BridgeTool.AssertOneLineError(error.Error, "the command exited with code 2");
    }

    [Fact]
    public async Task Send_WithoutWait_PrintsTheTasksUrl_AndABridgeStartedLaterServesIt()
    {
        var channels = RunningBridge.NewChannels();
        using var client = relay.CreateClient();
        await using var done = await client.OpenSubscriptionAsync(channels.Done);

        var sent = await BridgeTool.RunAsync(["send", "fire", "and", "forget", "--task-channel", channels.Task, "--done-channel", channels.Done, .. RelayArgs()]);
        await using var bridge = await StartAsync("tr a-z A-Z", channels: channels);
        var result = await Wait.For(done.WaitForAsync(_ => true), "the answer");

        Assert.Equal(0, sent.ExitCode);
        var url = sent.Output.Trim();
        Assert.Equal("fire and forget", await client.PullAsync(url));
        Assert.Equal("FIRE AND FORGET", await client.PullAsync(result.Url!));
        Assert.Equal("done", result.Metadata["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Send_Wait_WithNoBridge_TimesOutWithOneLineAndExitCode5()
    {
        var channels = RunningBridge.NewChannels();

        var (exitCode, stdout, error) = await BridgeTool.RunAsync(
            ["send", "--wait", "--timeout", "2", "hello", "--task-channel", channels.Task, "--done-channel", channels.Done, .. RelayArgs()]);

        Assert.Equal(BridgeCli.ExitTaskTimeout, exitCode);
        Assert.Equal(string.Empty, stdout);
        BridgeTool.AssertOneLineError(error, "no answer within 2s");
    }

    [Fact]
    public async Task Send_WithoutATask_SaysHowToGiveOne()
    {
        var (exitCode, _, error) = await BridgeTool.RunAsync(["send", .. RelayArgs()]);

        Assert.Equal(BridgeCli.ExitError, exitCode);
        BridgeTool.AssertOneLineError(error, "The task is empty");
    }

    [Theory]
    [InlineData(false, "Say what serves the tasks: --tmux SESSION")]
    [InlineData(true, "not both")]
    public async Task Start_NeedsExactlyOneOfTmuxAndExec(bool both, string expected)
    {
        string[] agent = both ? ["--tmux", "agent", "--exec", "cat"] : [];

        var (exitCode, _, error) = await BridgeTool.InvokeAsync(["start", .. agent, .. RelayArgs()]);

        Assert.Equal(BridgeCli.ExitError, exitCode);
        BridgeTool.AssertOneLineError(error, expected);
    }

    [Fact]
    public async Task StartExec_AndSend_OnTheDefaultChannels_AsUsersOfThePythonBridgeKnowThem()
    {
        // A workspace of its own: the default channels are then this test's alone.
        var key = await relay.CreateKeyAsync("ws-defaults-" + Guid.NewGuid().ToString("N")[..8]);
        var state = Path.Combine(_scratch.Path, "state");
        using var bridge = BridgeTool.Start(["start", "--exec", "tr a-z A-Z", "--timeout", "30", "--state-dir", state, "--relay-url", relay.BaseUrl, "--api-key", key]);
        try
        {
            await Wait.Until(async () => (await BridgeTool.InvokeAsync("status", "--state-dir", state)).ExitCode == 0, "the bridge to run");
            var status = await BridgeTool.InvokeAsync("status", "--state-dir", state);

            var sent = await BridgeTool.RunAsync(["send", "--wait", "hello", "python", "users", "--relay-url", relay.BaseUrl, "--api-key", key]);

            Assert.Contains("tasks from 'agent-tasks', results to 'agent-done'", status.Output, StringComparison.Ordinal);
            Assert.Contains("exec: tr a-z A-Z", status.Output, StringComparison.Ordinal);
            Assert.Equal((0, "HELLO PYTHON USERS\n"), (sent.ExitCode, sent.Output));
        }
        finally
        {
            bridge.Kill(entireProcessTree: true);
            await bridge.WaitForExitAsync();
        }
    }

    private Task<RunningBridge> StartAsync(string command, TimeSpan? taskTimeout = null, (string Task, string Done)? channels = null, TimeSpan? maxTaskAge = null, bool outcome = false)
    {
        var (taskChannel, doneChannel) = channels ?? RunningBridge.NewChannels();
        return RunningBridge.StartAsync(relay, output, new BridgeOptions
        {
            ExecCommand = command,
            TaskChannel = taskChannel,
            DoneChannel = doneChannel,
            TaskTimeout = taskTimeout ?? TimeSpan.FromMinutes(5),
            MaxTaskAge = maxTaskAge ?? TimeSpan.FromHours(1),
            Outcome = outcome,
            StateDirectory = Path.Combine(_scratch.Path, "state"),
        });
    }

    private Task<(int ExitCode, string Output, string Error)> SendAsync(RunningBridge bridge, string? input, params string[] args)
        => BridgeTool.RunAsync(["send", .. args, "--task-channel", bridge.TaskChannel, "--done-channel", bridge.DoneChannel, .. RelayArgs()], input: input);

    private string[] RelayArgs() => ["--relay-url", relay.BaseUrl, "--api-key", relay.ApiKey];

    private static bool IsRunning(int pid)
    {
        // A killed child nobody has reaped yet is a zombie ('Z'): gone for every purpose here.
        var stat = $"/proc/{pid}/stat";
        if (!File.Exists(stat))
        {
            return false;
        }

        try
        {
            var text = File.ReadAllText(stat);
            return text[(text.LastIndexOf(')') + 2)..].FirstOrDefault() is not ('Z' or 'X');
        }
        catch (IOException)
        {
            return false;
        }
    }
}

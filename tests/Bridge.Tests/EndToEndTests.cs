using System.Diagnostics;
using CtxRelay.Bridge.Internal;
using CtxRelay.Bridge.Tests.Support;
using CtxRelay.Testing;
using Xunit.Abstractions;

namespace CtxRelay.Bridge.Tests;

/// <summary>
/// The whole path: an orchestrator's <see cref="AgentBridge"/> → a real relay → the bridge daemon →
/// the stand-in agent in a real tmux pane → back.
/// </summary>
[Collection(TmuxCollection.Name)]
public sealed class EndToEndTests(RelayFixture relay, ITestOutputHelper output) : IClassFixture<RelayFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task PushAndWait_ReturnsExactlyTheAgentsAnswer_Cleaned()
    {
        await using var server = await TmuxServer.StartStandInAsync();
        await using var bridge = await StartBridgeAsync(server);
        using var client = relay.CreateClient();
        var orchestrator = new AgentBridge(client, bridge.TaskChannel, bridge.DoneChannel);
        var task = "Refactor the auth module…\n- async token refresh\n- same public API [[lines=12]]";

        var result = await orchestrator.PushAndWaitAsync(task, Patience);

        Assert.Equal(server.Turn(1, "answer.txt"), result);
        Assert.StartsWith($"Done. Task {BridgeTool.Checksum(task)} received whole: 3 lines", result, StringComparison.Ordinal);
        Assert.DoesNotContain("⏺", result, StringComparison.Ordinal);
        Assert.DoesNotContain("esc to interrupt", result, StringComparison.Ordinal);
        Assert.DoesNotContain("Read(src", result, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TwoQueuedTasks_ComeBackInOrder_WithTheirIdsAndMetadata()
    {
        await using var server = await TmuxServer.StartStandInAsync();
        await using var bridge = await StartBridgeAsync(server);
        using var client = relay.CreateClient();
        await using var done = await client.OpenSubscriptionAsync(bridge.DoneChannel);

        await client.PushAsync("First: rename the config keys [[lines=2]]", bridge.TaskChannel, new { task_id = "first" });
        var second = await client.PushWithResultAsync("Second: update the docs [[lines=3]]", bridge.TaskChannel);
        var results = new List<RelayEvent>();
        using (var timeout = new CancellationTokenSource(Patience * 2))
        {
            await foreach (var relayEvent in done.ReadAllAsync(timeout.Token))
            {
                results.Add(relayEvent);
                if (results.Count == 2)
                {
                    break;
                }
            }
        }

        // the first carried its own task_id; the second had none, so the bridge used its payload id
        Assert.Equal(["first", second.Id], results.Select(r => r.Metadata["task_id"]!.GetValue<string>()));
        Assert.All(results, r => Assert.Equal("done", r.Metadata["status"]!.GetValue<string>()));
        Assert.All(results, r => Assert.True(r.Metadata["duration_s"]!.GetValue<double>() > 0));
        Assert.Equal("First: rename the config keys [[lines=2]]", server.Turn(1, "task.txt"));
        Assert.Equal("Second: update the docs [[lines=3]]", server.Turn(2, "task.txt"));
        for (var i = 0; i < 2; i++)
        {
            var answer = server.Turn(i + 1, "answer.txt");
            Assert.Equal(answer, await client.PullAsync(results[i].Url!));
            Assert.Equal(answer.Split('\n')[0], results[i].Metadata["summary"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task PublishedMessage_IsATaskToo()
    {
        await using var server = await TmuxServer.StartStandInAsync();
        await using var bridge = await StartBridgeAsync(server);
        using var client = relay.CreateClient();
        await using var done = await client.OpenSubscriptionAsync(bridge.DoneChannel);

        using var timeout = new CancellationTokenSource(Patience);

        await client.PublishAsync(bridge.TaskChannel, "Check the lint warnings [[lines=1]]", new { task_id = "lint-1" });
        var result = await done.WaitForAsync(e => e.Metadata["task_id"]?.GetValue<string>() == "lint-1", timeout.Token);

        Assert.Equal("done", result.Metadata["status"]!.GetValue<string>());
        Assert.Equal(server.Turn(1, "answer.txt"), await client.PullAsync(result.Url!));
    }

    [Fact]
    public async Task TwoOrchestratorsWaitingAtOnce_EachGetTheirOwnResult()
    {
        await using var server = await TmuxServer.StartStandInAsync();
        await using var bridge = await StartBridgeAsync(server);
        using var alice = relay.CreateClient();
        using var bob = relay.CreateClient();
        var taskA = "Alice: profile the importer [[lines=4]]";
        var taskB = "Bob: write the changelog [[lines=2]]";

        var results = await Task.WhenAll(
            new AgentBridge(alice, bridge.TaskChannel, bridge.DoneChannel).PushAndWaitAsync(taskA, Patience * 2),
            new AgentBridge(bob, bridge.TaskChannel, bridge.DoneChannel).PushAndWaitAsync(taskB, Patience * 2));

        Assert.StartsWith($"Done. Task {BridgeTool.Checksum(taskA)} ", results[0], StringComparison.Ordinal);
        Assert.StartsWith($"Done. Task {BridgeTool.Checksum(taskB)} ", results[1], StringComparison.Ordinal);
        Assert.Equal(4 + 5, results[0].Split('\n').Length);
        Assert.Equal(2 + 5, results[1].Split('\n').Length);
    }

    [Fact]
    public async Task StopHookSignal_EndsTheWaitEarly_WithTheLastAssistantMessage()
    {
        await using var server = await TmuxServer.StartStandInAsync(prepare: async project =>
            Assert.Equal(0, (await BridgeTool.InvokeAsync("install-hook", "--project", project, "--bridge-command", BridgeTool.Command)).ExitCode));
        await using var bridge = await StartBridgeAsync(server);
        using var client = relay.CreateClient();
        var clock = Stopwatch.StartNew();

        // After answering, the stand-in keeps a spinner going for a minute: only the hook can end the turn.
        var result = await new AgentBridge(client, bridge.TaskChannel, bridge.DoneChannel)
            .PushAndWaitAsync("Tidy the imports [[lines=3]] [[linger=60]]", Patience);

        Assert.Equal(server.Turn(1, "message.md"), result);
        Assert.Contains("**", result, StringComparison.Ordinal); // the model's markdown, not the rendered screen
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(40), $"the wait was not ended early ({clock.Elapsed})");
    }

    [Fact]
    public async Task HungAgent_EndsWithStatusTimeout_CarryingWhatItWrote_AndTheBridgeGoesOn()
    {
        await using var server = await TmuxServer.StartStandInAsync();
        await using var bridge = await StartBridgeAsync(server, taskTimeout: TimeSpan.FromSeconds(6));
        using var client = relay.CreateClient();
        var orchestrator = new AgentBridge(client, bridge.TaskChannel, bridge.DoneChannel);

        var timeout = await Assert.ThrowsAsync<AgentBridgeTimeoutException>(
            () => orchestrator.PushAndWaitAsync("Investigate the flaky test [[hang]]", Patience));
        var next = await orchestrator.PushAndWaitForResultAsync("Now the easy one [[lines=1]]", Patience);

        Assert.Equal(AgentTaskStatus.Timeout, timeout.Status);
        Assert.Equal("Working on it: the first half is done, the rest is slow.", timeout.Output);
        Assert.Equal(AgentTaskStatus.Done, next.Status);
        Assert.Equal(server.Turn(2, "answer.txt"), next.Output);
    }

    [Fact]
    public async Task StoppingTheBridgeMidTask_TellsTheWaitingOrchestrator()
    {
        await using var server = await TmuxServer.StartStandInAsync();
        await using var bridge = await StartBridgeAsync(server);
        using var client = relay.CreateClient();
        var waiting = new AgentBridge(client, bridge.TaskChannel, bridge.DoneChannel).PushAndWaitAsync("Investigate [[hang]]", Patience);
        await Wait.Until(() => Task.FromResult(File.Exists(server.TurnPath(1, "task.txt"))), "the agent to start the task");

        var stop = await BridgeTool.InvokeAsync("stop", "--tmux", TmuxServer.Session, "-L", server.Socket, "--state-dir", server.StateDirectory);
        var error = await Assert.ThrowsAsync<AgentBridgeException>(() => waiting);

        Assert.Equal(0, stop.ExitCode);
        Assert.Equal(AgentTaskStatus.Error, error.Status);
        Assert.Contains("the bridge was stopped before the agent finished", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OrchestratorTimeout_IsPassedToTheBridge_WhichReportsBeforeTheWaitEnds()
    {
        await using var server = await TmuxServer.StartStandInAsync();
        await using var bridge = await StartBridgeAsync(server); // the bridge's own limit is 30 minutes
        using var client = relay.CreateClient();

        var timeout = await Assert.ThrowsAsync<AgentBridgeTimeoutException>(
            () => new AgentBridge(client, bridge.TaskChannel, bridge.DoneChannel).PushAndWaitAsync("Hang [[hang]]", TimeSpan.FromSeconds(10)));

        Assert.NotNull(timeout.Output); // the bridge's report, not the local deadline
    }

    [Fact]
    public async Task OrchestratorSample_RunsAgainstTheStandIn()
    {
        await using var server = await TmuxServer.StartStandInAsync();
        await using var bridge = await StartBridgeAsync(server);
        var start = new ProcessStartInfo(BridgeTool.Dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "orchestrator.dll"));
        start.ArgumentList.Add("Add retries to the HTTP client");
        start.Environment["CONTEXTRELAY_URL"] = relay.BaseUrl;
        start.Environment["CONTEXTRELAY_API_KEY"] = relay.ApiKey;
        start.Environment["ORCHESTRATOR_TASKS"] = bridge.TaskChannel;
        start.Environment["ORCHESTRATOR_DONE"] = bridge.DoneChannel;

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(Patience * 2);

        Assert.True(process.ExitCode == 0, await stderr);
        var text = await stdout;
        Assert.Contains(server.Turn(1, "answer.txt"), text, StringComparison.Ordinal); // the plan
        Assert.Contains(server.Turn(2, "answer.txt"), text, StringComparison.Ordinal); // the implementation
        Assert.Contains(server.Turn(1, "answer.txt"), server.Turn(2, "task.txt"), StringComparison.Ordinal); // the plan was handed on
    }

    [Fact]
    public async Task NoBridge_TheWaitTimesOutWithAClearMessage()
    {
        using var client = relay.CreateClient();
        var orchestrator = new AgentBridge(client, "nobody-" + Guid.NewGuid().ToString("N")[..8], "done-" + Guid.NewGuid().ToString("N")[..8]);

        var timeout = await Assert.ThrowsAsync<AgentBridgeTimeoutException>(() => orchestrator.PushAndWaitAsync("hello", TimeSpan.FromSeconds(1)));

        Assert.Null(timeout.Output);
        Assert.Contains("Is a bridge serving", timeout.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancelling_TheWait_ThrowsOperationCanceled()
    {
        using var client = relay.CreateClient();
        var orchestrator = new AgentBridge(client, "nobody-" + Guid.NewGuid().ToString("N")[..8], "done-" + Guid.NewGuid().ToString("N")[..8]);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));

        var cancelled = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => orchestrator.PushAndWaitAsync("hello", TimeSpan.FromMinutes(5), cancel.Token));

        Assert.Equal(cancel.Token, cancelled.CancellationToken);
    }

    [Fact]
    public async Task ATaskPushedWhileNoBridgeRuns_IsAnsweredOnceABridgeStarts()
    {
        await using var server = await TmuxServer.StartStandInAsync();
        var (taskChannel, doneChannel) = NewChannels();
        await (await StartBridgeAsync(server, channels: (taskChannel, doneChannel))).DisposeAsync(); // a bridge served this channel before

        using var client = relay.CreateClient();
        var waiting = new AgentBridge(client, taskChannel, doneChannel).PushAndWaitAsync("Written while the bridge was down [[lines=2]]", Patience);
        await using (var tasks = await client.OpenSubscriptionAsync(taskChannel, since: 0))
        {
            await Wait.For(tasks.WaitForAsync(e => e.Type == RelayEventType.Push), "the task to be pushed");
        }

        Assert.False(waiting.IsCompleted);

        await using var bridge = await StartBridgeAsync(server, channels: (taskChannel, doneChannel));
        var result = await waiting;
        Assert.Equal(server.Turn(1, "answer.txt"), result);
    }

    [Fact]
    public async Task ATaskWhoseOrchestratorGaveUp_IsSkipped_NotTypedIntoTheAgent()
    {
        await using var server = await TmuxServer.StartStandInAsync();
        var channels = NewChannels();
        await (await StartBridgeAsync(server, channels: channels)).DisposeAsync(); // the channel has a bridge group
        using var client = relay.CreateClient();
        var orchestrator = new AgentBridge(client, channels.Task, channels.Done);
        await Assert.ThrowsAsync<AgentBridgeTimeoutException>(() => orchestrator.PushAndWaitAsync("Stale task [[lines=1]]", TimeSpan.FromSeconds(1)));

        await using var bridge = await StartBridgeAsync(server, channels: channels);
        var fresh = await orchestrator.PushAndWaitAsync("Fresh task [[lines=1]]", Patience);

        Assert.Equal(server.Turn(1, "answer.txt"), fresh); // the agent's first turn was the fresh task
        Assert.Contains("Fresh task", server.Turn(1, "task.txt"), StringComparison.Ordinal);
        Assert.False(File.Exists(server.TurnPath(2, "task.txt")));
    }

    [Fact]
    public async Task TwoBridgesOnOneTaskChannel_ShareTheTasks_EachTaskDoneOnce()
    {
        await using var first = await TmuxServer.StartStandInAsync();
        await using var second = await TmuxServer.StartStandInAsync();
        var channels = NewChannels();
        await using var bridgeA = await StartBridgeAsync(first, channels: channels);
        await using var bridgeB = await StartBridgeAsync(second, channels: channels);
        using var client = relay.CreateClient();
        var orchestrator = new AgentBridge(client, channels.Task, channels.Done);

        var results = await Task.WhenAll(
            orchestrator.PushAndWaitAsync("Task one [[lines=2]] [[think=1.5]]", Patience),
            orchestrator.PushAndWaitAsync("Task two [[lines=2]] [[think=1.5]]", Patience));

        // Each pane ran exactly one of the two tasks (a busy bridge holds one task at a time).
        Assert.True(File.Exists(first.TurnPath(1, "answer.txt")) && File.Exists(second.TurnPath(1, "answer.txt")), "both agents should have had a turn");
        Assert.False(File.Exists(first.TurnPath(2, "task.txt")) || File.Exists(second.TurnPath(2, "task.txt")), "no task should run twice");
        Assert.Equal(
            new[] { first.Turn(1, "answer.txt"), second.Turn(1, "answer.txt") }.Order(StringComparer.Ordinal),
            results.Order(StringComparer.Ordinal));
    }

    private static (string Task, string Done) NewChannels() => RunningBridge.NewChannels();

    private Task<RunningBridge> StartBridgeAsync(TmuxServer server, TimeSpan? taskTimeout = null, (string Task, string Done)? channels = null)
        => RunningBridge.StartAsync(relay, output, RunningBridge.ForStandIn(server, channels ?? NewChannels(), taskTimeout));
}

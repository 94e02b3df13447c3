using System.Diagnostics;
using System.Text;
using CtxRelay.Bridge.Internal;
using CtxRelay.Bridge.Tests.Support;
using CtxRelay.Testing;
using Xunit.Abstractions;

namespace CtxRelay.Bridge.Tests;

/// <summary>
/// Typing, finishing detection and capture against a real tmux server running the stand-in agent
/// (no relay): what the daemon does for each task.
/// </summary>
[Collection(TmuxCollection.Name)]
public sealed class AgentPaneTests(ITestOutputHelper output)
{
    private static readonly TimeSpan TurnLimit = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task MultiLineTask_ArrivesWhole_IsSubmittedOnce_AndTheAnswerComesBackExactly()
    {
        await using var server = await TmuxServer.StartStandInAsync();
        var agent = await ConnectAsync(server);
        var task = "Refactor the auth module:\n  1. make RefreshToken async\n  2. keep the public API\n\nThen run the tests. [[lines=5]]";

        var result = await agent.RunTurnAsync(task, TurnLimit, _ => { }, CancellationToken.None);

        Assert.Equal(TurnStatus.Done, result.Status);
        Assert.Equal(task, server.Turn(1, "task.txt"));
        Assert.Equal(server.Turn(1, "answer.txt"), result.Output);
        Assert.StartsWith($"Done. Task {BridgeTool.Checksum(task)} received whole: {task.Split('\n').Length} lines, {task.Length} chars.", result.Output, StringComparison.Ordinal);
        Assert.False(File.Exists(server.TurnPath(2, "task.txt")), "the task was submitted more than once");
    }

    [Fact]
    public async Task HundredKilobyteTask_ArrivesWhole()
    {
        await using var server = await TmuxServer.StartStandInAsync();
        var agent = await ConnectAsync(server);
        var builder = new StringBuilder("Review this log and list the errors. [[lines=3]]\n");
        for (var i = 0; builder.Length < 100 * 1024; i++)
        {
            builder.Append(System.Globalization.CultureInfo.InvariantCulture, $"{i:00000} 2026-11-24T10:00:00Z INFO request handled in {i % 97} ms, path=/api/items/{i}\n");
        }

        var task = builder.ToString().TrimEnd('\n');

        var result = await agent.RunTurnAsync(task, TurnLimit, _ => { }, CancellationToken.None);

        Assert.Equal(TurnStatus.Done, result.Status);
        Assert.Equal(task, server.Turn(1, "task.txt"));
        Assert.StartsWith($"Done. Task {BridgeTool.Checksum(task)} received whole:", result.Output, StringComparison.Ordinal);
        Assert.False(File.Exists(server.TurnPath(2, "task.txt")), "the task was submitted more than once");
    }

    [Fact]
    public async Task KeyByKeySendKeys_WouldSubmitAtTheFirstNewline_WhichIsWhyTheBridgePastes()
    {
        // The failure mode the bracketed paste avoids, shown on the same stand-in.
        await using var server = await TmuxServer.StartStandInAsync();

        await server.RunAsync("send-keys", "-t", TmuxServer.Session, "-l", "first line [[lines=1]]\nsecond line");
        await Wait.Until(() => Task.FromResult(File.Exists(server.TurnPath(1, "task.txt"))), "the stand-in to start a turn");

        Assert.Equal("first line [[lines=1]]", server.Turn(1, "task.txt"));
    }

    [Fact]
    public async Task AnswerLongerThanTheScreen_IsCapturedFromTheScrollback()
    {
        await using var server = await TmuxServer.StartStandInAsync(width: 100, height: 24);
        var agent = await ConnectAsync(server);
        await agent.RunTurnAsync("Warm up [[lines=30]]", TurnLimit, _ => { }, CancellationToken.None);

        var result = await agent.RunTurnAsync("List every endpoint [[lines=150]]", TurnLimit, _ => { }, CancellationToken.None);

        Assert.Equal(TurnStatus.Done, result.Status);
        Assert.Equal(server.Turn(2, "answer.txt"), result.Output);
        Assert.Equal(155, result.Output.Split('\n').Length);
        Assert.DoesNotContain("Warm up", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HistoryLimitShiftingTheRows_StillFindsTheTaskStart()
    {
        // A small history limit: by the end of the second answer the rows have shifted, so the start
        // is found again by the lines above it.
        await using var server = await TmuxServer.StartStandInAsync(width: 100, height: 24, historyLimit: 120);
        var agent = await ConnectAsync(server);
        await agent.RunTurnAsync("Warm up [[lines=80]]", TurnLimit, _ => { }, CancellationToken.None);

        var result = await agent.RunTurnAsync("Second task [[lines=60]]", TurnLimit, _ => { }, CancellationToken.None);

        Assert.Equal(server.Turn(2, "answer.txt"), result.Output);
    }

    [Fact]
    public async Task HungAgent_TimesOut_WithWhatItWrote_IsInterrupted_AndTheNextTaskWorks()
    {
        await using var server = await TmuxServer.StartStandInAsync();
        var agent = await ConnectAsync(server);

        var hung = await agent.RunTurnAsync("Investigate the flaky test [[hang]]", TimeSpan.FromSeconds(5), _ => { }, CancellationToken.None);
        var next = await agent.RunTurnAsync("Try again [[lines=2]]", TurnLimit, _ => { }, CancellationToken.None);

        Assert.Equal(TurnStatus.Timeout, hung.Status);
        Assert.Equal("Working on it: the first half is done, the rest is slow.", hung.Output);
        Assert.Equal(TurnStatus.Done, next.Status);
        Assert.Equal(server.Turn(2, "answer.txt"), next.Output);
    }

    [Fact]
    public async Task StopHookSignal_EndsTheTurn_WithTheHooksMessage_WhileTheScreenStillMoves()
    {
        await using var server = await TmuxServer.StartStandInAsync(prepare: project =>
        {
            ClaudeHooks.Install(project, BridgeTool.Command + " signal-done");
            return Task.CompletedTask;
        });
        var agent = await ConnectAsync(server);
        PretendABridgeServes(server, agent);
        var clock = Stopwatch.StartNew();

        // [[linger=60]]: after answering, the stand-in keeps a spinner going for a minute.
        var result = await agent.RunTurnAsync("Tidy the imports [[lines=2]] [[linger=60]]", TurnLimit, _ => { }, CancellationToken.None);

        Assert.Equal(TurnStatus.Done, result.Status);
        Assert.Equal(server.Turn(1, "message.md"), result.Output);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(40), $"the signal did not end the turn early ({clock.Elapsed})");
    }

    private async Task<AgentPane> ConnectAsync(TmuxServer server)
    {
        var tmux = new Tmux(server.Socket);
        var pane = await tmux.ResolvePaneAsync(new PaneTarget(TmuxServer.Session, Socket: server.Socket));
        var files = new PaneFiles(server.StateDirectory, pane.SocketPath, pane.PaneId);
        var options = new BridgeOptions
        {
            Session = TmuxServer.Session,
            TaskChannel = "unused",
            DoneChannel = "unused",
            QuietPeriod = TimeSpan.FromMilliseconds(800),
            SubmitDelay = TimeSpan.FromMilliseconds(300),
            PollInterval = TimeSpan.FromMilliseconds(100),
        };
        return new AgentPane(tmux, pane, files, options, new TestLogger(output));
    }

    /// <summary>signal-done only signals a pane a live bridge serves: write the state a daemon would.</summary>
    private static void PretendABridgeServes(TmuxServer server, AgentPane agent)
    {
        using var self = Process.GetCurrentProcess();
        new PaneFiles(server.StateDirectory, agent.Pane.SocketPath, agent.Pane.PaneId).WriteState(new BridgeStatus
        {
            Pid = Environment.ProcessId,
            ProcessStartedAt = self.StartTime.ToUniversalTime(),
            PaneId = agent.Pane.PaneId,
            Pane = "agent:0.0",
            Socket = agent.Pane.SocketPath,
            TaskChannel = "unused",
            DoneChannel = "unused",
        });
    }
}

/// <summary>Tests that drive tmux and the stand-in run one at a time: their timing is real.</summary>
[CollectionDefinition(Name)]
public sealed class TmuxCollection
{
    public const string Name = "tmux";
}

using System.Collections.Concurrent;
using CtxRelay.Bridge.Tests.Support;
using CtxRelay.Testing;
using Xunit.Abstractions;

namespace CtxRelay.Bridge.Tests;

/// <summary>
/// A bridge announces itself on the announcement channel (started, working, done, heartbeats, stopped) on a
/// real relay, and a key that may not publish there changes nothing about the work.
/// </summary>
public sealed class AnnouncementTests(RelayFixture relay, ITestOutputHelper output) : IClassFixture<RelayFixture>, IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly TemporaryDirectory _scratch = new("announce");

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public async Task ABridgeAnnouncesStarted_WorkingAndDoneForEachTask_Heartbeats_AndStopped()
    {
        using var client = relay.CreateClient();
        var channels = RunningBridge.NewChannels();
        var seen = new ConcurrentQueue<RelayEvent>();
        await using var announcements = await client.OpenSubscriptionAsync(BridgeOptions.DefaultAnnounceChannel);
        using var stopReading = new CancellationTokenSource();
        var reader = ReadAsync(announcements, channels.Task, seen, stopReading.Token);

        var bridge = await StartAsync("tr a-z A-Z", channels, relay.ApiKey);
        var started = await ForStatusAsync(seen, "started");
        var metadata = started.Metadata;
        Assert.Equal("contextrelay.bridge", metadata["kind"]!.GetValue<string>());
        Assert.StartsWith(Environment.MachineName + "/exec-", metadata["bridge"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(Environment.MachineName, metadata["host"]!.GetValue<string>());
        Assert.Null(metadata["tmux_session"]);
        Assert.Equal(channels.Done, metadata["done_channel"]!.GetValue<string>());
        Assert.Equal("contextrelay-bridge", metadata["group"]!.GetValue<string>());
        Assert.Equal(1, metadata["heartbeat_s"]!.GetValue<int>());
        Assert.InRange(DateTimeOffset.Parse(metadata["time"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture), DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.Contains("started", started.Data, StringComparison.Ordinal);

        var result = await new AgentBridge(client, channels.Task, channels.Done).PushAndWaitForResultAsync("shout this", Patience);
        Assert.Equal("SHOUT THIS", result.Output);
        var working = await ForStatusAsync(seen, "working");
        Assert.Equal(result.TaskId, working.Metadata["task"]!.GetValue<string>());
        var done = await ForStatusAsync(seen, "done");
        Assert.Equal((result.TaskId, "done"), (done.Metadata["last_task"]!.GetValue<string>(), done.Metadata["last_result"]!.GetValue<string>()));

        // Nothing changes now: the status is repeated as a heartbeat every second.
        var heartbeat = await WaitForAsync(seen, e => e.Metadata["heartbeat"]?.GetValue<bool>() == true && Status(e) == "done", "a heartbeat");
        Assert.Equal(result.TaskId, heartbeat.Metadata["last_task"]!.GetValue<string>());

        await bridge.DisposeAsync();
        var stopped = await ForStatusAsync(seen, "stopped");
        Assert.Equal(done.Metadata["bridge"]!.GetValue<string>(), stopped.Metadata["bridge"]!.GetValue<string>());
        Assert.All(seen, e => Assert.Equal(started.Metadata["bridge"]!.GetValue<string>(), e.Metadata["bridge"]!.GetValue<string>()));
        await stopReading.CancelAsync();
        await reader;
    }

    [Fact]
    public async Task AKeyThatMayNotPublish_AnnouncesNothing_AndTheBridgeStillServesTasks()
    {
        var workspace = "ws-" + Guid.NewGuid().ToString("N")[..8];
        var owner = await relay.CreateKeyAsync(workspace);
        var readOnly = await relay.CreateKeyAsync(workspace, readOnly: true);
        using var client = relay.CreateClient(owner);
        var channels = RunningBridge.NewChannels();
        var ran = Path.Combine(_scratch.Path, "ran.txt");

        var bridge = await StartAsync($"cat > '{ran}'", channels, readOnly);
        await client.PushAsync("the task", channel: channels.Task);
        await Wait.Until(() => Task.FromResult(File.Exists(ran) && File.ReadAllText(ran) == "the task"), "the bridge to run the task");
        await bridge.DisposeAsync(); // stops cleanly: announcing failed quietly

        var history = await client.GetHistoryAsync(BridgeOptions.DefaultAnnounceChannel);
        Assert.DoesNotContain(history, e => e.Metadata["task_channel"]?.GetValue<string>() == channels.Task);
    }

    private Task<RunningBridge> StartAsync(string command, (string Task, string Done) channels, string apiKey)
        => RunningBridge.StartAsync(
            relay,
            output,
            new BridgeOptions
            {
                ExecCommand = command,
                TaskChannel = channels.Task,
                DoneChannel = channels.Done,
                TaskTimeout = TimeSpan.FromMinutes(5),
                HeartbeatInterval = TimeSpan.FromSeconds(1),
                StateDirectory = Path.Combine(_scratch.Path, "state"),
            },
            apiKey);

    private static string? Status(RelayEvent e) => e.Metadata["status"]?.GetValue<string>();

    private static Task<RelayEvent> ForStatusAsync(ConcurrentQueue<RelayEvent> seen, string status)
        => WaitForAsync(seen, e => Status(e) == status, $"the bridge to announce '{status}'");

    private static async Task<RelayEvent> WaitForAsync(ConcurrentQueue<RelayEvent> seen, Func<RelayEvent, bool> predicate, string what)
    {
        RelayEvent? found = null;
        await Wait.Until(() => Task.FromResult((found = seen.FirstOrDefault(predicate)) is not null), what);
        return found!;
    }

    /// <summary>Collects the announcements about the bridge on <paramref name="taskChannel"/>.</summary>
    private static async Task ReadAsync(RelaySubscription subscription, string taskChannel, ConcurrentQueue<RelayEvent> seen, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var e in subscription.ReadAllAsync(cancellationToken))
            {
                if (e.Metadata["task_channel"]?.GetValue<string>() == taskChannel)
                {
                    seen.Enqueue(e);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}

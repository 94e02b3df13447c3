using CtxRelay.Testing;
using Xunit.Abstractions;

namespace CtxRelay.Bridge.Tests.Support;

/// <summary>A <see cref="BridgeDaemon"/> running in the test process against a real relay; disposing stops it.</summary>
public sealed record RunningBridge(string TaskChannel, string DoneChannel, Task Run, CancellationTokenSource Stop, ContextRelay Client) : IAsyncDisposable
{
    /// <summary>Starts a daemon with <paramref name="options"/> and waits until it serves its task channel.</summary>
    public static async Task<RunningBridge> StartAsync(RelayFixture relay, ITestOutputHelper output, BridgeOptions options, string? apiKey = null)
    {
        var client = relay.CreateClient(apiKey);
        var daemon = new BridgeDaemon(client, options, new TestLogger(output));
        var stop = new CancellationTokenSource();
        var run = daemon.RunAsync(stop.Token);
        await daemon.Started.WaitAsync(TimeSpan.FromSeconds(20));
        return new RunningBridge(options.TaskChannel, options.DoneChannel, run, stop, client);
    }

    /// <summary>Options for a bridge on the stand-in agent of <paramref name="server"/>, with short test pauses.</summary>
    public static BridgeOptions ForStandIn(TmuxServer server, (string Task, string Done) channels, TimeSpan? taskTimeout = null) => new()
    {
        Session = TmuxServer.Session,
        TmuxSocket = server.Socket,
        TaskChannel = channels.Task,
        DoneChannel = channels.Done,
        TaskTimeout = taskTimeout ?? TimeSpan.FromMinutes(30),
        QuietPeriod = TimeSpan.FromMilliseconds(800),
        SubmitDelay = TimeSpan.FromMilliseconds(300),
        PollInterval = TimeSpan.FromMilliseconds(100),
        StateDirectory = server.StateDirectory,
    };

    /// <summary>New, unused task and done channel names.</summary>
    public static (string Task, string Done) NewChannels()
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        return ("tasks-" + suffix, "done-" + suffix);
    }

    public async ValueTask DisposeAsync()
    {
        await Stop.CancelAsync();
        await Run.WaitAsync(TimeSpan.FromSeconds(20));
        Stop.Dispose();
        Client.Dispose();
    }
}

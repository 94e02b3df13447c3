using System.Globalization;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace CtxRelay.Bridge.Internal;

/// <summary>Who a bridge is, as its announcements say (docs/protocol.md, "Bridge announcements").</summary>
internal sealed record BridgeIdentity(string Id, string Host, string? TmuxSession, string Pane, string TaskChannel, string DoneChannel, string Group);

/// <summary>
/// Publishes the bridge's status — <c>started</c>, <c>working</c> (on a task), <c>done</c> (with the task's
/// result), <c>stopped</c> — and, between changes, a heartbeat repeating the current status, as messages on
/// the announcement channel, so a console can list the bridges of a workspace. Announcing never gets in the
/// way of the work: statuses queue in a small buffer (only the newest matter) and go out from a loop of their
/// own; a failure is logged and skipped, and a key that may not publish there turns announcing off.
/// </summary>
internal sealed class BridgeAnnouncer : IAsyncDisposable
{
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(5);

    private readonly ContextRelay _relay;
    private readonly string _channel;
    private readonly BridgeIdentity _identity;
    private readonly TimeSpan _heartbeat;
    private readonly ILogger _logger;
    private readonly Channel<Snapshot> _pending = Channel.CreateBounded<Snapshot>(new BoundedChannelOptions(8) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;
    private volatile Snapshot _current = new("started", Task: null, LastTask: null, LastResult: null);
    private bool _refused;
    private bool _failing;

    public BridgeAnnouncer(ContextRelay relay, string channel, BridgeIdentity identity, TimeSpan heartbeat, ILogger logger)
    {
        _relay = relay;
        _channel = channel;
        _identity = identity;
        _heartbeat = heartbeat;
        _logger = logger;
        _pending.Writer.TryWrite(_current);
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>The agent took a task.</summary>
    public void Working(string taskId) => Post(_current with { Status = "working", Task = taskId });

    /// <summary>The task's result was pushed (<paramref name="result"/>: done, timeout, error, expired).</summary>
    public void Done(string taskId, string result) => Post(new Snapshot("done", Task: null, taskId, result));

    /// <summary>Announces <c>stopped</c> (waiting a few seconds at most) and ends the loop.</summary>
    public async ValueTask DisposeAsync()
    {
        Post(_current with { Status = "stopped", Task = null });
        _pending.Writer.TryComplete();
        try
        {
            await _loop.WaitAsync(StopGrace).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
            await _loop.ConfigureAwait(false);
        }

        _stopping.Dispose();
    }

    private void Post(Snapshot status)
    {
        _current = status;
        _pending.Writer.TryWrite(status);
    }

    private async Task LoopAsync()
    {
        while (!_refused)
        {
            Snapshot next;
            using (var wait = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token))
            {
                wait.CancelAfter(_heartbeat);
                try
                {
                    if (!await _pending.Reader.WaitToReadAsync(wait.Token).ConfigureAwait(false))
                    {
                        return; // stopped, and everything queued went out
                    }

                    next = await _pending.Reader.ReadAsync(wait.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!_stopping.IsCancellationRequested)
                {
                    next = _current with { Heartbeat = true }; // nothing changed for a heartbeat interval
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            await PublishAsync(next).ConfigureAwait(false);
        }
    }

    private async Task PublishAsync(Snapshot status)
    {
        var metadata = new JsonObject
        {
            ["kind"] = "contextrelay.bridge",
            ["bridge"] = _identity.Id,
            ["host"] = _identity.Host,
            ["tmux_session"] = _identity.TmuxSession,
            ["pane"] = _identity.Pane,
            ["task_channel"] = _identity.TaskChannel,
            ["done_channel"] = _identity.DoneChannel,
            ["group"] = _identity.Group,
            ["status"] = status.Status,
            ["task"] = status.Task,
            ["last_task"] = status.LastTask,
            ["last_result"] = status.LastResult,
            ["heartbeat"] = status.Heartbeat,
            ["heartbeat_s"] = (int)Math.Ceiling(_heartbeat.TotalSeconds),
            ["pid"] = Environment.ProcessId,
            ["time"] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
        };
        var text = $"bridge {_identity.Id}: {status.Status}" + (status.Task is null ? string.Empty : $" on task {status.Task}");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        timeout.CancelAfter(PublishTimeout);
        try
        {
            await _relay.PublishAsync(_channel, text, metadata, timeout.Token).ConfigureAwait(false);
            _failing = false;
        }
        catch (Exception ex) when (ex is RelayForbiddenException or RelayAuthException)
        {
            _refused = true;
            Log.AnnouncingOff(_logger, _channel, ex.Message);
        }
        catch (Exception ex) when (ex is RelayException or OperationCanceledException)
        {
            if (!_failing)
            {
                Log.AnnounceFailed(_logger, _channel, ex.Message);
            }

            _failing = true;
        }
    }

    /// <summary>One status; <see cref="Heartbeat"/> marks a repeat sent because nothing changed.</summary>
    private sealed record Snapshot(string Status, string? Task, string? LastTask, string? LastResult, bool Heartbeat = false);
}

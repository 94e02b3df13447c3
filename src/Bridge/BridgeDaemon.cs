using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using CtxRelay.Bridge.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CtxRelay.Bridge;

/// <summary>
/// Serves one agent — a tmux pane, or a command run per task (<c>--exec</c>): takes tasks from the task
/// channel in order, one at a time, hands each to the agent, waits for the end of its turn, and pushes the
/// cleaned answer to the done channel with <c>task_id</c>, <c>status</c> (<c>done</c>, <c>timeout</c>,
/// <c>error</c>), <c>duration_s</c> and <c>summary</c> (and, for a structured outcome, its fields).
/// </summary>
public sealed class BridgeDaemon
{
    /// <summary>What is pushed when the agent wrote nothing (the relay stores no empty payloads); metadata <c>empty: true</c> says so.</summary>
    internal const string EmptyOutput = "(no output)";

    private readonly ContextRelay _relay;
    private readonly BridgeOptions _options;
    private readonly ILogger _logger;
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private PaneFiles? _files;
    private BridgeStatus? _state;
    private BridgeAnnouncer? _announcer;

    public BridgeDaemon(ContextRelay relay, BridgeOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(relay);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.TaskChannel);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.DoneChannel);
        _relay = relay;
        _options = options;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>
    /// Completes once the pane is found and the task channel subscription is registered on the relay:
    /// a task pushed after that is handled. Faults with the start-up error otherwise.
    /// </summary>
    public Task Started => _started.Task;

    /// <summary>Runs until <paramref name="cancellationToken"/> is cancelled or <c>contextrelay-bridge stop</c> asks.</summary>
    /// <exception cref="BridgeException">tmux is missing, the pane does not exist, or a bridge already serves it.</exception>
    /// <exception cref="RelayException">The relay is unreachable or rejects the key.</exception>
    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await RunCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            _started.TrySetException(ex);
            throw;
        }
        finally
        {
            _started.TrySetCanceled(CancellationToken.None);
        }
    }

    private async Task RunCoreAsync(CancellationToken cancellationToken)
    {
        if (_options.Session is { Length: > 0 } && _options.ExecCommand is { Length: > 0 })
        {
            throw new BridgeException("Give either --tmux (an agent in a tmux pane) or --exec (a command run per task), not both.");
        }

        var stateDirectory = _options.StateDirectory ?? PaneFiles.DefaultDirectory();
        IAgent agent;
        PaneFiles files;
        string paneId, paneName, socket;
        string? tmuxSession = null;
        if (_options.Session is { Length: > 0 } session)
        {
            var tmux = new Tmux(_options.TmuxSocket, _options.TmuxExecutable);
            await tmux.VersionAsync(cancellationToken).ConfigureAwait(false);
            var pane = await tmux.ResolvePaneAsync(new PaneTarget(session, _options.Window, _options.Pane, _options.TmuxSocket), cancellationToken).ConfigureAwait(false);
            files = new PaneFiles(stateDirectory, pane.SocketPath, pane.PaneId);
            if (files.ReadLiveState() is { } running)
            {
                throw new BridgeException(
                    $"A bridge (pid {running.Pid}) already serves {pane.Display}, taking tasks from '{running.TaskChannel}'; stop it first with 'contextrelay-bridge stop --tmux {pane.PaneId}'.");
            }

            agent = new AgentPane(tmux, pane, files, _options, _logger);
            (paneId, paneName, socket) = (pane.PaneId, $"{pane.Session}:{pane.Window}.{pane.Pane}", pane.SocketPath);
            tmuxSession = pane.Session;
        }
        else if (_options.ExecCommand is { Length: > 0 } command)
        {
            // Not a pane: state files of its own (for 'status'), named after this process.
            paneId = $"exec-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}";
            files = new PaneFiles(stateDirectory, "exec", paneId);
            agent = new ExecAgent(command, _logger);
            (paneName, socket) = (agent.Display, "exec");
        }
        else
        {
            throw new BridgeException("Say what serves the tasks: --tmux SESSION (an agent in a tmux pane) or --exec CMD (a command run per task).");
        }

        // since=0: a group created by this join takes the channel's retained tasks too, so tasks pushed
        // before any bridge ever joined are served (within --max-task-age); an existing group keeps its place.
        var subscription = await _relay.OpenSubscriptionAsync(
            _options.TaskChannel,
            new SubscriptionOptions { Group = _options.TaskGroup, AckTimeout = AckTimeout(_options.TaskTimeout), Prefetch = 1, Since = 0 },
            cancellationToken).ConfigureAwait(false);
        await using (subscription.ConfigureAwait(false))
        {
            _files = files;
            files.ClearStop();
            files.ClearSignal();
            using var self = Process.GetCurrentProcess();
            _state = new BridgeStatus
            {
                Pid = Environment.ProcessId,
                ProcessStartedAt = self.StartTime.ToUniversalTime(),
                PaneId = paneId,
                Pane = paneName,
                Socket = socket,
                TaskChannel = _options.TaskChannel,
                DoneChannel = _options.DoneChannel,
                Relay = _relay.Options.BaseUrl.AbsoluteUri,
                StartedAt = DateTimeOffset.UtcNow,
            };
            files.WriteState(_state);
            Log.Started(_logger, agent.Display, _options.TaskChannel, _options.DoneChannel, _relay.Options.BaseUrl);
            _announcer = tmuxSession is null ? Announce(paneId, null, "exec") : Announce(paneName, tmuxSession, paneName);
            _started.TrySetResult();

            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var watcher = WatchForStopRequestAsync(files, stop);
            try
            {
                await foreach (var relayEvent in subscription.ReadAllAsync(stop.Token).ConfigureAwait(false))
                {
                    await HandleAsync(agent, relayEvent, subscription.AckAsync, stop.Token).ConfigureAwait(false);
                    await subscription.AckAsync(relayEvent).ConfigureAwait(false); // answered: the group will not hand it out again
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // stopped: by the token, or by 'contextrelay-bridge stop'
            }
            finally
            {
                await stop.CancelAsync().ConfigureAwait(false);
                await watcher.ConfigureAwait(false);
                files.DeleteAll();
                if (_announcer is not null)
                {
                    await _announcer.DisposeAsync().ConfigureAwait(false); // says "stopped"
                }

                Log.Stopped(_logger, agent.Display);
            }
        }
    }

    /// <summary>Starts announcing this bridge on the announcement channel, unless that is turned off.</summary>
    private BridgeAnnouncer? Announce(string name, string? tmuxSession, string pane)
    {
        if (string.IsNullOrWhiteSpace(_options.AnnounceChannel))
        {
            return null;
        }

        var host = Environment.MachineName;
        var identity = new BridgeIdentity($"{host}/{name}", host, tmuxSession, pane, _options.TaskChannel, _options.DoneChannel, _options.TaskGroup);
        return new BridgeAnnouncer(_relay, _options.AnnounceChannel, identity, _options.HeartbeatInterval, _logger);
    }

    private static async Task WatchForStopRequestAsync(PaneFiles files, CancellationTokenSource stop)
    {
        try
        {
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(250));
            while (await timer.WaitForNextTickAsync(stop.Token).ConfigureAwait(false))
            {
                if (files.StopRequested)
                {
                    await stop.CancelAsync().ConfigureAwait(false);
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// The group's ack timeout: longer than any task may run, so a working bridge keeps its task; capped at
    /// the relay's limit of one hour.
    /// </summary>
    internal static TimeSpan AckTimeout(TimeSpan taskTimeout)
        => TimeSpan.FromSeconds(Math.Min(3600, Math.Ceiling((taskTimeout + TimeSpan.FromMinutes(2)).TotalSeconds)));

    private async Task HandleAsync(IAgent agent, RelayEvent relayEvent, Func<RelayEvent, Task> acknowledge, CancellationToken cancellationToken)
    {
        var taskId = MetadataText(relayEvent.Metadata, "task_id") ?? relayEvent.Id ?? $"{relayEvent.Channel}-{relayEvent.Seq}";
        // A caller may ask for a shorter limit than the bridge's own (AgentBridge passes its timeout), never a longer one.
        var timeout = MetadataNumber(relayEvent.Metadata, "timeout_s") is { } seconds and > 0 && TimeSpan.FromSeconds(seconds) < _options.TaskTimeout
            ? TimeSpan.FromSeconds(seconds)
            : _options.TaskTimeout;
        var clock = Stopwatch.StartNew();
        Update(s => s with { Activity = "pulling", TaskId = taskId, TaskStartedAt = DateTimeOffset.UtcNow });
        _announcer?.Working(taskId);

        var outcome = _options.Outcome || MetadataFlag(relayEvent.Metadata, "outcome");
        if (WhyNotRun(relayEvent) is { } expired)
        {
            await PushResultAsync(taskId, new TurnResult(TurnStatus.Error, string.Empty, clock.Elapsed, expired), outcome: false, cancellationToken).ConfigureAwait(false);
            Update(s => s with { Activity = "idle", TaskId = null, TaskStartedAt = null, LastTaskId = taskId, LastStatus = "expired" });
            _announcer?.Done(taskId, "expired");
            return;
        }

        TurnResult result;
        try
        {
            var task = relayEvent.Type == RelayEventType.Push
                ? await _relay.PullAsync(relayEvent.Url ?? relayEvent.Id ?? string.Empty, cancellationToken: cancellationToken).ConfigureAwait(false)
                : relayEvent.Data ?? string.Empty;
            if (string.IsNullOrWhiteSpace(task))
            {
                result = new TurnResult(TurnStatus.Error, string.Empty, clock.Elapsed, "the task is empty");
            }
            else
            {
                Log.TaskReceived(_logger, taskId, task.Length);
                result = await agent.RunTurnAsync(outcome ? task + AgentOutcome.Instruction : task, timeout, activity => Update(s => s with { Activity = activity }), cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Whoever waits for this task hears that it will not be answered.
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await PushResultAsync(taskId, new TurnResult(TurnStatus.Error, string.Empty, clock.Elapsed, "the bridge was stopped before the agent finished"), outcome: false, grace.Token).ConfigureAwait(false);
            try
            {
                await acknowledge(relayEvent).ConfigureAwait(false); // its waiter has its answer: do not run it again
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Unacknowledged, the task goes to the next bridge: at-least-once.
            }

            throw;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Whatever went wrong with this task is reported on the done channel; the bridge goes on.
            result = new TurnResult(TurnStatus.Error, string.Empty, clock.Elapsed, ex.Message);
        }

        Update(s => s with { Activity = "pushing" });
        await PushResultAsync(taskId, result, outcome, cancellationToken).ConfigureAwait(false);
        Update(s => s with
        {
            Activity = "idle",
            TaskId = null,
            TaskStartedAt = null,
            TasksDone = s.TasksDone + 1,
            LastTaskId = taskId,
            LastStatus = StatusText(result.Status),
            LastDurationS = Math.Round(result.Duration.TotalSeconds, 1),
        });
        _announcer?.Done(taskId, StatusText(result.Status));
    }

    /// <summary>
    /// Why a task is answered instead of run, or null to run it: it waited in the queue past its
    /// orchestrator's deadline (nobody waits for it any more), or, without a deadline, it is older than
    /// <see cref="BridgeOptions.MaxTaskAge"/> (say, yesterday's backlog on a channel a bridge joins for the first time).
    /// </summary>
    private string? WhyNotRun(RelayEvent relayEvent)
    {
        var now = DateTimeOffset.UtcNow;
        if (MetadataNumber(relayEvent.Metadata, "deadline_ms") is { } deadline)
        {
            return now.ToUnixTimeMilliseconds() >= deadline ? "the task's deadline passed before a bridge took it" : null;
        }

        var age = now - relayEvent.Timestamp;
        return relayEvent.Timestamp != default && age > _options.MaxTaskAge
            ? $"the task waited {Describe(age)}, longer than the bridge's maximum task age ({Describe(_options.MaxTaskAge)}); it was not run (a longer --max-task-age runs such tasks)"
            : null;
    }

    private static string Describe(TimeSpan duration) => duration switch
    {
        { TotalHours: >= 2 } => $"{duration.TotalHours:0.#} h",
        { TotalMinutes: >= 2 } => $"{duration.TotalMinutes:0} min",
        { TotalSeconds: >= 1 } => $"{duration.TotalSeconds:0} s",
        _ => $"{duration.TotalMilliseconds:0} ms",
    };

    private async Task PushResultAsync(string taskId, TurnResult result, bool outcome, CancellationToken cancellationToken)
    {
        var empty = string.IsNullOrWhiteSpace(result.Output);
        var text = empty ? EmptyOutput : result.Output;
        var metadata = new JsonObject
        {
            ["task_id"] = taskId,
            ["status"] = StatusText(result.Status),
            ["duration_s"] = Math.Round(result.Duration.TotalSeconds, 1),
            ["summary"] = Summary(empty ? result.Reason : text),
            ["reason"] = result.Reason,
        };
        if (empty)
        {
            metadata["empty"] = true;
        }

        if (outcome)
        {
            text = await AddOutcomeAsync(taskId, result.Output, text, metadata, cancellationToken).ConfigureAwait(false);
        }

        if (await PushWithRetryAsync(taskId, text, _options.DoneChannel, metadata, cancellationToken).ConfigureAwait(false) is null)
        {
            return;
        }

        if (result.Status == TurnStatus.Error)
        {
            Log.TaskFailed(_logger, taskId, result.Reason);
        }

        Log.TaskFinished(_logger, taskId, StatusText(result.Status), result.Duration.TotalSeconds, result.Reason, empty ? 0 : text.Length, _options.DoneChannel);
    }

    /// <summary>
    /// For a task that asked for a structured outcome: the result becomes the agent's outcome block, its
    /// fields go into the metadata, and the whole answer is pushed on its own (<c>transcript_url</c>) so
    /// nothing is lost. Without a block, the whole answer stays the result and <c>outcome: "missing"</c> says so.
    /// </summary>
    private async Task<string> AddOutcomeAsync(string taskId, string answer, string text, JsonObject metadata, CancellationToken cancellationToken)
    {
        if (AgentOutcome.Extract(answer) is not { } found)
        {
            metadata["outcome"] = "missing";
            return text;
        }

        metadata["outcome"] = "found";
        metadata["completed"] = found.Completed;
        metadata["not_done"] = found.NotDone;
        metadata["notes"] = found.Notes;
        if (found.Completed.Length > 0)
        {
            metadata["summary"] = Summary(found.Completed.TrimStart('-', '*', ' '));
        }

        var transcriptMetadata = new JsonObject { ["task_id"] = taskId, ["kind"] = "transcript" };
        if (await PushWithRetryAsync(taskId, answer, channel: null, transcriptMetadata, cancellationToken).ConfigureAwait(false) is not { } transcript)
        {
            Log.TranscriptFailed(_logger, taskId, "see the previous warning");
            return text;
        }

        metadata["transcript_url"] = transcript.Url;
        return found.Block;
    }

    /// <summary>Pushes, retrying twice when the relay is unreachable; null (logged) when it cannot.</summary>
    private async Task<PushResult?> PushWithRetryAsync(string taskId, string text, string? channel, JsonObject metadata, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await _relay.PushWithResultAsync(text, channel, metadata, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (RelayUnavailableException ex) when (attempt < 3)
            {
                Log.PushRetry(_logger, taskId, ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(attempt), cancellationToken).ConfigureAwait(false);
            }
            catch (RelayException ex)
            {
                Log.TaskFailed(_logger, taskId, "the result could not be pushed: " + ex.Message);
                return null;
            }
        }
    }

    private void Update(Func<BridgeStatus, BridgeStatus> change)
    {
        if (_state is null || _files is null)
        {
            return;
        }

        _state = change(_state);
        try
        {
            _files.WriteState(_state);
        }
        catch (IOException)
        {
            // status is best effort; the work goes on
        }
    }

    internal static string Summary(string text)
    {
        var first = text.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0) ?? string.Empty;
        return first.Length <= 200 ? first : first[..199] + "…";
    }

    private static string StatusText(TurnStatus status) => status switch
    {
        TurnStatus.Done => "done",
        TurnStatus.Timeout => "timeout",
        _ => "error",
    };

    private static string? MetadataText(JsonObject metadata, string name)
        => metadata[name] is JsonValue value && value.TryGetValue<string>(out var text) && !string.IsNullOrWhiteSpace(text) ? text : null;

    private static bool MetadataFlag(JsonObject metadata, string name)
        => metadata[name] is JsonValue value
           && ((value.TryGetValue<bool>(out var flag) && flag) || (value.TryGetValue<string>(out var text) && text is "true" or "1" or "yes"));

    private static double? MetadataNumber(JsonObject metadata, string name)
    {
        if (metadata[name] is not JsonValue value)
        {
            return null;
        }

        if (value.TryGetValue<double>(out var number))
        {
            return number;
        }

        return value.TryGetValue<string>(out var text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out number) ? number : null;
    }
}

using System.Globalization;
using System.Text.Json.Nodes;

namespace CtxRelay;

/// <summary>How a coding agent's task ended, as reported by <c>contextrelay-bridge</c>.</summary>
public enum AgentTaskStatus
{
    /// <summary>The agent finished its turn; the result is its answer.</summary>
    Done,

    /// <summary>The agent did not finish within the bridge's limit; the result is what it had written.</summary>
    Timeout,

    /// <summary>The bridge could not run the task (or was stopped); the result may be empty.</summary>
    Error,
}

/// <summary>The answer to one task handed to an agent through a bridge.</summary>
/// <param name="TaskId">The id the task was pushed with (metadata <c>task_id</c>).</param>
/// <param name="Output">What the agent answered, as plain text (empty when it wrote nothing).</param>
/// <param name="Summary">The answer's first line (or, without output, why there is none).</param>
/// <param name="Duration">How long the agent took, as the bridge measured it.</param>
/// <param name="Url">The result payload's URL on the relay.</param>
public sealed record AgentResult(string TaskId, AgentTaskStatus Status, string Output, string Summary, TimeSpan Duration, string Url)
{
    /// <summary>
    /// The agent's structured outcome block, when its answer carries one (a task sent with
    /// <see cref="AgentTaskOptions.Outcome"/>, or any result of the hosted Python package's bridge, which
    /// always asks for it). <see cref="Output"/> is then the block itself.
    /// </summary>
    public AgentOutcome? Outcome { get; init; }

    /// <summary>How the task ended, in the bridge's words (metadata <c>reason</c>), e.g. why it could not be run; null when the bridge gave none.</summary>
    public string? Reason { get; init; }

    /// <summary>With an outcome: the full cleaned answer, pushed as a payload of its own (metadata <c>transcript_url</c>).</summary>
    public string? TranscriptUrl { get; init; }

    /// <summary>
    /// False when the result carried no <c>task_id</c> (the hosted Python package's bridge reports only a
    /// summary) and was taken as the answer because it was the first result after the push, as the Python
    /// package's <c>push_and_wait</c> does; its status then counts as done.
    /// </summary>
    public bool Correlated { get; init; } = true;
}

/// <summary>How to hand one task to an agent.</summary>
public sealed record AgentTaskOptions
{
    public static AgentTaskOptions Default { get; } = new();

    /// <summary>How long to wait for the answer in all; null waits until the token cancels. Travels with the task (<c>timeout_s</c>, <c>deadline_ms</c>).</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>
    /// Ask for a structured outcome (metadata <c>outcome: true</c>): the bridge appends
    /// <see cref="AgentOutcome.Instruction"/> to the task and answers with the agent's outcome block,
    /// its fields in the result's metadata and the full answer as a separate payload.
    /// </summary>
    public bool Outcome { get; init; }
}

/// <summary>A task on the task channel: its id (metadata <c>task_id</c>) and payload URL.</summary>
public sealed record AgentTaskReceipt(string TaskId, string Url);

/// <summary>
/// Hands tasks to a coding agent served by <c>contextrelay-bridge</c> and waits for its answers:
/// the task goes to the task channel, the answer comes back on the done channel, matched by task id,
/// so any number of callers can wait on one done channel at once.
/// </summary>
/// <example>
/// <code>
/// var bridge = new AgentBridge(relay, taskChannel: "vibe-tasks", doneChannel: "vibe-done");
/// string result = await bridge.PushAndWaitAsync("Refactor the auth module…", timeout: TimeSpan.FromMinutes(30), ct);
/// </code>
/// </example>
public sealed class AgentBridge
{
    private readonly ContextRelay _relay;

    public AgentBridge(ContextRelay relay, string taskChannel, string doneChannel)
    {
        ArgumentNullException.ThrowIfNull(relay);
        ArgumentException.ThrowIfNullOrWhiteSpace(taskChannel);
        ArgumentException.ThrowIfNullOrWhiteSpace(doneChannel);
        _relay = relay;
        TaskChannel = taskChannel;
        DoneChannel = doneChannel;
    }

    public string TaskChannel { get; }

    public string DoneChannel { get; }

    /// <summary>
    /// Pushes <paramref name="task"/> and returns the agent's answer once the bridge reports it.
    /// </summary>
    /// <param name="timeout">How long to wait in all; null waits until <paramref name="cancellationToken"/> cancels.</param>
    /// <exception cref="AgentBridgeTimeoutException">No answer in time, or the bridge reported <c>timeout</c> (then <see cref="AgentBridgeException.Output"/> holds what the agent had written).</exception>
    /// <exception cref="AgentBridgeException">The bridge reported <c>error</c>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task<string> PushAndWaitAsync(string task, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
        => PushAndWaitAsync(task, AgentTaskOptions.Default with { Timeout = timeout }, cancellationToken);

    /// <inheritdoc cref="PushAndWaitAsync(string, TimeSpan?, CancellationToken)"/>
    public async Task<string> PushAndWaitAsync(string task, AgentTaskOptions options, CancellationToken cancellationToken = default)
    {
        var result = await PushAndWaitForResultAsync(task, options, cancellationToken).ConfigureAwait(false);
        return result.Status switch
        {
            AgentTaskStatus.Done => result.Output,
            AgentTaskStatus.Timeout => throw new AgentBridgeTimeoutException(
                $"The agent did not finish task {result.TaskId} within the bridge's limit ({result.Duration.TotalSeconds:0} s); Output holds what it had written.",
                result.TaskId,
                result.Output),
            _ => throw new AgentBridgeException(
                $"The bridge could not complete task {result.TaskId}: {result.Summary}",
                result.TaskId,
                AgentTaskStatus.Error,
                result.Output),
        };
    }

    /// <summary>
    /// Pushes <paramref name="task"/> and returns the bridge's report, whatever its status (only a
    /// missing answer throws). The done channel is subscribed before the task is pushed, so the answer
    /// cannot be missed however fast it comes.
    /// </summary>
    /// <inheritdoc cref="PushAndWaitAsync(string, TimeSpan?, CancellationToken)" path="/param"/>
    /// <exception cref="AgentBridgeTimeoutException">No answer within <paramref name="timeout"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task<AgentResult> PushAndWaitForResultAsync(string task, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
        => PushAndWaitForResultAsync(task, AgentTaskOptions.Default with { Timeout = timeout }, cancellationToken);

    /// <summary>
    /// Pushes <paramref name="task"/> and returns the bridge's report, whatever its status (only a
    /// missing answer throws). The answer is the result whose <c>task_id</c> is this task's; a result
    /// without any <c>task_id</c> (from the hosted Python package's bridge) is taken when it is the first
    /// such result after the push, as the Python package's <c>push_and_wait</c> does.
    /// </summary>
    /// <exception cref="AgentBridgeTimeoutException">No answer within <see cref="AgentTaskOptions.Timeout"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<AgentResult> PushAndWaitForResultAsync(string task, AgentTaskOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(task);
        ArgumentNullException.ThrowIfNull(options);
        var timeout = options.Timeout;
        ValidateTimeout(timeout);

        var taskId = NewTaskId();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (timeout is { } t && t != Timeout.InfiniteTimeSpan)
        {
            deadline.CancelAfter(t);
        }

        try
        {
            var subscription = await _relay.OpenSubscriptionAsync(DoneChannel, cancellationToken: deadline.Token).ConfigureAwait(false);
            await using (subscription.ConfigureAwait(false))
            {
                // Results without a task_id count only when they arrive after this point.
                var before = subscription.LastSeq;
                await PushAsync(task, taskId, options, deadline.Token).ConfigureAwait(false);
                var done = await subscription.WaitForAsync(
                    e => e.Type == RelayEventType.Push && (Text(e.Metadata, "task_id") is { } id ? id == taskId : e.Seq > before),
                    deadline.Token).ConfigureAwait(false);
                var correlated = Text(done.Metadata, "task_id") is not null;
                var empty = done.Metadata["empty"] is JsonValue flag && flag.TryGetValue<bool>(out var isEmpty) && isEmpty;
                var output = !empty
                    ? await _relay.PullAsync(done.Url ?? done.Id ?? string.Empty, cancellationToken: deadline.Token).ConfigureAwait(false)
                    : string.Empty;
                var status = Text(done.Metadata, "status");
                return new AgentResult(
                    taskId,
                    status is null && !correlated ? AgentTaskStatus.Done : ParseStatus(status),
                    output,
                    Text(done.Metadata, "summary") ?? string.Empty,
                    TimeSpan.FromSeconds(Number(done.Metadata, "duration_s") ?? 0),
                    done.Url ?? done.Id ?? string.Empty)
                {
                    Reason = Text(done.Metadata, "reason"),
                    Outcome = AgentOutcome.Extract(output),
                    TranscriptUrl = Text(done.Metadata, "transcript_url"),
                    Correlated = correlated,
                };
            }
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested && deadline.IsCancellationRequested)
        {
            throw new AgentBridgeTimeoutException(
                $"No answer to task {taskId} on '{DoneChannel}' within {timeout}. Is a bridge serving '{TaskChannel}'? ('contextrelay-bridge status' tells.)",
                taskId,
                output: null,
                ex);
        }
        catch (OperationCanceledException ex) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException($"Cancelled while waiting for the answer to task {taskId} on '{DoneChannel}'.", ex, cancellationToken);
        }
    }

    /// <summary>
    /// Pushes <paramref name="task"/> to the task channel without waiting for the answer ("fire and
    /// forget"; a bridge that starts later still serves it). The answer will carry the returned task id.
    /// </summary>
    public async Task<AgentTaskReceipt> SendAsync(string task, AgentTaskOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(task);
        options ??= AgentTaskOptions.Default;
        ValidateTimeout(options.Timeout);
        var taskId = NewTaskId();
        var pushed = await PushAsync(task, taskId, options, cancellationToken).ConfigureAwait(false);
        return new AgentTaskReceipt(taskId, pushed.Url);
    }

    private Task<PushResult> PushAsync(string task, string taskId, AgentTaskOptions options, CancellationToken cancellationToken)
    {
        // summary: what the hosted Python package puts on its tasks (their first 80 characters).
        var metadata = new JsonObject { ["task_id"] = taskId, ["summary"] = task.Length <= 80 ? task : task[..80] };
        if (options.Outcome)
        {
            metadata["outcome"] = true;
        }

        if (options.Timeout is { } bridgeLimit && bridgeLimit != Timeout.InfiniteTimeSpan)
        {
            // Let the bridge give up a little earlier, so its timeout report (with what the
            // agent wrote) arrives before this wait ends.
            var margin = TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(10).Ticks, bridgeLimit.Ticks / 5));
            metadata["timeout_s"] = Math.Max(1, Math.Round((bridgeLimit - margin).TotalSeconds, 1));

            // Nobody waits after this moment: a bridge that only gets to the task later skips it.
            metadata["deadline_ms"] = DateTimeOffset.UtcNow.Add(bridgeLimit).ToUnixTimeMilliseconds();
        }

        return _relay.PushWithResultAsync(task, TaskChannel, metadata, cancellationToken: cancellationToken);
    }

    private static string NewTaskId() => Guid.NewGuid().ToString("N");

    private static void ValidateTimeout(TimeSpan? timeout)
    {
        if (timeout is { } limit && limit <= TimeSpan.Zero && limit != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), "The timeout must be positive.");
        }
    }

    private static AgentTaskStatus ParseStatus(string? status) => status switch
    {
        "done" => AgentTaskStatus.Done,
        "timeout" => AgentTaskStatus.Timeout,
        _ => AgentTaskStatus.Error,
    };

    private static string? Text(JsonObject metadata, string name)
        => metadata[name] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    private static double? Number(JsonObject metadata, string name)
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

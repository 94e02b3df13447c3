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
public sealed record AgentResult(string TaskId, AgentTaskStatus Status, string Output, string Summary, TimeSpan Duration, string Url);

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
    public async Task<string> PushAndWaitAsync(string task, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var result = await PushAndWaitForResultAsync(task, timeout, cancellationToken).ConfigureAwait(false);
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
    /// <inheritdoc cref="PushAndWaitAsync" path="/param"/>
    /// <exception cref="AgentBridgeTimeoutException">No answer within <paramref name="timeout"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<AgentResult> PushAndWaitForResultAsync(string task, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(task);
        if (timeout is { } limit && limit <= TimeSpan.Zero && limit != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), "The timeout must be positive.");
        }

        var taskId = Guid.NewGuid().ToString("N");
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
                var metadata = new JsonObject { ["task_id"] = taskId };
                if (timeout is { } bridgeLimit && bridgeLimit != Timeout.InfiniteTimeSpan)
                {
                    // Let the bridge give up a little earlier, so its timeout report (with what the
                    // agent wrote) arrives before this wait ends.
                    var margin = TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(10).Ticks, bridgeLimit.Ticks / 5));
                    metadata["timeout_s"] = Math.Max(1, Math.Round((bridgeLimit - margin).TotalSeconds, 1));

                    // Nobody waits after this moment: a bridge that only gets to the task later skips it.
                    metadata["deadline_ms"] = DateTimeOffset.UtcNow.Add(bridgeLimit).ToUnixTimeMilliseconds();
                }

                await _relay.PushWithResultAsync(task, TaskChannel, metadata, cancellationToken: deadline.Token).ConfigureAwait(false);
                var done = await subscription.WaitForAsync(
                    e => e.Type == RelayEventType.Push && Text(e.Metadata, "task_id") == taskId,
                    deadline.Token).ConfigureAwait(false);
                var empty = done.Metadata["empty"] is JsonValue flag && flag.TryGetValue<bool>(out var isEmpty) && isEmpty;
                var output = !empty
                    ? await _relay.PullAsync(done.Url ?? done.Id ?? string.Empty, cancellationToken: deadline.Token).ConfigureAwait(false)
                    : string.Empty;
                return new AgentResult(
                    taskId,
                    ParseStatus(Text(done.Metadata, "status")),
                    output,
                    Text(done.Metadata, "summary") ?? string.Empty,
                    TimeSpan.FromSeconds(Number(done.Metadata, "duration_s") ?? 0),
                    done.Url ?? done.Id ?? string.Empty);
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

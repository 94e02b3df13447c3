namespace CtxRelay;

/// <summary>
/// A task handed to an agent through <see cref="AgentBridge"/> did not end with an answer: the bridge
/// reported <c>error</c> (or <c>timeout</c>, as <see cref="AgentBridgeTimeoutException"/>).
/// <see cref="Output"/> carries what the bridge captured from the agent, if anything.
/// </summary>
public class AgentBridgeException : RelayException
{
    public AgentBridgeException(string message, string taskId, AgentTaskStatus status, string? output, Exception? innerException = null)
        : base(message, problem: null, innerException)
    {
        TaskId = taskId;
        Status = status;
        Output = output;
    }

    /// <summary>The id the task was pushed with.</summary>
    public string TaskId { get; }

    public AgentTaskStatus Status { get; }

    /// <summary>What the agent had written when the task ended; null when no answer arrived at all.</summary>
    public string? Output { get; }
}

/// <summary>
/// The task took too long: either no answer arrived within the caller's timeout (<see cref="AgentBridgeException.Output"/>
/// is null), or the bridge gave up on the agent and reported <c>timeout</c> with what it had written.
/// </summary>
public sealed class AgentBridgeTimeoutException(string message, string taskId, string? output, Exception? innerException = null)
    : AgentBridgeException(message, taskId, AgentTaskStatus.Timeout, output, innerException);

namespace CtxRelay.Bridge.Internal;

/// <summary>What the bridge hands tasks to: an agent in a tmux pane (<see cref="AgentPane"/>) or a command run per task (<see cref="ExecAgent"/>).</summary>
internal interface IAgent
{
    /// <summary>How logs and <c>status</c> name the agent.</summary>
    string Display { get; }

    /// <summary>Hands <paramref name="task"/> to the agent and returns its answer, or a timeout after <paramref name="timeout"/>.</summary>
    /// <param name="activity">Told what the turn is doing (for <c>status</c>).</param>
    Task<TurnResult> RunTurnAsync(string task, TimeSpan timeout, Action<string> activity, CancellationToken cancellationToken);
}

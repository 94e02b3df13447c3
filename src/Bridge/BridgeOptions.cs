namespace CtxRelay.Bridge;

/// <summary>Settings of a <see cref="BridgeDaemon"/>: which pane, which channels, and how to judge the agent.</summary>
public sealed record BridgeOptions
{
    /// <summary>The tmux session (or a pane id such as <c>%3</c>).</summary>
    public required string Session { get; init; }

    /// <summary>The window in the session; null for its current window.</summary>
    public string? Window { get; init; }

    /// <summary>The pane in the window; null for its active pane.</summary>
    public string? Pane { get; init; }

    /// <summary>The tmux server: a socket name (<c>tmux -L</c>) or path (<c>tmux -S</c>); null for the default server.</summary>
    public string? TmuxSocket { get; init; }

    /// <summary>The channel tasks arrive on.</summary>
    public required string TaskChannel { get; init; }

    /// <summary>The channel results are pushed to.</summary>
    public required string DoneChannel { get; init; }

    /// <summary>
    /// The queue group the bridge joins on the task channel. Bridges in one group share its tasks — each
    /// task goes to one bridge (one agent) — and tasks pushed while no bridge runs wait for one. A task is
    /// acknowledged once its result is pushed; a bridge that dies mid-task hands it to the next one.
    /// </summary>
    public string TaskGroup { get; init; } = "contextrelay-bridge";

    /// <summary>How long a task may take before it ends with <c>status: timeout</c> (a task's <c>timeout_s</c> metadata may shorten it).</summary>
    public TimeSpan TaskTimeout { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// Without a Stop-hook signal, the agent counts as finished once no busy marker shows, the prompt is
    /// back, and the screen has not changed for this long.
    /// </summary>
    public TimeSpan QuietPeriod { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>The pause between the paste and the Enter that submits it.</summary>
    public TimeSpan SubmitDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How often the pane is looked at while the agent works.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(150);

    /// <summary>Press Esc in the pane when a task times out, so the agent stops and the next task finds a prompt.</summary>
    public bool InterruptOnTimeout { get; init; } = true;

    /// <summary>A regular expression for the agent's input prompt line; null for Claude Code's (<c>&gt;</c>, <c>❯</c>, boxed or not).</summary>
    public string? PromptPattern { get; init; }

    /// <summary>Where the per-pane state, signal and stop files live; null for <c>$CONTEXTRELAY_BRIDGE_STATE_DIR</c> or <c>~/.contextrelay/bridge</c>.</summary>
    public string? StateDirectory { get; init; }

    /// <summary>The tmux executable.</summary>
    public string TmuxExecutable { get; init; } = "tmux";
}

namespace CtxRelay.Bridge;

/// <summary>
/// Settings of a <see cref="BridgeDaemon"/>: which agent (a tmux pane, or a command run per task), which
/// channels, and how to judge the agent.
/// </summary>
public sealed record BridgeOptions
{
    /// <summary>The task channel when none is given: the hosted Python package's default.</summary>
    public const string DefaultTaskChannel = "agent-tasks";

    /// <summary>The done channel when none is given: the hosted Python package's default.</summary>
    public const string DefaultDoneChannel = "agent-done";

    /// <summary>The tmux session (or a pane id such as <c>%3</c>) of the agent. Exactly one of this and <see cref="ExecCommand"/>.</summary>
    public string? Session { get; init; }

    /// <summary>
    /// Instead of a tmux pane: a command run per task through <c>/bin/sh -c</c>, with the task on standard
    /// input. Its standard output and error (interleaved) are the answer, its exit code sets the status
    /// (0 done, else error), and the task timeout kills it with every process it started.
    /// </summary>
    public string? ExecCommand { get; init; }

    /// <summary>The window in the session; null for its current window.</summary>
    public string? Window { get; init; }

    /// <summary>The pane in the window; null for its active pane.</summary>
    public string? Pane { get; init; }

    /// <summary>The tmux server: a socket name (<c>tmux -L</c>) or path (<c>tmux -S</c>); null for the default server.</summary>
    public string? TmuxSocket { get; init; }

    /// <summary>The channel tasks arrive on.</summary>
    public string TaskChannel { get; init; } = DefaultTaskChannel;

    /// <summary>The channel results are pushed to.</summary>
    public string DoneChannel { get; init; } = DefaultDoneChannel;

    /// <summary>
    /// The queue group the bridge joins on the task channel. Bridges in one group share its tasks — each
    /// task goes to one bridge (one agent) — and tasks pushed while no bridge runs wait for one. A task is
    /// acknowledged once its result is pushed; a bridge that dies mid-task hands it to the next one.
    /// </summary>
    public string TaskGroup { get; init; } = "contextrelay-bridge";

    /// <summary>How long a task may take before it ends with <c>status: timeout</c> (a task's <c>timeout_s</c> metadata may shorten it).</summary>
    public TimeSpan TaskTimeout { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// The oldest task the bridge still runs, by the relay's timestamp on the task event. The bridge's
    /// queue group takes the channel's retained tasks (up to 24 h) when it is first created, so tasks
    /// pushed before any bridge ever ran are served; older ones are answered with <c>status: error</c>
    /// instead of being run. Tasks with an orchestrator deadline (<c>deadline_ms</c>) follow the deadline
    /// instead.
    /// </summary>
    public TimeSpan MaxTaskAge { get; init; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Ask for a structured outcome on every task (a task may also ask with metadata <c>outcome: true</c>):
    /// the outcome instruction is appended to the task, the result is the agent's outcome block, its fields
    /// go into the result's metadata, and the full answer is pushed as a separate payload.
    /// </summary>
    public bool Outcome { get; init; }

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

    /// <summary>The channel bridges announce themselves on when none is given (docs/protocol.md, "Bridge announcements").</summary>
    public const string DefaultAnnounceChannel = "contextrelay.bridges";

    /// <summary>
    /// Where the bridge publishes its status (started, working, done, stopped) and a heartbeat, for the
    /// relay's console; null or empty turns announcing off. A key that may not publish there just skips it.
    /// </summary>
    public string? AnnounceChannel { get; init; } = DefaultAnnounceChannel;

    /// <summary>How often an unchanged status is announced again, so a console can tell a live bridge from a dead one.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The tmux executable.</summary>
    public string TmuxExecutable { get; init; } = "tmux";
}

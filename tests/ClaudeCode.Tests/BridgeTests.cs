using CtxRelay.Bridge;
using CtxRelay.ClaudeCode.Tests.Support;
using CtxRelay.Testing;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace CtxRelay.ClaudeCode.Tests;

/// <summary>
/// contextrelay-bridge driving the real interactive Claude Code TUI in a real tmux pane: an orchestrator's
/// <see cref="AgentBridge"/> → a real relay → the bridge daemon → Claude Code (whose model is scripted)
/// → back. Without the Stop hook the bridge reads the screen (busy spinner, prompt, chrome stripping);
/// with it, Claude Code's own Stop hook ends the turn and hands over the model's message.
/// </summary>
[Collection(TuiCollection.Name)]
public sealed class BridgeTests(RelayFixture relay, ITestOutputHelper output) : IClassFixture<RelayFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    /// <summary>Long enough for the TUI to show its spinner while the model "thinks".</summary>
    private static readonly TimeSpan Thinking = TimeSpan.FromSeconds(2);

    private const string OneLineTask = "Summarise the retry policy of the HTTP client in one sentence.";

    // With a blank line inside: the echo of the task is dropped whole, not only up to its first blank line.
    private const string MultiLineTask = "Refactor the auth module:\n- async token refresh\n- keep the public API\n\nThen list what changed.";

    // Markdown the TUI renders (bold, inline code): the screen shows it without the markers; the Stop
    // hook hands over the model's message as written.
    private const string OneLineAnswer = "The client retries **three times** with exponential backoff, capped at `8 s`.";

    private const string MultiLineAnswer = "Refactored the auth module.\n\n- **TokenService**: refresh is now `async`\n- **AuthClient**: public API unchanged\n\nAll 42 tests pass.";

    public static TheoryData<bool> WithAndWithoutHook => new() { false, true };

    [Theory]
    [MemberData(nameof(WithAndWithoutHook))]
    public async Task OneLineTask_TheOrchestratorGetsTheModelsAnswer_Cleaned(bool stopHook)
    {
        using var timeout = new CancellationTokenSource(Patience);
        await using var model = await FakeAnthropicApi.StartAsync(timeout.Token);
        model.WhenUserSays("retry policy", ScriptedReply.Say(OneLineAnswer, Thinking));
        await using var agent = await StartAgentAsync(model, stopHook, timeout.Token);

        var result = await agent.Orchestrator.PushAndWaitForResultAsync(OneLineTask, Patience, timeout.Token);

        Assert.Equal(AgentTaskStatus.Done, result.Status);
        Assert.Equal(OneLineTask, Assert.Single(model.AgentTurns).UserPrompt); // typed in whole, submitted once
        Assert.Equal(stopHook ? OneLineAnswer : "The client retries three times with exponential backoff, capped at 8 s.", result.Output);
        await AssertEndedByAsync(agent, result, stopHook, timeout.Token);
    }

    [Theory]
    [MemberData(nameof(WithAndWithoutHook))]
    public async Task MultiLineTask_ArrivesAsOneMessage_AndTheAnswerComesBackWithoutTheEcho(bool stopHook)
    {
        using var timeout = new CancellationTokenSource(Patience);
        await using var model = await FakeAnthropicApi.StartAsync(timeout.Token);
        model.WhenUserSays("Refactor the auth module", ScriptedReply.Say(MultiLineAnswer, Thinking));
        await using var agent = await StartAgentAsync(model, stopHook, timeout.Token);

        var result = await agent.Orchestrator.PushAndWaitForResultAsync(MultiLineTask, Patience, timeout.Token);

        Assert.Equal(AgentTaskStatus.Done, result.Status);
        // Claude Code 2.1.331 sends a multi-line paste to the model wrapped as <pasted_content id="…">…</pasted_content id="…">.
        var prompt = Assert.Single(model.AgentTurns).UserPrompt;
        output.WriteLine(prompt);
        Assert.Matches("^\\s*<pasted_content id=\"[^\"]+\">\\n" + System.Text.RegularExpressions.Regex.Escape(MultiLineTask) + "\\n</pasted_content[^>]*>\\s*$", prompt);
        var expected = stopHook
            ? MultiLineAnswer
            : "Refactored the auth module.\n\n- TokenService: refresh is now async\n- AuthClient: public API unchanged\n\nAll 42 tests pass.";
        Assert.Equal(expected, result.Output);
        await AssertEndedByAsync(agent, result, stopHook, timeout.Token);
    }

    [Theory]
    [MemberData(nameof(WithAndWithoutHook))]
    public async Task AnswerLongerThanTheScreen_ComesBackWhole(bool stopHook)
    {
        using var timeout = new CancellationTokenSource(Patience);
        await using var model = await FakeAnthropicApi.StartAsync(timeout.Token);
        var answer = Answers.LongAnswer(120); // four screens of a 30-row pane
        model.WhenUserSays("Write the long report", ScriptedReply.Say(answer, Thinking));
        await using var agent = await StartAgentAsync(model, stopHook, timeout.Token);

        var result = await agent.Orchestrator.PushAndWaitForResultAsync("Write the long report.", Patience, timeout.Token);

        Assert.Equal(AgentTaskStatus.Done, result.Status);
        Assert.Equal(answer, result.Output);
        await AssertEndedByAsync(agent, result, stopHook, timeout.Token);
    }

    [Fact]
    public async Task TwoTasksInARow_EachGetsItsOwnAnswer_NotThePreviousOne()
    {
        using var timeout = new CancellationTokenSource(Patience);
        await using var model = await FakeAnthropicApi.StartAsync(timeout.Token);
        model.WhenUserSays("First task", ScriptedReply.Say("Answer to the first task.", Thinking))
             .WhenUserSays("Second task", ScriptedReply.Say("Answer to the second task.", Thinking));
        await using var agent = await StartAgentAsync(model, stopHook: false, timeout.Token);

        var first = await agent.Orchestrator.PushAndWaitAsync("First task: look at the logs.", Patience, timeout.Token);
        var second = await agent.Orchestrator.PushAndWaitAsync("Second task: fix the warning.", Patience, timeout.Token);

        Assert.Equal("Answer to the first task.", first);
        Assert.Equal("Answer to the second task.", second);
    }

    [Fact]
    public async Task TheAgentHandsOnAPayloadByUrl_ThroughContextRelayMcp_AndTheOrchestratorPullsIt()
    {
        // The whole chain: orchestrator → relay → bridge → Claude Code TUI → (model asks) contextrelay-mcp
        // → relay; the answer carries the URL back, and the orchestrator pulls the payload with the SDK.
        using var timeout = new CancellationTokenSource(Patience);
        await using var model = await FakeAnthropicApi.StartAsync(timeout.Token);
        var payload = "Review of PR-441\n" + string.Concat(Enumerable.Range(1, 300).Select(i => $"finding {i}: the retry loop ignores the token\n"));
        model.WhenUserSays("Hand the review on", ScriptedReply.CallTool("mcp__contextrelay__push_context", new { data = payload, summary = "PR-441 review" }, "Pushing the review."))
             .WhenToolResult(result => ScriptedReply.Say("Pushed the review:\n" + result.Split('\n')[0], Thinking));
        await using var agent = await StartAgentAsync(model, stopHook: false, timeout.Token, prepare: sandbox =>
        {
            sandbox.WriteMcpConfig(relay.BaseUrl, relay.ApiKey);
            sandbox.WriteProjectSettings(new System.Text.Json.Nodes.JsonObject
            {
                ["enableAllProjectMcpServers"] = true, // no "use this .mcp.json server?" dialog
                ["permissions"] = new System.Text.Json.Nodes.JsonObject { ["allow"] = new System.Text.Json.Nodes.JsonArray("mcp__contextrelay__push_context") },
            });
        });

        var result = await agent.Orchestrator.PushAndWaitAsync("Hand the review on to the next agent.", Patience, timeout.Token);

        var lines = result.Split('\n');
        Assert.Equal(["Pushing the review.", "", "Pushed the review:"], lines[..^1]);
        Assert.StartsWith(relay.BaseUrl + "/pull/", lines[^1], StringComparison.Ordinal);
        Assert.Equal(payload, await agent.Client.PullAsync(lines[^1], cancellationToken: timeout.Token));
    }

    // Claude Code 2.1.331 gives fresh installs its full-screen renderer (alternate screen, virtual
    // scrolling: nothing reaches tmux's scrollback) unless "tui": "default" is set. The Stop hook makes
    // that irrelevant; without it the bridge can only read what is on the screen.
    [Fact]
    public async Task FullscreenRenderer_WithStopHook_LongAnswerComesBackWhole()
    {
        using var timeout = new CancellationTokenSource(Patience);
        await using var model = await FakeAnthropicApi.StartAsync(timeout.Token);
        var answer = Answers.LongAnswer(60);
        model.WhenUserSays("Write the long report", ScriptedReply.Say(answer, Thinking));
        await using var agent = await StartAgentAsync(model, stopHook: true, timeout.Token, classicRenderer: false);

        var result = await agent.Orchestrator.PushAndWaitForResultAsync("Write the long report.", Patience, timeout.Token);

        Assert.Equal("1", (await agent.Tui.RunAsync(timeout.Token, "display-message", "-p", "-t", ClaudeTui.Session, "#{alternate_on}")).Trim());
        Assert.Equal(AgentTaskStatus.Done, result.Status);
        Assert.Equal(answer, result.Output);
        await AssertEndedByAsync(agent, result, stopHook: true, timeout.Token);
    }

    [Fact]
    public async Task FullscreenRenderer_WithoutHook_AShortAnswerComesBackCleaned()
    {
        using var timeout = new CancellationTokenSource(Patience);
        await using var model = await FakeAnthropicApi.StartAsync(timeout.Token);
        model.WhenUserSays("retry policy", ScriptedReply.Say(OneLineAnswer, Thinking));
        await using var agent = await StartAgentAsync(model, stopHook: false, timeout.Token, classicRenderer: false);

        var result = await agent.Orchestrator.PushAndWaitForResultAsync(OneLineTask, Patience, timeout.Token);

        Assert.Equal(AgentTaskStatus.Done, result.Status);
        Assert.Equal("The client retries three times with exponential backoff, capped at 8 s.", result.Output);
    }

    [Fact]
    public async Task FullscreenRenderer_WithoutHook_OnlyTheVisibleEndOfALongAnswerComesBack()
    {
        // A known limit (src/Bridge/README.md, "Limits"), kept visible here: on the alternate screen the
        // lines that scrolled away are gone for tmux, so the bridge returns the visible tail.
        using var timeout = new CancellationTokenSource(Patience);
        await using var model = await FakeAnthropicApi.StartAsync(timeout.Token);
        var answer = Answers.LongAnswer(60);
        model.WhenUserSays("Write the long report", ScriptedReply.Say(answer, Thinking));
        await using var agent = await StartAgentAsync(model, stopHook: false, timeout.Token, classicRenderer: false);

        var result = await agent.Orchestrator.PushAndWaitForResultAsync("Write the long report.", Patience, timeout.Token);

        Assert.Equal(AgentTaskStatus.Done, result.Status);
        Assert.NotEqual(answer, result.Output);
        Assert.EndsWith("\n\nThat was all.", result.Output, StringComparison.Ordinal);
        Assert.EndsWith(result.Output, answer, StringComparison.Ordinal); // a clean tail of the answer: no chrome, no echo
        Assert.InRange(result.Output.Split('\n').Length, 10, 30);
    }

    /// <summary>The done payload's <c>reason</c> says how the bridge saw the turn end.</summary>
    private static async Task AssertEndedByAsync(Agent agent, AgentResult result, bool stopHook, CancellationToken cancellationToken)
    {
        var info = await agent.Client.PeekAsync(result.Url, cancellationToken);
        var reason = info.Metadata["reason"]!.GetValue<string>();
        Assert.Contains(stopHook ? "Stop hook" : "prompt came back", reason, StringComparison.Ordinal);
    }

    private async Task<Agent> StartAgentAsync(FakeAnthropicApi model, bool stopHook, CancellationToken cancellationToken, bool classicRenderer = true, Action<ClaudeCodeSandbox>? prepare = null)
    {
        var sandbox = new ClaudeCodeSandbox(model.BaseUrl);
        prepare?.Invoke(sandbox);
        if (stopHook)
        {
            var command = $"'{ClaudeCodeSandbox.Dotnet}' '{Path.Combine(AppContext.BaseDirectory, "contextrelay-bridge.dll")}'";
            var install = await BridgeCli.CreateRootCommand()
                .Parse(["install-hook", "--project", sandbox.ProjectDirectory, "--bridge-command", command])
                .InvokeAsync(new System.CommandLine.InvocationConfiguration { Output = TextWriter.Null, Error = TextWriter.Null }, cancellationToken);
            Assert.Equal(0, install);
        }

        var tui = await ClaudeTui.StartAsync(sandbox, classicRenderer: classicRenderer, cancellationToken: cancellationToken);
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var options = new BridgeOptions
        {
            Session = ClaudeTui.Session,
            TmuxSocket = tui.Socket,
            TaskChannel = "tasks-" + suffix,
            DoneChannel = "done-" + suffix,
            QuietPeriod = TimeSpan.FromSeconds(1),
            SubmitDelay = TimeSpan.FromMilliseconds(300),
            PollInterval = TimeSpan.FromMilliseconds(100),
            StateDirectory = tui.StateDirectory,
        };
        var client = relay.CreateClient();
        var daemon = new BridgeDaemon(client, options, new TestLogger(output));
        var stop = new CancellationTokenSource();
        var run = daemon.RunAsync(stop.Token);
        await daemon.Started.WaitAsync(TimeSpan.FromSeconds(20), cancellationToken);
        return new Agent(sandbox, tui, client, new AgentBridge(client, options.TaskChannel, options.DoneChannel), run, stop, output, model);
    }

    private sealed record Agent(ClaudeCodeSandbox Sandbox, ClaudeTui Tui, ContextRelay Client, AgentBridge Orchestrator, Task Run, CancellationTokenSource Stop, ITestOutputHelper Output, FakeAnthropicApi Model) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            try
            {
                Output.WriteLine("--- requests to the model ---\n" + string.Join('\n', Model.Requests.Select(r => $"{r.Method} {r.Path} agent-turn={r.IsAgentTurn}")));
                Output.WriteLine("--- the pane at the end ---\n" + await Tui.CaptureAsync(history: true));
            }
            catch (InvalidOperationException)
            {
            }

            await Stop.CancelAsync();
            await Run.WaitAsync(TimeSpan.FromSeconds(20));
            Stop.Dispose();
            Client.Dispose();
            await Tui.DisposeAsync();
            Sandbox.Dispose();
        }
    }
}

/// <summary>TUI tests run one at a time: each drives a whole Claude Code, and the machine may have two cores.</summary>
[CollectionDefinition(Name)]
public sealed class TuiCollection
{
    public const string Name = "Claude Code TUI";
}

/// <summary>Sends the bridge's log lines to the test output (ignored once the test is over).</summary>
public sealed class TestLogger(ITestOutputHelper output) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        try
        {
            output.WriteLine($"{DateTime.Now:HH:mm:ss.fff} {logLevel}: {formatter(state, exception)}");
        }
        catch (InvalidOperationException)
        {
        }
    }
}

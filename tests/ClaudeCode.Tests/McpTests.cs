using CtxRelay.ClaudeCode.Tests.Support;
using CtxRelay.Testing;
using Xunit.Abstractions;

namespace CtxRelay.ClaudeCode.Tests;

/// <summary>
/// contextrelay-mcp as Claude Code itself runs it: registered in a project's <c>.mcp.json</c>, started by
/// the real <c>claude -p</c>, its tools called because the (scripted) model asked for them, and the
/// results handed back to the model. The relay is real; only the model is scripted.
/// </summary>
public sealed class McpTests(RelayFixture relay, ITestOutputHelper output) : IClassFixture<RelayFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    private static readonly string[] AllowContextRelayTools =
    [
        "--allowedTools", "mcp__contextrelay__push_context,mcp__contextrelay__pull_context,mcp__contextrelay__peek_context",
    ];

    [Fact]
    public async Task PushContext_AskedForByTheModel_StoresThePayloadInTheRelay_AndTheUrlReachesTheModel()
    {
        using var timeout = new CancellationTokenSource(Patience);
        await using var model = await FakeAnthropicApi.StartAsync(timeout.Token);
        using var sandbox = new ClaudeCodeSandbox(model.BaseUrl);
        sandbox.WriteMcpConfig(relay.BaseUrl, relay.ApiKey); // the project's .mcp.json, picked up from the working directory
        var payload = "Review of PR-441\n" + string.Concat(Enumerable.Range(1, 200).Select(i => $"line {i}: the retry loop ignores the cancellation token ✓\n"));
        model.WhenUserSays("Hand the review on", ScriptedReply.CallTool("mcp__contextrelay__push_context", new { data = payload, channel = "reviews", summary = "PR-441 review" }))
             .WhenToolResult(result => ScriptedReply.Say("The model saw: " + result));

        var (exitCode, stdout, stderr) = await sandbox.RunPrintAsync("Hand the review on to the next agent.", AllowContextRelayTools, timeout.Token);

        output.WriteLine(stdout);
        Assert.True(exitCode == 0, $"claude -p exited with {exitCode}: {stderr}\n{stdout}");
        var results = model.AgentTurns.SelectMany(t => t.ToolResults).ToList();
        var result = Assert.Single(results);
        Assert.False(result.IsError, result.Content);
        var url = result.Content.Split('\n', StringSplitOptions.TrimEntries).Single(l => l.StartsWith(relay.BaseUrl + "/pull/", StringComparison.Ordinal));
        using var client = relay.CreateClient();
        Assert.Equal(payload, await client.PullAsync(url, cancellationToken: timeout.Token));
        var info = await client.PeekAsync(url, timeout.Token);
        Assert.Equal("reviews", info.Channel);
        Assert.Equal("PR-441 review", info.Metadata["summary"]!.GetValue<string>());
        Assert.Contains(url, stdout, StringComparison.Ordinal); // the model's final answer, printed by claude -p
    }

    [Fact]
    public async Task PullContext_OfAUrlPushedByTheSdk_GivesTheModelThePayload()
    {
        using var timeout = new CancellationTokenSource(Patience);
        using var client = relay.CreateClient();
        var payload = "Build log of run 1187\n" + string.Concat(Enumerable.Range(1, 100).Select(i => $"[{i:000}] step {i} ok — ünïcödé\n"));
        var url = await client.PushAsync(payload, cancellationToken: timeout.Token);
        await using var model = await FakeAnthropicApi.StartAsync(timeout.Token);
        using var sandbox = new ClaudeCodeSandbox(model.BaseUrl);
        var config = sandbox.WriteMcpConfig(relay.BaseUrl, relay.ApiKey, "contextrelay-mcp.json"); // not .mcp.json: only --mcp-config brings it in
        model.WhenUserSays("Read " + url, ScriptedReply.CallTool("mcp__contextrelay__pull_context", new { url }))
             .WhenToolResult(result => ScriptedReply.Say($"I read {result.Length} characters."));

        var (exitCode, stdout, stderr) = await sandbox.RunPrintAsync(
            $"Read {url} and summarise it.", ["--mcp-config", config, "--strict-mcp-config", .. AllowContextRelayTools], timeout.Token);

        output.WriteLine(stdout);
        Assert.True(exitCode == 0, $"claude -p exited with {exitCode}: {stderr}\n{stdout}");
        var result = Assert.Single(model.AgentTurns.SelectMany(t => t.ToolResults));
        Assert.False(result.IsError, result.Content);
        Assert.Contains(payload, result.Content, StringComparison.Ordinal);
        Assert.Contains("I read ", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ContextRelayTools_AreDeferredTools_ThatToolSearchLoadsWithTheirSchemas()
    {
        // Claude Code 2.1 does not put MCP tools in the first request's tool list: it names them in the
        // system prompt as deferred tools, and the model loads their schemas with ToolSearch.
        using var timeout = new CancellationTokenSource(Patience);
        await using var model = await FakeAnthropicApi.StartAsync(timeout.Token);
        using var sandbox = new ClaudeCodeSandbox(model.BaseUrl);
        sandbox.WriteMcpConfig(relay.BaseUrl, relay.ApiKey);
        string[] names = ["mcp__contextrelay__push_context", "mcp__contextrelay__peek_context", "mcp__contextrelay__pull_context", "mcp__contextrelay__wait_for_context"];
        model.WhenUserSays("Which tools", ScriptedReply.CallTool("ToolSearch", new { query = "select:" + string.Join(',', names), max_results = 5 }))
             .WhenToolResult(_ => ScriptedReply.Say("Four of them."));

        var (exitCode, stdout, stderr) = await sandbox.RunPrintAsync("Which tools do you have for large context?", AllowContextRelayTools, timeout.Token);

        Assert.True(exitCode == 0, $"claude -p exited with {exitCode}: {stderr}\n{stdout}");
        Assert.Equal("Four of them.", stdout.Trim());
        var turns = model.AgentTurns;
        Assert.Equal(2, turns.Count);
        var systemPrompt = turns[0].Body!.ToJsonString();
        Assert.All(names, name => Assert.Contains(name, systemPrompt, StringComparison.Ordinal));
        Assert.All(names, name => Assert.DoesNotContain(name, turns[0].ToolNames));
        var push = turns[1].Tool("mcp__contextrelay__push_context");
        Assert.NotNull(push);
        Assert.Contains("URL", push["description"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.NotNull(push["input_schema"]?["properties"]?["data"]);
        Assert.All(names, name => Assert.NotNull(turns[1].Tool(name)));
        Assert.Empty(model.UnknownRequests);
    }
}

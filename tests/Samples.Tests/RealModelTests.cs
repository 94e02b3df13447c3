using CtxRelay.Testing;

namespace CtxRelay.Samples.Tests;

/// <summary>
/// The model variables select a real model client (samples/Common): OpenAI-compatible or Anthropic, each
/// through its real package, against a scripted endpoint on loopback.
/// </summary>
public sealed class RealModelTests(RelayFixture relay) : IClassFixture<RelayFixture>
{
    private const string Answer = "likely cause: the 14:02 deploy; first step: roll it back";

    private static readonly string Dll = SampleProcess.Locate("ProdListener", "contextrelay-sample-prodlistener.dll");

    private static readonly string HandOffDll = SampleProcess.Locate("HandOff", "contextrelay-sample-handoff.dll");

    [Fact]
    public async Task OpenAIVariables_SendTheTaskToThatEndpoint_AndPrintItsAnswer()
    {
        await using var model = await ScriptedModelEndpoint.StartAsync(Answer);
        var (output, report) = await TriageOneReportAsync(new Dictionary<string, string>
        {
            ["OPENAI_API_KEY"] = "sk-test-openai",
            ["OPENAI_BASE_URL"] = model.BaseUrl + "/v1",
            ["OPENAI_MODEL"] = "llama3.2",
        });

        Assert.Contains($"(model: llama3.2 at {new Uri(model.BaseUrl).Authority})", output, StringComparison.Ordinal);
        Assert.Contains($"  triage: {Answer}", output, StringComparison.Ordinal);
        var request = Assert.Single(model.Requests);
        Assert.Equal("/v1/chat/completions", request.Path);
        Assert.Equal("Bearer sk-test-openai", request.Authorization);
        Assert.Equal("llama3.2", request.Body["model"]?.ToString());
        Assert.Contains(report, request.Body["messages"]!.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnthropicVariables_SendTheTaskToThatEndpoint_AndPrintItsAnswer()
    {
        await using var model = await ScriptedModelEndpoint.StartAsync(Answer);
        var (output, report) = await TriageOneReportAsync(new Dictionary<string, string>
        {
            ["ANTHROPIC_API_KEY"] = "sk-ant-test",
            ["ANTHROPIC_BASE_URL"] = model.BaseUrl,
            ["ANTHROPIC_MODEL"] = "claude-test",
        });

        Assert.Contains("(model: claude-test (Anthropic))", output, StringComparison.Ordinal);
        Assert.Contains($"  triage: {Answer}", output, StringComparison.Ordinal);
        var request = Assert.Single(model.Requests);
        Assert.Equal("/v1/messages", request.Path);
        Assert.Contains("sk-ant-test", request.Authorization, StringComparison.Ordinal);
        Assert.Equal("claude-test", request.Body["model"]?.ToString());
        Assert.Contains(report, request.Body["messages"]!.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AModelThatCannotBeReached_IsOneLineNamingTheVariables()
    {
        var channel = "prod-issues-" + Guid.NewGuid().ToString("N")[..8];
        var environment = new Dictionary<string, string>
        {
            ["OPENAI_API_KEY"] = "sk-test-openai",
            ["OPENAI_BASE_URL"] = $"http://127.0.0.1:{RelayProcess.FreePort()}/v1", // nothing listens there
        };
        await using var listener = SampleProcess.Start(relay, Dll, ["--channel", channel, "--limit", "1"], environment);
        await listener.WaitForLineAsync(l => l.StartsWith("listening on", StringComparison.Ordinal), "the listener to subscribe");
        using var client = relay.CreateClient();
        await client.PushAsync("Checkout is down", channel, new { severity = "high", title = "Checkout" });

        Assert.Equal(1, await listener.WaitForExitAsync(TimeSpan.FromSeconds(120)));
        var line = Assert.Single(listener.Error.Trim().Split('\n'));
        Assert.StartsWith($"prod-listener: the model {ChatModelsDefault} at 127.0.0.1:", line, StringComparison.Ordinal);
        Assert.EndsWith("Check OPENAI_API_KEY / OPENAI_BASE_URL / OPENAI_MODEL or ANTHROPIC_API_KEY / ANTHROPIC_MODEL.", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithBothProviders_TheHandOffIsCrossModel_TheSecondModelGetsTheReviewTheFirstWrote()
    {
        const string Review = "- [high] src/Pay.cs:3: the card number is logged";
        await using var reviewer = await ScriptedModelEndpoint.StartAsync(Review);
        await using var ticketWriter = await ScriptedModelEndpoint.StartAsync("TICKET-1 [high] Fix src/Pay.cs:3: stop logging the card number");
        var channel = "reviews-" + Guid.NewGuid().ToString("N")[..8];

        await using var sample = await SampleProcess.RunAsync(relay, HandOffDll, ["--channel", channel], new Dictionary<string, string>
        {
            ["OPENAI_API_KEY"] = "sk-test-openai",
            ["OPENAI_BASE_URL"] = reviewer.BaseUrl + "/v1",
            ["OPENAI_MODEL"] = "gpt-test",
            ["ANTHROPIC_API_KEY"] = "sk-ant-test",
            ["ANTHROPIC_BASE_URL"] = ticketWriter.BaseUrl,
            ["ANTHROPIC_MODEL"] = "claude-test",
        });

        Assert.True(sample.ExitCode == 0, sample.Error);
        Assert.Contains($"reviewer: gpt-test at {new Uri(reviewer.BaseUrl).Authority}", sample.Output, StringComparison.Ordinal);
        Assert.Contains("ticket writer: claude-test (Anthropic)", sample.Output, StringComparison.Ordinal);
        Assert.Contains("  TICKET-1 [high] Fix src/Pay.cs:3: stop logging the card number", sample.Output, StringComparison.Ordinal);
        Assert.Contains("TokenService.cs", Assert.Single(reviewer.Requests).Body["messages"]!.ToJsonString(), StringComparison.Ordinal); // the diff
        var ticketRequest = Assert.Single(ticketWriter.Requests);
        Assert.Equal("/v1/messages", ticketRequest.Path);
        Assert.Contains("the card number is logged", ticketRequest.Body["messages"]!.ToJsonString(), StringComparison.Ordinal); // the pulled review
        var review = (await RelayState.PushesAsync(relay, channel)).First(p => p.Meta("kind") == "review");
        Assert.Equal(["1", "0", "0"], new[] { "high", "medium", "low" }.Select(k => review.Meta(k)));
    }

    private const string ChatModelsDefault = "gpt-4o-mini";

    private async Task<(string Output, string Report)> TriageOneReportAsync(IReadOnlyDictionary<string, string> environment)
    {
        var channel = "prod-issues-" + Guid.NewGuid().ToString("N")[..8];
        await using var listener = SampleProcess.Start(relay, Dll, ["--channel", channel, "--limit", "1"], environment);
        await listener.WaitForLineAsync(l => l.StartsWith("listening on", StringComparison.Ordinal), "the listener to subscribe");
        var report = "Login loop after the deploy " + Guid.NewGuid().ToString("N")[..8];
        using var client = relay.CreateClient();
        await client.PushAsync(report, channel, new { severity = "high", title = "Login loop" });

        Assert.True(await listener.WaitForExitAsync() == 0, listener.Error);
        return (listener.Output, report);
    }
}

using System.Text;
using CtxRelay.Testing;
using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.SemanticKernel;

namespace CtxRelay.Extensions.AI.Tests;

/// <summary>
/// A researcher agent pushes a report larger than one page and a writer agent peeks, then pulls it page by page,
/// with the stand-in model driven by each framework's real tool-calling loop against a real relay.
/// </summary>
public sealed class HandOffTests(RelayFixture relay) : IClassFixture<RelayFixture>
{
    private const int ReportLength = 50_000;

    [Fact]
    public async Task Through_FunctionInvokingChatClient_the_report_arrives_whole_page_by_page()
    {
        var ct = Timeout();
        var report = Agents.Report(ReportLength, seed: 1);
        using var researcherRelay = relay.CreateClient();
        using var writerRelay = relay.CreateClient();
        var researcherModel = Agents.Researcher(report);
        var received = new StringBuilder();
        var writerModel = Agents.Writer(received);

        using var researcher = researcherModel.AsBuilder().UseFunctionInvocation().Build();
        var handOff = await researcher.GetResponseAsync(
            "Research relays, then hand the report on.", new ChatOptions { Tools = [.. new ContextRelayTools(researcherRelay)] }, ct);
        using var writer = writerModel.AsBuilder().UseFunctionInvocation().Build();
        var article = await writer.GetResponseAsync(
            $"Write an article from this research: {Agents.FindUrlIn(handOff.Text)}", new ChatOptions { Tools = [.. new ContextRelayTools(writerRelay)] }, ct);

        Assert.Equal(report, received.ToString());
        Assert.Equal($"Article written from {report.Length} characters.", article.Text);
        Assert.Equal(["push_context", "peek_context", "pull_context", "wait_for_context"], researcherModel.Turns[0].ToolNames);
        AssertPagedHandOff(writerModel, report);
    }

    [Fact]
    public async Task Through_Agent_Framework_agents_the_report_arrives_whole_page_by_page()
    {
        var ct = Timeout();
        var report = Agents.Report(ReportLength, seed: 2);
        using var researcherRelay = relay.CreateClient();
        using var writerRelay = relay.CreateClient();
        var researcherModel = Agents.Researcher(report);
        var received = new StringBuilder();
        var writerModel = Agents.Writer(received);
        AIAgent researcher = new ChatClientAgent(researcherModel, ContextRelayTools.Instructions, "researcher", tools: [.. new ContextRelayTools(researcherRelay)]);
        AIAgent writer = new ChatClientAgent(writerModel, ContextRelayTools.Instructions, "writer", tools: [.. new ContextRelayTools(writerRelay)]);

        var handOff = await researcher.RunAsync("Research relays, then hand the report on.", cancellationToken: ct);
        var article = await writer.RunAsync($"Write an article from this research: {Agents.FindUrlIn(handOff.Text)}", cancellationToken: ct);

        Assert.Equal(report, received.ToString());
        Assert.Equal($"Article written from {report.Length} characters.", article.Text);
        Assert.Contains("call push_context and hand on the URL", Instructions(researcherModel.Turns[0]));
        AssertPagedHandOff(writerModel, report);
    }

    [Fact]
    public async Task Through_a_Semantic_Kernel_plugin_the_report_arrives_whole_page_by_page()
    {
        var ct = Timeout();
        var report = Agents.Report(ReportLength, seed: 3);
        using var researcherRelay = relay.CreateClient();
        using var writerRelay = relay.CreateClient();
        var researcherModel = Agents.Researcher(report);
        var received = new StringBuilder();
        var writerModel = Agents.Writer(received);

        var handOff = await RunKernelAsync(researcherModel, new ContextRelayTools(researcherRelay), "Research relays, then hand the report on.", ct);
        var article = await RunKernelAsync(writerModel, new ContextRelayTools(writerRelay), $"Write an article from this research: {Agents.FindUrlIn(handOff)}", ct);

        Assert.Equal(report, received.ToString());
        Assert.Equal($"Article written from {report.Length} characters.", article);
        Assert.Contains(researcherModel.Turns[0].ToolNames, name => name.EndsWith("push_context", StringComparison.Ordinal));
        AssertPagedHandOff(writerModel, report);
    }

    [Fact]
    public async Task An_encrypted_report_goes_through_agents_and_the_relay_keeps_only_ciphertext()
    {
        var ct = Timeout();
        var report = Agents.Report(30_000, seed: 4);
        using var researcherRelay = relay.CreateClient();
        using var writerRelay = relay.CreateClient();
        var received = new StringBuilder();
        AIAgent researcher = new ChatClientAgent(Agents.Researcher(report, encrypted: true), name: "researcher", tools: [.. new ContextRelayTools(researcherRelay)]);
        AIAgent writer = new ChatClientAgent(Agents.Writer(received), name: "writer", tools: [.. new ContextRelayTools(writerRelay)]);

        var handOff = await researcher.RunAsync("Research relays, then hand the report on, encrypted.", cancellationToken: ct);
        var url = Agents.FindUrlIn(handOff.Text);
        await writer.RunAsync($"Write an article from this research: {url}", cancellationToken: ct);

        Assert.Contains("#key=", url);
        Assert.Equal(report, received.ToString());
        Assert.True((await researcherRelay.PeekAsync(url, ct)).Encrypted);
        using var http = relay.CreateHttpClient();
        var stored = await http.GetStringAsync($"pull/{url[(url.LastIndexOf('/') + 1)..url.IndexOf('#', StringComparison.Ordinal)]}", ct);
        Assert.DoesNotContain("Report 4", stored);
    }

    /// <summary>The writer peeked first, then got the report in pages no larger than one page plus its note.</summary>
    private static void AssertPagedHandOff(ScriptedChatClient writerModel, string report)
    {
        var turns = writerModel.Turns;
        Assert.Contains("\"how_to_read\"", turns[1].LastToolResult);
        Assert.Contains("Large: pull_context returns it in up to 3 pages", turns[1].LastToolResult);
        var pages = turns.Skip(2).Select(t => t.LastToolResult!).ToArray();
        Assert.Equal(3, pages.Length);
        Assert.All(pages, page => Assert.InRange(page.Length, 1, 20_000 + 300));
        Assert.EndsWith("nothing more to pull.]", pages[^1]);
        Assert.Equal(report.Length, pages.Sum(p => Agents.ReadPage(p).Page.Length));
    }

    private static async Task<string> RunKernelAsync(IChatClient model, ContextRelayTools tools, string prompt, CancellationToken ct)
    {
        var builder = Kernel.CreateBuilder();
        builder.Services.AddSingleton(model.AsBuilder().UseKernelFunctionInvocation().Build());
        var kernel = builder.Build();
        kernel.Plugins.AddFromFunctions("relay", tools.Select(t => t.AsKernelFunction()));
        var settings = new PromptExecutionSettings { FunctionChoiceBehavior = FunctionChoiceBehavior.Auto() };
        var result = await kernel.InvokePromptAsync(prompt, new KernelArguments(settings), cancellationToken: ct);
        return result.ToString();
    }

    private static string Instructions(ScriptedTurn turn)
        => (turn.Options?.Instructions ?? string.Empty) + string.Concat(turn.Messages.Where(m => m.Role == ChatRole.System).Select(m => m.Text));

    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;
}

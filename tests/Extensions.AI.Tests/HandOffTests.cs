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
        using var team = new Team(relay, seed: 1);

        var article = await team.HandOffAsync(async (model, tools, prompt) =>
        {
            using var chat = model.AsBuilder().UseFunctionInvocation().Build();
            return (await chat.GetResponseAsync(prompt, new ChatOptions { Tools = [.. tools] }, ct)).Text;
        });

        team.AssertArrivedWhole(article);
        Assert.Equal(["push_context", "peek_context", "pull_context", "wait_for_context"], team.ResearcherModel.Turns[0].ToolNames);
    }

    [Fact]
    public async Task Through_Agent_Framework_agents_the_report_arrives_whole_page_by_page()
    {
        var ct = Timeout();
        using var team = new Team(relay, seed: 2);

        var article = await team.HandOffAsync(async (model, tools, prompt) =>
        {
            AIAgent agent = new ChatClientAgent(model, ContextRelayTools.Instructions, name: "agent", tools: [.. tools]);
            return (await agent.RunAsync(prompt, cancellationToken: ct)).Text;
        });

        team.AssertArrivedWhole(article);
        Assert.Contains("call push_context and hand on the URL", Instructions(team.ResearcherModel.Turns[0]));
    }

    [Fact]
    public async Task Through_a_Semantic_Kernel_plugin_the_report_arrives_whole_page_by_page()
    {
        var ct = Timeout();
        using var team = new Team(relay, seed: 3);

        var article = await team.HandOffAsync(async (model, tools, prompt) =>
        {
            var builder = Kernel.CreateBuilder();
            builder.Services.AddSingleton(model.AsBuilder().UseKernelFunctionInvocation().Build());
            var kernel = builder.Build();
            kernel.Plugins.AddFromFunctions("relay", tools.Select(t => t.AsKernelFunction()));
            var settings = new PromptExecutionSettings { FunctionChoiceBehavior = FunctionChoiceBehavior.Auto() };
            return (await kernel.InvokePromptAsync(prompt, new KernelArguments(settings), cancellationToken: ct)).ToString();
        });

        team.AssertArrivedWhole(article);
        Assert.Equal(["relay_push_context", "relay_peek_context", "relay_pull_context", "relay_wait_for_context"], team.ResearcherModel.Turns[0].ToolNames);
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

    private static string Instructions(ScriptedTurn turn)
        => (turn.Options?.Instructions ?? string.Empty) + string.Concat(turn.Messages.Where(m => m.Role == ChatRole.System).Select(m => m.Text));

    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;

    /// <summary>A researcher and a writer, each with its own relay client, tools and stand-in model.</summary>
    private sealed class Team : IDisposable
    {
        private readonly ContextRelay _researcherRelay;
        private readonly ContextRelay _writerRelay;
        private readonly StringBuilder _received = new();

        public Team(RelayFixture relay, int seed)
        {
            Report = Agents.Report(ReportLength, seed);
            _researcherRelay = relay.CreateClient();
            _writerRelay = relay.CreateClient();
            ResearcherModel = Agents.Researcher(Report);
            WriterModel = Agents.Writer(_received);
        }

        public string Report { get; }

        public ScriptedChatClient ResearcherModel { get; }

        public ScriptedChatClient WriterModel { get; }

        /// <summary>Runs the researcher, then gives the writer the URL from its answer; returns the writer's answer.</summary>
        public async Task<string> HandOffAsync(Func<ScriptedChatClient, ContextRelayTools, string, Task<string>> run)
        {
            var handOff = await run(ResearcherModel, new ContextRelayTools(_researcherRelay), "Research relays, then hand the report on.");
            return await run(WriterModel, new ContextRelayTools(_writerRelay), $"Write an article from this research: {Agents.FindUrlIn(handOff)}");
        }

        /// <summary>The writer peeked first, then got the whole report in pages no larger than one page plus its note.</summary>
        public void AssertArrivedWhole(string writerAnswer)
        {
            Assert.Equal(Report, _received.ToString());
            Assert.Equal($"Article written from {Report.Length} characters.", writerAnswer);
            var turns = WriterModel.Turns;
            Assert.Contains("\"how_to_read\"", turns[1].LastToolResult);
            Assert.Contains("Large: pull_context returns it in up to 3 pages", turns[1].LastToolResult);
            var pages = turns.Skip(2).Select(t => t.LastToolResult!).ToArray();
            Assert.Equal(3, pages.Length);
            Assert.All(pages, page => Assert.InRange(page.Length, 1, 20_000 + 300));
            Assert.EndsWith("nothing more to pull.]", pages[^1]);
        }

        public void Dispose()
        {
            _researcherRelay.Dispose();
            _writerRelay.Dispose();
        }
    }
}

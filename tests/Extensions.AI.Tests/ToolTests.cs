using System.Text;
using System.Text.Json;
using CtxRelay.Testing;
using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace CtxRelay.Extensions.AI.Tests;

/// <summary>Channel-bound tools, failures as text the model can act on, and registration with dependency injection.</summary>
public sealed class ToolTests(RelayFixture relay) : IClassFixture<RelayFixture>
{
    [Fact]
    public void Offers_the_four_tools_with_the_mcp_servers_parameters()
    {
        using var client = relay.CreateClient();
        var tools = new ContextRelayTools(client);

        Assert.Equal(["push_context", "peek_context", "pull_context", "wait_for_context"], tools.Select(t => t.Name));
        Assert.Equal(["data", "channel", "encrypted", "summary", "metadata"], Properties(tools.PushContext));
        Assert.Equal(["url"], Properties(tools.PeekContext));
        Assert.Equal(["url", "offset", "max_chars", "save_to"], Properties(tools.PullContext));
        Assert.Equal(["channel", "timeout_seconds", "after_seq"], Properties(tools.WaitForContext));
        Assert.Equal(["channel"], Required(tools.WaitForContext));
        Assert.Contains("instead of pasting", tools.PushContext.Description);
        Assert.Contains("Call this first", tools.PeekContext.Description);
    }

    [Fact]
    public async Task Channel_bound_tools_push_to_and_wait_on_their_channel_without_a_channel_parameter()
    {
        var ct = Timeout();
        var channel = Unique("crew");
        var report = Agents.Report(25_000, seed: 5);
        using var researcherRelay = relay.CreateClient();
        using var writerRelay = relay.CreateClient();
        var researcherTools = new ContextRelayTools(researcherRelay, new() { Channel = channel });
        var writerTools = new ContextRelayTools(writerRelay, ContextRelayToolsOptions.Default with { Channel = channel });
        var received = new StringBuilder();
        var writerModel = Agents.Writer(received);
        AIAgent researcher = new ChatClientAgent(Agents.Researcher(report), name: "researcher", tools: [.. researcherTools]);
        AIAgent writer = new ChatClientAgent(writerModel, name: "writer", tools: [.. writerTools]);

        var handOff = await researcher.RunAsync("Research relays and share the report with the crew.", cancellationToken: ct);
        var article = await writer.RunAsync("Write the article once the research is in.", cancellationToken: ct);

        Assert.DoesNotContain("channel", Properties(researcherTools.PushContext));
        Assert.DoesNotContain("channel", Properties(writerTools.WaitForContext));
        Assert.Contains($"channel '{channel}'", researcherTools.PushContext.Description);
        Assert.Contains($"channel '{channel}'", writerTools.WaitForContext.Description);
        Assert.Equal(channel, (await researcherRelay.PeekAsync(Agents.FindUrlIn(handOff.Text), ct)).Channel);
        Assert.Contains("\"type\": \"push\"", writerModel.Turns[1].LastToolResult);
        Assert.Equal(report, received.ToString());
        Assert.Equal($"Article written from {report.Length} characters.", article.Text);
    }

    [Fact]
    public async Task An_unknown_url_comes_back_to_the_model_as_text_saying_what_to_do()
    {
        var ct = Timeout();
        using var client = relay.CreateClient();
        var url = $"{relay.BaseUrl}/pull/{Guid.NewGuid()}";
        var model = new ScriptedChatClient(turn => turn.LastToolResult is { } result
            ? ScriptedChatClient.Say("Told the user: " + result)
            : ScriptedChatClient.Call(turn.Tool("pull_context"), new() { ["url"] = url }));
        using var chat = model.AsBuilder().UseFunctionInvocation().Build();

        var answer = await chat.GetResponseAsync($"Summarize {url}", new ChatOptions { Tools = [.. new ContextRelayTools(client)] }, ct);

        var error = model.Turns[1].LastToolResult!;
        Assert.StartsWith($"No payload at {url}: it has expired", error);
        Assert.Contains("Ask the sender to push it again", error);
        Assert.Equal("Told the user: " + error, answer.Text);
    }

    [Fact]
    public async Task A_url_of_another_relay_names_the_configured_one()
    {
        using var client = relay.CreateClient();
        var tools = new ContextRelayTools(client);

        var error = await tools.PeekContext.InvokeAsync(new() { ["url"] = $"https://elsewhere.example/pull/{Guid.NewGuid()}" }, Timeout());

        Assert.Contains($"this URL points at https://elsewhere.example, but this application talks to the relay at ContextRelayOptions.BaseUrl={relay.BaseUrl}", (string?)error);
    }

    [Fact]
    public async Task Without_an_api_key_the_text_says_which_option_to_set()
    {
        using var client = relay.CreateClient(apiKey: string.Empty);
        var tools = new ContextRelayTools(client);

        var error = (string?)await tools.PushContext.InvokeAsync(new() { ["data"] = "x" }, Timeout());

        Assert.StartsWith($"ContextRelayOptions.ApiKey is not set, so the relay at {relay.BaseUrl} refused the call.", error);
        Assert.Contains("cr_live_", error);
    }

    [Fact]
    public async Task Bad_arguments_are_explained_not_thrown()
    {
        using var client = relay.CreateClient();
        var tools = new ContextRelayTools(client);

        var missing = (string?)await tools.PushContext.InvokeAsync(new(), Timeout());
        var negative = (string?)await tools.PullContext.InvokeAsync(new() { ["url"] = "abc", ["offset"] = -1 }, Timeout());
        var notAUrl = (string?)await tools.PeekContext.InvokeAsync(new() { ["url"] = "not a url at all" }, Timeout());

        Assert.StartsWith("push_context was called with arguments it cannot use:", missing);
        Assert.Contains("data", missing);
        Assert.Equal("offset cannot be negative: use 0 for the first page.", negative);
        Assert.StartsWith("'not a url at all' is not a ContextRelay URL.", notAUrl);
    }

    [Fact]
    public async Task With_ThrowOnError_a_failure_throws_the_same_text()
    {
        using var client = relay.CreateClient();
        var tools = new ContextRelayTools(client, new() { ThrowOnError = true });
        var url = $"{relay.BaseUrl}/pull/{Guid.NewGuid()}";

        var error = await Assert.ThrowsAsync<ContextRelayToolException>(async () => await tools.PullContext.InvokeAsync(new() { ["url"] = url }, Timeout()));

        Assert.StartsWith($"No payload at {url}", error.Message);
        Assert.IsType<RelayNotFoundException>(error.InnerException);
    }

    [Fact]
    public async Task Push_answers_with_the_url_then_a_note_and_save_to_writes_the_whole_payload()
    {
        using var client = relay.CreateClient();
        var tools = new ContextRelayTools(client);
        var report = Agents.Report(45_000, seed: 6);
        var bytes = Encoding.UTF8.GetByteCount(report);
        using var folder = new TemporaryDirectory("save-to");
        var path = Path.Combine(folder.Path, "new folder", "report.md");

        var pushed = (string)(await tools.PushContext.InvokeAsync(new() { ["data"] = report }, Timeout()))!;
        var url = Agents.FirstLine(pushed);
        var saved = (string?)await tools.PullContext.InvokeAsync(new() { ["url"] = url, ["save_to"] = path }, Timeout());

        Assert.Matches(@"^http://127\.0\.0\.1:\d+/pull/\S+\n\nStored [\d,]+ bytes; expires \d{4}-\d\d-\d\d \d\d:\d\d UTC\. Hand on the URL above\.$", pushed);
        Assert.Contains(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"Stored {bytes:N0} bytes"), pushed);
        Assert.Equal(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"Saved the whole payload ({bytes:N0} bytes, UTF-8) to {path}. Read it from there with your file tools."), saved);
        Assert.Equal(report, await File.ReadAllTextAsync(path));
    }

    [Fact]
    public async Task Wait_for_context_says_so_when_nothing_arrives()
    {
        using var client = relay.CreateClient();
        var channel = Unique("quiet");
        var tools = new ContextRelayTools(client, new() { Channel = channel });

        var answer = (string?)await tools.WaitForContext.InvokeAsync(new() { ["timeout_seconds"] = 1 }, Timeout());

        Assert.Equal($"Nothing was pushed or published on channel '{channel}' within 1 s. Call wait_for_context again to keep waiting.", answer);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    public void A_blank_bound_channel_is_refused(string channel)
    {
        using var client = relay.CreateClient();

        var error = Assert.Throws<ArgumentException>(() => new ContextRelayTools(client, new() { Channel = channel }));

        Assert.Contains("leave Channel null", error.Message);
    }

    [Fact]
    public async Task AddContextRelayTools_builds_the_tools_on_the_registered_client()
    {
        var channel = Unique("di");
        var services = new ServiceCollection();
        services.AddContextRelay(o => o with { BaseUrl = new Uri(relay.BaseUrl), ApiKey = relay.ApiKey });
        services.AddContextRelayTools(o => o with { Channel = channel });
        await using var provider = services.BuildServiceProvider();

        var tools = provider.GetRequiredService<ContextRelayTools>();
        var pushed = (string)(await tools.PushContext.InvokeAsync(new() { ["data"] = "from DI" }, Timeout()))!;

        Assert.Same(tools, provider.GetRequiredService<ContextRelayTools>());
        Assert.Equal(channel, tools.Channel);
        Assert.Contains($"on channel '{channel}'", pushed);
        using var client = relay.CreateClient();
        Assert.Equal("from DI", await client.PullAsync(Agents.FirstLine(pushed)));
    }

    [Fact]
    public void AddContextRelayTools_without_a_client_says_to_add_one()
    {
        var services = new ServiceCollection();
        services.AddContextRelayTools();
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<InvalidOperationException>(provider.GetRequiredService<ContextRelayTools>);

        Assert.Contains("call services.AddContextRelay(…)", error.Message);
    }

    private static string[] Properties(AIFunction function)
        => [.. function.JsonSchema.GetProperty("properties").EnumerateObject().Select(p => p.Name)];

    private static string[] Required(AIFunction function)
        => function.JsonSchema.TryGetProperty("required", out var required) ? [.. required.EnumerateArray().Select(e => e.GetString()!)] : [];

    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];

    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;
}

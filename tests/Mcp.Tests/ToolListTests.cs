using System.Text.Json;
using CtxRelay.Testing;

namespace CtxRelay.Mcp.Tests;

public sealed class ToolListTests(RelayFixture relay) : IClassFixture<RelayFixture>
{
    [Fact]
    public async Task Lists_the_four_tools_with_their_parameters()
    {
        var ct = TestText.Timeout();
        await using var server = await McpServerProcess.StartAsync(relay.BaseUrl, relay.ApiKey, ct);

        var tools = (await server.Client.ListToolsAsync(cancellationToken: ct)).ToDictionary(t => t.Name);

        Assert.Equal(["peek_context", "pull_context", "push_context", "wait_for_context"], tools.Keys.Order());
        AssertParameters(tools["push_context"].JsonSchema, required: ["data"], optional: ["channel", "encrypted", "summary", "metadata"]);
        AssertParameters(tools["peek_context"].JsonSchema, required: ["url"], optional: []);
        AssertParameters(tools["pull_context"].JsonSchema, required: ["url"], optional: ["offset", "max_chars", "save_to"]);
        AssertParameters(tools["wait_for_context"].JsonSchema, required: ["channel"], optional: ["timeout_seconds", "after_seq"]);

        Assert.Equal("string", Type(tools["push_context"].JsonSchema, "data"));
        Assert.Equal("boolean", Type(tools["push_context"].JsonSchema, "encrypted"));
        Assert.Equal("integer", Type(tools["pull_context"].JsonSchema, "offset"));
        Assert.Equal("integer", Type(tools["pull_context"].JsonSchema, "max_chars"));
        Assert.Equal("integer", Type(tools["wait_for_context"].JsonSchema, "timeout_seconds"));

        // The descriptions are what a model decides by.
        Assert.Contains("instead of pasting", tools["push_context"].Description);
        Assert.Contains("#key=", tools["push_context"].Description);
        Assert.Contains("Call this first", tools["peek_context"].Description);
        Assert.Contains("save_to", tools["pull_context"].Description);
        Assert.Contains("instead of polling", tools["wait_for_context"].Description);
        Assert.True(tools["peek_context"].ProtocolTool.Annotations?.ReadOnlyHint);
        Assert.Contains("peek_context", server.Client.ServerInstructions);
    }

    [Fact]
    public async Task Lists_payloads_as_a_resource_template()
    {
        var ct = TestText.Timeout();
        await using var server = await McpServerProcess.StartAsync(relay.BaseUrl, relay.ApiKey, ct);

        var template = Assert.Single(await server.Client.ListResourceTemplatesAsync(cancellationToken: ct));

        Assert.Equal("contextrelay://{id}", template.UriTemplate);
        Assert.Equal("text/plain", template.MimeType);
    }

    private static void AssertParameters(JsonElement schema, string[] required, string[] optional)
    {
        var properties = schema.GetProperty("properties").EnumerateObject().Select(p => p.Name).Order();
        Assert.Equal(required.Concat(optional).Order(), properties);
        var declared = schema.TryGetProperty("required", out var r) ? r.EnumerateArray().Select(e => e.GetString()!).Order().ToArray() : [];
        Assert.Equal(required.Order(), declared);
        foreach (var property in schema.GetProperty("properties").EnumerateObject())
        {
            Assert.False(string.IsNullOrWhiteSpace(property.Value.GetProperty("description").GetString()), $"{property.Name} has no description");
        }
    }

    private static string? Type(JsonElement schema, string property)
        => schema.GetProperty("properties").GetProperty(property).GetProperty("type").GetString();
}

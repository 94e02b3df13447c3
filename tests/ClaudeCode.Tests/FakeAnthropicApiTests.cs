using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CtxRelay.ClaudeCode.Tests.Support;

namespace CtxRelay.ClaudeCode.Tests;

/// <summary>The scripted model speaks the Messages API's two shapes: one JSON message, and server-sent events.</summary>
public sealed class FakeAnthropicApiTests
{
    private static JsonObject Request(string text, bool stream) => new()
    {
        ["model"] = "claude-test",
        ["max_tokens"] = 100,
        ["stream"] = stream,
        ["tools"] = new JsonArray(new JsonObject { ["name"] = "push_context", ["input_schema"] = new JsonObject { ["type"] = "object" } }),
        ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = text }),
    };

    [Fact]
    public async Task NonStreaming_AnswersOneMessage_WithTextAndToolUse()
    {
        await using var api = await FakeAnthropicApi.StartAsync();
        api.WhenUserSays("push", ScriptedReply.CallTool("push_context", new { data = "x" }, "Pushing."));
        using var http = new HttpClient();

        var message = (await (await http.PostAsJsonAsync(api.BaseUrl + "/v1/messages", Request("please push", stream: false))).Content.ReadFromJsonAsync<JsonObject>())!;

        Assert.Equal("tool_use", message["stop_reason"]!.GetValue<string>());
        Assert.Equal("Pushing.", message["content"]![0]!["text"]!.GetValue<string>());
        Assert.Equal("push_context", message["content"]![1]!["name"]!.GetValue<string>());
        Assert.Equal("x", message["content"]![1]!["input"]!["data"]!.GetValue<string>());
        Assert.Equal("please push", Assert.Single(api.AgentTurns).UserPrompt);
    }

    [Fact]
    public async Task Streaming_SendsTheEventsInTheApisOrder_AndTheInputAsJsonDeltas()
    {
        await using var api = await FakeAnthropicApi.StartAsync();
        api.WhenUserSays("push", ScriptedReply.CallTool("push_context", new { data = new string('y', 500) }, "Pushing."));
        using var http = new HttpClient();

        using var response = await http.PostAsJsonAsync(api.BaseUrl + "/v1/messages", Request("please push", stream: true));
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        var events = body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => e.Split('\n')[0]["event: ".Length..]).ToList();
        Assert.Equal(
            ["message_start", "content_block_start", "content_block_delta", "content_block_stop", "content_block_start", "content_block_delta", "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop"],
            events);
        var json = string.Concat(body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(e => JsonNode.Parse(e.Split('\n')[1]["data: ".Length..])!)
            .Where(d => d["delta"]?["type"]?.GetValue<string>() == "input_json_delta")
            .Select(d => d["delta"]!["partial_json"]!.GetValue<string>()));
        Assert.Equal(new string('y', 500), JsonNode.Parse(json)!["data"]!.GetValue<string>());
    }

    [Fact]
    public async Task UnknownEndpoints_AreRecorded_AndAnsweredMinimally()
    {
        await using var api = await FakeAnthropicApi.StartAsync();
        using var http = new HttpClient();

        using var models = await http.GetAsync(api.BaseUrl + "/v1/models");
        using var count = await http.PostAsJsonAsync(api.BaseUrl + "/v1/messages/count_tokens", Request("hi", stream: false));

        Assert.True(models.IsSuccessStatusCode);
        Assert.Equal("/v1/models", Assert.Single(api.UnknownRequests).Path);
        Assert.True((await count.Content.ReadFromJsonAsync<JsonObject>())!["input_tokens"]!.GetValue<int>() > 0);
    }
}

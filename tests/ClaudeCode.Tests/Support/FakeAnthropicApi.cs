using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CtxRelay.ClaudeCode.Tests.Support;

/// <summary>What the scripted model answers: text, or a tool call (optionally after some text).</summary>
public sealed record ScriptedReply
{
    public string? Text { get; init; }

    public string? ToolName { get; init; }

    public JsonObject? ToolInput { get; init; }

    /// <summary>How long the model "thinks" before the first byte of its answer (the TUI shows its spinner meanwhile).</summary>
    public TimeSpan Delay { get; init; }

    public static ScriptedReply Say(string text, TimeSpan delay = default) => new() { Text = text, Delay = delay };

    public static ScriptedReply CallTool(string name, object input, string? text = null)
        => new() { ToolName = name, ToolInput = JsonSerializer.SerializeToNode(input)!.AsObject(), Text = text };
}

/// <summary>One request the fake received: its path and, for a POST, its JSON body.</summary>
public sealed record RecordedRequest(string Method, string Path, JsonNode? Body)
{
    /// <summary>A model turn of the agent loop (not a side request such as a title or a token count).</summary>
    public bool IsAgentTurn => Path.StartsWith("/v1/messages", StringComparison.Ordinal) && !Path.Contains("count_tokens", StringComparison.Ordinal)
        && Body?["tools"] is JsonArray { Count: > 0 };

    /// <summary>The content blocks of the last <c>user</c> message.</summary>
    public IReadOnlyList<JsonObject> LastUserBlocks
    {
        get
        {
            var last = (Body?["messages"] as JsonArray)?.LastOrDefault(m => m?["role"]?.GetValue<string>() == "user");
            return last?["content"] switch
            {
                JsonValue text => [new JsonObject { ["type"] = "text", ["text"] = text.GetValue<string>() }],
                JsonArray blocks => blocks.OfType<JsonObject>().ToList(),
                _ => [],
            };
        }
    }

    /// <summary>The text blocks of the last user message, joined.</summary>
    public string LastUserText => string.Join("\n", LastUserBlocks.Where(b => Type(b) == "text").Select(b => b["text"]?.GetValue<string>()));

    /// <summary>What the user typed: the text blocks of the last user message without Claude Code's <c>&lt;system-reminder&gt;</c> blocks.</summary>
    public string UserPrompt => string.Join("\n", LastUserBlocks
        .Where(b => Type(b) == "text")
        .Select(b => b["text"]?.GetValue<string>() ?? string.Empty)
        .Where(t => !t.TrimStart().StartsWith("<system-reminder>", StringComparison.Ordinal)));

    /// <summary>The tool results of the last user message, each as its text (text blocks joined).</summary>
    public IReadOnlyList<(string ToolUseId, string Content, bool IsError)> ToolResults
        => LastUserBlocks.Where(b => Type(b) == "tool_result")
            .Select(b => (b["tool_use_id"]?.GetValue<string>() ?? string.Empty, ContentText(b["content"]), b["is_error"]?.GetValue<bool>() ?? false))
            .ToList();

    /// <summary>The names of the tools offered to the model.</summary>
    public IReadOnlyList<string> ToolNames
        => (Body?["tools"] as JsonArray)?.Select(t => t?["name"]?.GetValue<string>() ?? string.Empty).ToList() ?? [];

    /// <summary>The definition of the tool <paramref name="name"/> offered to the model, if any.</summary>
    public JsonObject? Tool(string name)
        => (Body?["tools"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(t => t["name"]?.GetValue<string>() == name);

    private static string? Type(JsonObject block) => block["type"]?.GetValue<string>();

    private static string ContentText(JsonNode? content) => content switch
    {
        JsonValue text => text.GetValue<string>(),
        JsonArray blocks => string.Join("\n", blocks.OfType<JsonObject>().Where(b => Type(b) == "text").Select(b => b["text"]?.GetValue<string>())),
        _ => string.Empty,
    };
}

/// <summary>
/// A scripted stand-in for the Anthropic Messages API on a loopback port — the one stand-in these tests
/// allow: the model. <c>POST /v1/messages</c> answers streaming (server-sent events, as the real API:
/// <c>message_start</c>, <c>content_block_start/delta/stop</c> for text and <c>tool_use</c>,
/// <c>message_delta</c>, <c>message_stop</c>) or as one JSON message. Agent turns (requests that offer
/// tools) are answered by the first matching rule; side requests (titles, summaries) and turns no rule
/// matches get a short text. <c>count_tokens</c> gets a count; anything else is logged and gets <c>{}</c>.
/// Every request is recorded.
/// </summary>
public sealed class FakeAnthropicApi : IAsyncDisposable
{
    public const string DefaultAnswer = "(the scripted model has nothing to say to this)";

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private readonly List<(Func<RecordedRequest, bool> When, Func<RecordedRequest, ScriptedReply> Reply)> _rules = [];
    private int _messageCounter;

    private FakeAnthropicApi(WebApplication app) => _app = app;

    public string BaseUrl { get; private set; } = string.Empty;

    public IReadOnlyList<RecordedRequest> Requests => _requests.ToList();

    /// <summary>Requests to paths the fake does not know (logged, answered with <c>{}</c>).</summary>
    public IReadOnlyList<RecordedRequest> UnknownRequests => _requests.Where(r => !r.Path.StartsWith("/v1/messages", StringComparison.Ordinal)).ToList();

    public IReadOnlyList<RecordedRequest> AgentTurns => _requests.Where(r => r.IsAgentTurn).ToList();

    public static async Task<FakeAnthropicApi> StartAsync(CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var fake = new FakeAnthropicApi(app);
        app.Run(fake.HandleAsync);
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        fake.BaseUrl = address.TrimEnd('/');
        return fake;
    }

    /// <summary>When an agent turn's last user message contains <paramref name="text"/> (and carries no tool result), answer with <paramref name="reply"/>.</summary>
    public FakeAnthropicApi WhenUserSays(string text, ScriptedReply reply)
        => When(r => r.ToolResults.Count == 0 && r.LastUserText.Contains(text, StringComparison.Ordinal), _ => reply);

    /// <summary>When an agent turn carries a tool result, answer with what <paramref name="reply"/> makes of it.</summary>
    public FakeAnthropicApi WhenToolResult(Func<string, ScriptedReply> reply)
        => When(r => r.ToolResults.Count > 0, r => reply(r.ToolResults[0].Content));

    public FakeAnthropicApi When(Func<RecordedRequest, bool> when, Func<RecordedRequest, ScriptedReply> reply)
    {
        lock (_rules)
        {
            _rules.Add((when, reply));
        }

        return this;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var path = request.Path.Value ?? "/";
        JsonNode? body = null;
        if (HttpMethods.IsPost(request.Method))
        {
            using var reader = new StreamReader(request.Body, Encoding.UTF8);
            var text = await reader.ReadToEndAsync(context.RequestAborted);
            try
            {
                body = text.Length > 0 ? JsonNode.Parse(text) : null;
            }
            catch (JsonException)
            {
                body = JsonValue.Create(text);
            }
        }

        var recorded = new RecordedRequest(request.Method, path, body);
        _requests.Enqueue(recorded);

        if (path.StartsWith("/v1/messages/count_tokens", StringComparison.Ordinal))
        {
            await context.Response.WriteAsJsonAsync(new { input_tokens = 1000 }, context.RequestAborted);
            return;
        }

        if (path != "/v1/messages" || !HttpMethods.IsPost(request.Method) || body is not JsonObject)
        {
            // Unknown to the fake: recorded (UnknownRequests) and answered minimally.
            await context.Response.WriteAsJsonAsync(new { }, context.RequestAborted);
            return;
        }

        var reply = Choose(recorded);
        var model = body["model"]?.GetValue<string>() ?? "claude-fake";
        var id = "msg_fake_" + Interlocked.Increment(ref _messageCounter);
        if (reply.Delay > TimeSpan.Zero)
        {
            await Task.Delay(reply.Delay, context.RequestAborted);
        }

        if (body["stream"]?.GetValue<bool>() == true)
        {
            await StreamAsync(context, id, model, reply);
        }
        else
        {
            await context.Response.WriteAsJsonAsync(Message(id, model, reply), context.RequestAborted);
        }
    }

    private ScriptedReply Choose(RecordedRequest request)
    {
        if (request.IsAgentTurn)
        {
            lock (_rules)
            {
                foreach (var (when, reply) in _rules)
                {
                    if (when(request))
                    {
                        return reply(request);
                    }
                }
            }
        }

        return ScriptedReply.Say(DefaultAnswer);
    }

    private static JsonObject Message(string id, string model, ScriptedReply reply)
    {
        var content = new JsonArray();
        if (reply.Text is not null)
        {
            content.Add(new JsonObject { ["type"] = "text", ["text"] = reply.Text });
        }

        if (reply.ToolName is not null)
        {
            content.Add(new JsonObject { ["type"] = "tool_use", ["id"] = ToolUseId(id), ["name"] = reply.ToolName, ["input"] = reply.ToolInput?.DeepClone() ?? new JsonObject() });
        }

        return new JsonObject
        {
            ["id"] = id,
            ["type"] = "message",
            ["role"] = "assistant",
            ["model"] = model,
            ["content"] = content,
            ["stop_reason"] = reply.ToolName is null ? "end_turn" : "tool_use",
            ["stop_sequence"] = null,
            ["usage"] = new JsonObject { ["input_tokens"] = 1000, ["output_tokens"] = 50 },
        };
    }

    private static async Task StreamAsync(HttpContext context, string id, string model, ScriptedReply reply)
    {
        var response = context.Response;
        var cancellationToken = context.RequestAborted;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        await response.StartAsync(cancellationToken);

        async Task Send(string type, JsonObject data)
        {
            data["type"] = type;
            await response.WriteAsync($"event: {type}\ndata: {data.ToJsonString()}\n\n", cancellationToken);
            await response.Body.FlushAsync(cancellationToken);
        }

        var message = Message(id, model, reply);
        message["content"] = new JsonArray();
        message["stop_reason"] = null;
        message["usage"] = new JsonObject { ["input_tokens"] = 1000, ["output_tokens"] = 1 };
        await Send("message_start", new JsonObject { ["message"] = message });

        var index = 0;
        if (reply.Text is not null)
        {
            await Send("content_block_start", new JsonObject { ["index"] = index, ["content_block"] = new JsonObject { ["type"] = "text", ["text"] = string.Empty } });
            foreach (var chunk in Chunks(reply.Text, 400))
            {
                await Send("content_block_delta", new JsonObject { ["index"] = index, ["delta"] = new JsonObject { ["type"] = "text_delta", ["text"] = chunk } });
            }

            await Send("content_block_stop", new JsonObject { ["index"] = index });
            index++;
        }

        if (reply.ToolName is not null)
        {
            var block = new JsonObject { ["type"] = "tool_use", ["id"] = ToolUseId(id), ["name"] = reply.ToolName, ["input"] = new JsonObject() };
            await Send("content_block_start", new JsonObject { ["index"] = index, ["content_block"] = block });
            foreach (var chunk in Chunks((reply.ToolInput ?? []).ToJsonString(), 200))
            {
                await Send("content_block_delta", new JsonObject { ["index"] = index, ["delta"] = new JsonObject { ["type"] = "input_json_delta", ["partial_json"] = chunk } });
            }

            await Send("content_block_stop", new JsonObject { ["index"] = index });
        }

        await Send("message_delta", new JsonObject
        {
            ["delta"] = new JsonObject { ["stop_reason"] = reply.ToolName is null ? "end_turn" : "tool_use", ["stop_sequence"] = null },
            ["usage"] = new JsonObject { ["output_tokens"] = 50 },
        });
        await Send("message_stop", []);
    }

    private static string ToolUseId(string messageId) => "toolu_" + messageId["msg_".Length..];

    private static IEnumerable<string> Chunks(string text, int size)
    {
        for (var i = 0; i < text.Length;)
        {
            var length = Math.Min(size, text.Length - i);
            if (length < text.Length - i && char.IsHighSurrogate(text[i + length - 1]))
            {
                length--; // never split a surrogate pair
            }

            yield return text.Substring(i, length);
            i += length;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

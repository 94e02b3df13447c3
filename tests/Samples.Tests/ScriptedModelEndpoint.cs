using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CtxRelay.Samples.Tests;

/// <summary>
/// A model's HTTP API on a loopback port, answering every request with one scripted text: the OpenAI chat
/// completions route (<c>/v1/chat/completions</c>, what OpenAI-compatible servers such as Ollama serve) and the
/// Anthropic Messages route (<c>/v1/messages</c>). No model can run here; this checks that a sample really
/// talks to the model the environment names, through the real client packages.
/// </summary>
internal sealed class ScriptedModelEndpoint : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<(string Path, string Authorization, JsonObject Body)> _requests = new();

    private ScriptedModelEndpoint(WebApplication app) => _app = app;

    public string BaseUrl { get; private set; } = string.Empty;

    /// <summary>The requests received: route, the credential header, and the JSON body.</summary>
    public IReadOnlyList<(string Path, string Authorization, JsonObject Body)> Requests => [.. _requests];

    public static async Task<ScriptedModelEndpoint> StartAsync(string answer)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var endpoint = new ScriptedModelEndpoint(app);

        app.MapPost("/v1/chat/completions", async (HttpRequest request) =>
        {
            var body = await endpoint.RecordAsync(request, "authorization");
            return Results.Json(new JsonObject
            {
                ["id"] = "chatcmpl-1",
                ["object"] = "chat.completion",
                ["created"] = 1_700_000_000,
                ["model"] = body["model"]?.ToString(),
                ["choices"] = new JsonArray(new JsonObject
                {
                    ["index"] = 0,
                    ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = answer },
                    ["finish_reason"] = "stop",
                }),
                ["usage"] = new JsonObject { ["prompt_tokens"] = 1, ["completion_tokens"] = 1, ["total_tokens"] = 2 },
            });
        });
        app.MapPost("/v1/messages", async (HttpRequest request) =>
        {
            var body = await endpoint.RecordAsync(request, "x-api-key");
            return Results.Json(new JsonObject
            {
                ["id"] = "msg_1",
                ["type"] = "message",
                ["role"] = "assistant",
                ["model"] = body["model"]?.ToString(),
                ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = answer }),
                ["stop_reason"] = "end_turn",
                ["stop_sequence"] = null,
                ["usage"] = new JsonObject { ["input_tokens"] = 1, ["output_tokens"] = 1 },
            });
        });

        await app.StartAsync();
        endpoint.BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return endpoint;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task<JsonObject> RecordAsync(HttpRequest request, string credentialHeader)
    {
        var body = (await JsonNode.ParseAsync(request.Body))!.AsObject();
        var credential = request.Headers[credentialHeader].ToString();
        if (credential.Length == 0 && credentialHeader != "authorization")
        {
            credential = request.Headers.Authorization.ToString(); // Anthropic's client may send the key as a bearer token
        }

        _requests.Enqueue((request.Path, credential, body));
        return body;
    }
}

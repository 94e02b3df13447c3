using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CtxRelay.Testing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace CtxRelay.Samples.Tests;

/// <summary>What the relay holds and saw, read independently of the sample under test.</summary>
internal static class RelayState
{
    /// <summary>The push events retained on <paramref name="channel"/>, oldest first (the relay's history endpoint).</summary>
    public static async Task<IReadOnlyList<JsonObject>> PushesAsync(RelayFixture relay, string channel)
    {
        using var http = relay.CreateHttpClient();
        var history = await http.GetFromJsonAsync<JsonObject>($"channels/{channel}/history?since=0&limit=1000");
        return [.. history!["events"]!.AsArray().Select(e => e!.AsObject()).Where(e => (string?)e["type"] == "push")];
    }

    /// <summary>A push's metadata value as text.</summary>
    public static string? Meta(this JsonObject push, string name) => push["metadata"]?[name]?.ToString();
}

/// <summary>
/// Records every request the in-process relay receives (method and path), through ASP.NET Core's
/// diagnostic events — so a test sees which payloads a sample really pulled, not what it claims.
/// </summary>
internal sealed class RequestRecorder : IObserver<KeyValuePair<string, object?>>, IDisposable
{
    private const string RequestStart = "Microsoft.AspNetCore.Hosting.HttpRequestIn.Start";

    private readonly ConcurrentQueue<string> _requests = new();
    private readonly IDisposable _subscription;

    public RequestRecorder(RelayFixture relay)
        => _subscription = relay.Server.Services.GetRequiredService<DiagnosticListener>().Subscribe(this, _ => true);

    /// <summary>"GET /pull/…", "GET /peek/…", … in arrival order.</summary>
    public List<string> Requests => [.. _requests];

    /// <summary>The ids of the payloads fetched with GET /pull/{id}.</summary>
    public IReadOnlySet<string> PulledIds => Requests.Where(r => r.StartsWith("GET /pull/", StringComparison.Ordinal)).Select(r => r["GET /pull/".Length..]).ToHashSet();

    /// <summary>The ids of the payloads looked at with GET /peek/{id}.</summary>
    public IReadOnlySet<string> PeekedIds => Requests.Where(r => r.StartsWith("GET /peek/", StringComparison.Ordinal)).Select(r => r["GET /peek/".Length..]).ToHashSet();

    public void OnNext(KeyValuePair<string, object?> value)
    {
        if (value.Key == RequestStart && value.Value is HttpContext context)
        {
            _requests.Enqueue($"{context.Request.Method} {context.Request.Path}");
        }
    }

    public void OnCompleted()
    {
    }

    public void OnError(Exception error)
    {
    }

    public void Dispose() => _subscription.Dispose();
}

using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace CtxRelay.Harness;

/// <summary>
/// The bare endpoint: the same HTTP stack as the relay (Kestrel, minimal APIs) with nothing behind it — no
/// auth, no storage, no durability. <c>GET /bytes</c> answers 1 KB from memory; <c>POST /payloads</c> reads the
/// body into memory (kept in a small ring so memory stays bounded) and answers a JSON id, like a push.
/// </summary>
internal sealed class ReferenceServer : IAsyncDisposable
{
    private const int Ring = 4096;

    private readonly WebApplication _app;

    private ReferenceServer(WebApplication app, string baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl;
    }

    public string BaseUrl { get; }

    public static async Task<ReferenceServer> StartAsync(int getBytes)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var body = new byte[getBytes];
        Array.Fill(body, (byte)'x');
        var stored = new byte[Ring][];
        var next = 0L;
        app.MapGet("/bytes", () => Results.Bytes(body, "text/plain"));
        app.MapPost("/payloads", async (HttpRequest request) =>
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer);
            var id = Interlocked.Increment(ref next);
            stored[id % Ring] = buffer.ToArray();
            return Results.Json(new { id = id.ToString(System.Globalization.CultureInfo.InvariantCulture), size = buffer.Length });
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new ReferenceServer(app, address);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace CtxRelay.Relay;

/// <summary>
/// A relay running in this process on a real Kestrel socket — for tests, benchmarks and embedding.
/// <code>await using var relay = await RelayServer.StartAsync(new() { ["Relay:DataDirectory"] = dir });</code>
/// </summary>
public sealed class RelayServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private RelayServer(WebApplication app, Uri baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl;
    }

    /// <summary>The address the relay listens on (a free loopback port unless <c>urls</c> is set).</summary>
    public Uri BaseUrl { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>Starts a relay with configuration overrides (keys as in appsettings: <c>Relay:MaxPayloadBytes</c>).</summary>
    public static Task<RelayServer> StartAsync(IDictionary<string, string?>? settings = null, CancellationToken cancellationToken = default)
        => StartAsync(settings, configure: null, cancellationToken);

    /// <summary>Starts a relay with configuration overrides and further setup of its host (e.g. a logging provider).</summary>
    public static async Task<RelayServer> StartAsync(IDictionary<string, string?>? settings, Action<WebApplicationBuilder>? configure, CancellationToken cancellationToken = default)
    {
        var app = RelayApp.Build([], builder =>
        {
            configure?.Invoke(builder);
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { [WebHostDefaults.ServerUrlsKey] = "http://127.0.0.1:0" });
            if (settings is not null)
            {
                builder.Configuration.AddInMemoryCollection(settings);
            }

            builder.WebHost.UseUrls(builder.Configuration[WebHostDefaults.ServerUrlsKey]!);
        });
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false); // what did start (the socket, the store's loops) stops again
            throw;
        }

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new RelayServer(app, new Uri(address));
    }

    /// <summary>Creates an API key in this relay's store (what <c>keys create</c> does).</summary>
    public Task<string> CreateKeyAsync(string workspace, string plan = "default", bool readOnly = false, CancellationToken cancellationToken = default)
        => KeyAdmin.CreateAsync(Services.GetRequiredService<Storage.IRelayStore>(), workspace, plan, readOnly, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}

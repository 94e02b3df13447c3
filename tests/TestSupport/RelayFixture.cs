using CtxRelay.Relay;
using Xunit;

namespace CtxRelay.Testing;

/// <summary>
/// A real relay (Kestrel on a free loopback port) with its own temporary data folder, started once per
/// test class. <see cref="ApiKey"/> belongs to a fresh workspace; make more with <see cref="CreateKeyAsync"/>.
/// </summary>
public class RelayFixture : IAsyncLifetime
{
    private RelayServer? _server;

    private readonly TemporaryDirectory _data = new("relay");

    public string DataDirectory => _data.Path;

    public string BaseUrl => Server.BaseUrl.AbsoluteUri.TrimEnd('/');

    public string ApiKey { get; private set; } = string.Empty;

    public RelayServer Server => _server ?? throw new InvalidOperationException("The relay has not started.");

    /// <summary>Configuration overrides for this fixture's relay (e.g. <c>Relay:MaxPayloadBytes</c>).</summary>
    protected virtual IDictionary<string, string?> Settings => new Dictionary<string, string?>();

    public virtual async Task InitializeAsync()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Relay:DataDirectory"] = DataDirectory,
            ["Relay:KeyCacheDuration"] = "00:00:00",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in Settings)
        {
            settings[key] = value;
        }

        _server = await RelayServer.StartAsync(settings);
        ApiKey = await CreateKeyAsync("ws-" + Guid.NewGuid().ToString("N")[..8]);
    }

    /// <summary>Creates a key of a new or existing workspace.</summary>
    public Task<string> CreateKeyAsync(string workspace, string plan = "default", bool readOnly = false)
        => Server.CreateKeyAsync(workspace, plan, readOnly);

    /// <summary>An SDK client of this relay (with <see cref="ApiKey"/> unless another key is given).</summary>
    public ContextRelay CreateClient(string? apiKey = null)
        => new(ContextRelayOptions.Default with { BaseUrl = new Uri(BaseUrl), ApiKey = apiKey ?? ApiKey, ReconnectDelay = TimeSpan.FromMilliseconds(200) });

    /// <summary>A plain HttpClient on the relay, with a key unless null is passed.</summary>
    public HttpClient CreateHttpClient(string? apiKey = "")
    {
        var http = new HttpClient { BaseAddress = new Uri(BaseUrl + "/") };
        var key = apiKey == string.Empty ? ApiKey : apiKey;
        if (key is not null)
        {
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        }

        return http;
    }

    public virtual async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _data.Dispose();
    }
}

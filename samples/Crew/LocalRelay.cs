using CtxRelay.Relay;

namespace CtxRelay.Samples.Crew;

/// <summary>A relay started in this process (on a free loopback port, data in a temporary folder) when none is configured.</summary>
internal sealed class LocalRelay : IAsyncDisposable
{
    private readonly RelayServer _server;
    private readonly string _data;

    private LocalRelay(RelayServer server, string data, ContextRelayOptions options)
    {
        _server = server;
        _data = data;
        Options = options;
    }

    public ContextRelayOptions Options { get; }

    public static async Task<LocalRelay> StartAsync(CancellationToken cancellationToken)
    {
        var data = Directory.CreateTempSubdirectory("contextrelay-crew-").FullName;
        var server = await RelayServer.StartAsync(new Dictionary<string, string?>
        {
            ["Relay:DataDirectory"] = data,
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Microsoft.AspNetCore.DataProtection"] = "Error", // its key-storage warning means nothing here
        }, cancellationToken);
        var key = await server.CreateKeyAsync("crew", cancellationToken: cancellationToken);
        return new LocalRelay(server, data, ContextRelayOptions.Default with { BaseUrl = server.BaseUrl, ApiKey = key });
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_data, recursive: true);
    }
}

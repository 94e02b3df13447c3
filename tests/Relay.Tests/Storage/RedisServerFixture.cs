using CtxRelay.Testing;

namespace CtxRelay.Relay.Tests;

/// <summary>
/// A real <c>redis-server</c> for the tests of one collection (no persistence). Tests share the server,
/// never keys: each uses its own key prefix.
/// </summary>
public sealed class RedisServerFixture : IAsyncLifetime
{
    private RedisServerProcess? _server;

    public RedisServerProcess Server => _server ?? throw new InvalidOperationException("redis-server has not started.");

    /// <summary>StackExchange.Redis configuration string of the server.</summary>
    public string ConnectionString => Server.ConnectionString;

    public async Task InitializeAsync() => _server = await RedisServerProcess.StartAsync();

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class RedisCollection : ICollectionFixture<RedisServerFixture>
{
    public const string Name = "redis-server";
}

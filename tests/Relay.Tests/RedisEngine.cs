using CtxRelay.Testing;

namespace CtxRelay.Relay.Tests;

/// <summary>A relay on the Redis engine, with its own real redis-server and key prefix.</summary>
public class RedisRelayFixture : RelayFixture
{
    private RedisServerProcess? _redis;

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Storage:Engine"] = "redis",
        ["Storage:Redis"] = _redis!.ConnectionString,
        ["Storage:RedisPrefix"] = "t" + Guid.NewGuid().ToString("N")[..8] + ":",
        ["Relay:SweepInterval"] = "00:00:00.200",
    };

    public override async Task InitializeAsync()
    {
        _redis = await RedisServerProcess.StartAsync();
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
    }
}

// The same protocol suites as on the embedded engine: one parametrised suite, not two copies.
public sealed class RedisPayloadProtocolTests(RedisRelayFixture relay) : PayloadProtocolTests(relay), IClassFixture<RedisRelayFixture>;

public sealed class RedisChannelProtocolTests(RedisRelayFixture relay) : ChannelProtocolTests(relay), IClassFixture<RedisRelayFixture>;

using CtxRelay.Relay.Storage.Sqlite;

namespace CtxRelay.Relay.Storage;

/// <summary>Builds the configured engine: <c>Storage:Engine</c> = <c>sqlite</c> (default) or <c>redis</c>.</summary>
internal static class StoreFactory
{
    public static IRelayStore Create(StorageOptions storage, RelayOptions relay, ILoggerFactory loggers)
        => storage.Engine.ToLowerInvariant() switch
        {
            "sqlite" or "embedded" or "" => new SqliteRelayStore(relay.DataDirectory, storage.SqliteMaxBytes, loggers.CreateLogger<SqliteRelayStore>()),
            "redis" => CreateRedis(storage, loggers),
            var other => throw new InvalidOperationException($"Unknown storage engine '{other}': set Storage:Engine to 'sqlite' or 'redis'."),
        };

    private static IRelayStore CreateRedis(StorageOptions storage, ILoggerFactory loggers)
    {
        if (string.IsNullOrWhiteSpace(storage.Redis))
        {
            throw new InvalidOperationException("Storage:Engine is 'redis' but Storage:Redis is empty: set it to a connection string such as 'localhost:6379'.");
        }

        return new Redis.RedisRelayStore(storage, logger: loggers.CreateLogger<Redis.RedisRelayStore>());
    }
}

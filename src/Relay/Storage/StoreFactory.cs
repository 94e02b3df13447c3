using CtxRelay.Relay.Storage.Sqlite;

namespace CtxRelay.Relay.Storage;

/// <summary>Builds the configured engine: <c>Storage:Engine</c> = <c>sqlite</c> (default) or <c>redis</c>.</summary>
internal static class StoreFactory
{
    /// <param name="serving">For a relay that serves requests: the embedded engine then holds its data folder
    /// against a second relay (<see cref="DataFolderLock"/>). The key and usage commands work beside it.</param>
    public static IRelayStore Create(StorageOptions storage, RelayOptions relay, ILoggerFactory loggers, bool serving = false)
        => storage.Engine.ToLowerInvariant() switch
        {
            "sqlite" or "embedded" or "" => new SqliteRelayStore(relay.DataDirectory, storage.SqliteMaxBytes, loggers.CreateLogger<SqliteRelayStore>(), exclusive: serving),
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

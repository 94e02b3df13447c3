using Microsoft.Data.Sqlite;
using StackExchange.Redis;

namespace CtxRelay.Relay.Storage;

/// <summary>
/// Recognizes a storage that has no room left — the disk (ENOSPC, SQLITE_FULL, including the
/// <c>Storage:SqliteMaxBytes</c> cap) or Redis at its <c>maxmemory</c> (OOM) — so a push answers 507 and
/// stores nothing, and the next push succeeds once there is room again.
/// </summary>
internal static class StorageFull
{
    private const int SqliteFull = 13;
    private const int NoSpaceLeftOnDevice = 28;

    public static bool Is(Exception exception)
    {
        for (var ex = exception; ex is not null; ex = ex.InnerException)
        {
            switch (ex)
            {
                case SqliteException { SqliteErrorCode: SqliteFull }:
                case RedisServerException redis when redis.Message.StartsWith("OOM", StringComparison.Ordinal):
                case IOException io when (io.HResult & 0xFFFF) == NoSpaceLeftOnDevice || io.Message.Contains("No space left on device", StringComparison.OrdinalIgnoreCase):
                    return true;
            }
        }

        return false;
    }
}

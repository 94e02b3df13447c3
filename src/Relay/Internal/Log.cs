namespace CtxRelay.Relay.Internal;

/// <summary>The relay's log messages. Payloads, metadata values and keys are never logged.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Debug, "Stored payload {Id} ({Size} bytes) for workspace {Workspace}")]
    public static partial void PayloadStored(ILogger logger, string id, long size, string workspace);

    [LoggerMessage(2, LogLevel.Information, "Swept {Count} expired payloads")]
    public static partial void Swept(ILogger logger, int count);

    [LoggerMessage(3, LogLevel.Warning, "Sweep failed; will retry")]
    public static partial void SweepFailed(ILogger logger, Exception exception);

    [LoggerMessage(4, LogLevel.Debug, "Subscriber joined {Workspace}/{Channel} (since {Since})")]
    public static partial void SubscriberJoined(ILogger logger, string workspace, string channel, long since);

    [LoggerMessage(5, LogLevel.Warning, "Subscriber on {Workspace}/{Channel} fell {Buffer} events behind and was disconnected; it can resume with since=")]
    public static partial void SubscriberTooSlow(ILogger logger, string workspace, string channel, int buffer);

    [LoggerMessage(6, LogLevel.Debug, "Rejected API key ({Reason}) from {Remote}")]
    public static partial void KeyRejected(ILogger logger, string reason, string? remote);

    [LoggerMessage(7, LogLevel.Debug, "Subscriber left {Workspace}/{Channel}")]
    public static partial void SubscriberLeft(ILogger logger, string workspace, string channel);

    [LoggerMessage(8, LogLevel.Information, "ContextRelay listening on {Addresses} (storage: {Engine})")]
    public static partial void Listening(ILogger logger, string addresses, string engine);

    [LoggerMessage(9, LogLevel.Warning, "Lost the Redis connection to {Endpoint} ({Failure}); calls answer 503 until it is back")]
    public static partial void RedisConnectionLost(ILogger logger, string? endpoint, string failure);

    [LoggerMessage(10, LogLevel.Warning, "Catch-up of {Workspace}/{Channel} after a reconnect failed; the next event or reconnect retries it")]
    public static partial void CatchUpFailed(ILogger logger, string workspace, string channel, Exception exception);

    [LoggerMessage(11, LogLevel.Warning, "Could not read events {From}–{To} of {Workspace}/{Channel} from Redis; live subscribers miss them (they can resume with since=)")]
    public static partial void GapUnfilled(ILogger logger, string workspace, string channel, long from, long to, Exception exception);

    [LoggerMessage(12, LogLevel.Warning, "Open mode is on: requests without an API key act in workspace '{Workspace}' (plan {Plan}). Anyone who can reach {Addresses} can push, pull and subscribe there")]
    public static partial void OpenMode(ILogger logger, string workspace, string plan, string addresses);

    [LoggerMessage(13, LogLevel.Warning, "Could not check the store for revoked keys ({Failure}); retrying")]
    public static partial void AccessCheckFailed(ILogger logger, string failure);

    [LoggerMessage(14, LogLevel.Warning, "Could not save usage counts ({Failure}); they are kept and saved with the next batch")]
    public static partial void UsageFlushFailed(ILogger logger, string failure);

    [LoggerMessage(15, LogLevel.Warning, "{Address} presented {Limit} bad API keys within a minute; its requests with a key answer 429 until the minute is over")]
    public static partial void AddressThrottled(ILogger logger, string address, int limit);

    [LoggerMessage(16, LogLevel.Warning, "WAL checkpoint failed; the pages stay in the WAL and the next checkpoint retries")]
    public static partial void CheckpointFailed(ILogger logger, Exception exception);
}

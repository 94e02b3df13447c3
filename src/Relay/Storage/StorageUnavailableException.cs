namespace CtxRelay.Relay.Storage;

/// <summary>
/// The storage engine cannot be reached right now (e.g. Redis is down or not answering in time). The
/// relay answers 503; the message is safe to show to callers, the inner exception is for the logs.
/// Engines recover by themselves once the storage is back.
/// </summary>
internal sealed class StorageUnavailableException : Exception
{
    public const string DefaultMessage = "The relay's storage is unavailable right now. Retry in a few seconds.";

    public StorageUnavailableException()
        : base(DefaultMessage)
    {
    }

    public StorageUnavailableException(string message)
        : base(message)
    {
    }

    public StorageUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

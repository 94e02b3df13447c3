namespace CtxRelay.Relay.Storage.Sqlite;

/// <summary>
/// Keeps a second relay off a data folder that a relay serves: the SQLite engine delivers channel events to
/// subscribers in its own process, so a second relay on the same folder would store and read correctly but
/// never tell its subscribers about the first one's pushes (or the other way round) — a silent failure. The
/// lock is <c>relay.lock</c> in the folder, held open without sharing for the relay's life (an advisory
/// <c>flock</c> on Linux and macOS, a sharing lock on Windows); the operating system lets go of it when the
/// process ends, also after <c>kill -9</c>. The key and usage commands open the database without it, beside a
/// running relay.
/// </summary>
internal sealed class DataFolderLock : IDisposable
{
    public const string FileName = "relay.lock";

    private readonly FileStream _file;

    private DataFolderLock(FileStream file) => _file = file;

    /// <summary>Takes the folder's lock, or says which folder is in use and what to do instead.</summary>
    /// <exception cref="StorageUnavailableException">Another relay holds the folder.</exception>
    public static DataFolderLock Acquire(string dataDirectory)
    {
        var path = Path.Combine(dataDirectory, FileName);
        try
        {
            return new DataFolderLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 1));
        }
        catch (IOException ex) when (File.Exists(path))
        {
            throw new StorageUnavailableException(
                $"The data folder '{Path.GetFullPath(dataDirectory)}' is in use by another relay. One relay per SQLite data folder (it delivers channel events in its own process): stop the other relay, give this one its own folder (--data DIR), or run relays that share storage on Redis (--storage redis).",
                ex);
        }
    }

    public void Dispose() => _file.Dispose();
}

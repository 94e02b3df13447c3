using System.Threading.Channels;
using CtxRelay.Relay.Internal;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace CtxRelay.Relay.Storage.Sqlite;

/// <summary>
/// Copies committed WAL pages into the database file on its own connection, off the writer loop's path.
/// Readers then get payload pages from the memory-mapped database file (no read into SQLite's page cache,
/// no WAL-index lookup per page) instead of the WAL, and the writer no longer stops every ~4 MB of WAL to
/// checkpoint before it acknowledges a batch. A large payload is checkpointed right after its commit, so
/// its first pulls after a hand-off already read it mapped; small writes are gathered to about the amount
/// SQLite's own auto-checkpoint would wait for. PASSIVE checkpoints never block readers or the writer.
/// </summary>
internal sealed class WalCheckpointer : IAsyncDisposable
{
    /// <summary>A payload at least this large is checkpointed as soon as it is committed.</summary>
    public const long LargePayloadBytes = 64 * 1024;

    /// <summary>Smaller writes are checkpointed once about this many bytes have been committed (SQLite's default: 1,000 pages).</summary>
    private const long GatherBytes = 4 * 1024 * 1024;

    private readonly string _connectionString;
    private readonly ILogger _logger;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Task _loop;
    private long _pending;
    private long _checkpoints;

    public WalCheckpointer(string connectionString, ILogger? logger = null)
    {
        _connectionString = connectionString;
        _logger = logger ?? NullLogger.Instance;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Checkpoints completed (for tests).</summary>
    internal long Checkpoints => Interlocked.Read(ref _checkpoints);

    /// <summary>Notes that <paramref name="bytes"/> of payload were committed; wakes the checkpointer when enough were.</summary>
    public void Committed(long bytes)
    {
        if (Interlocked.Add(ref _pending, bytes) >= GatherBytes || bytes >= LargePayloadBytes)
        {
            _wake.Writer.TryWrite(true);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _wake.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }

    private async Task RunAsync()
    {
        SqliteConnection? connection = null;
        while (await _wake.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            _wake.Reader.TryRead(out _);
            Interlocked.Exchange(ref _pending, 0);
            try
            {
                if (connection is null)
                {
                    connection = new SqliteConnection(_connectionString);
                    await connection.OpenAsync().ConfigureAwait(false);
                }

                await using var command = connection.CreateCommand();
                command.CommandText = "PRAGMA wal_checkpoint(PASSIVE)";
                await command.ExecuteNonQueryAsync().ConfigureAwait(false);
                Interlocked.Increment(ref _checkpoints);
            }
            catch (SqliteException ex)
            {
                // Nothing is lost: the pages stay in the WAL, readers find them there, and the next checkpoint
                // (or the writer's own backstop auto-checkpoint) copies them.
                Log.CheckpointFailed(_logger, ex);
                if (connection is not null)
                {
                    await connection.DisposeAsync().ConfigureAwait(false);
                    connection = null;
                }
            }
        }

        if (connection is not null)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }
}

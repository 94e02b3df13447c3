using System.Threading.Channels;
using CtxRelay.Relay.Internal;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace CtxRelay.Relay.Storage.Sqlite;

/// <summary>
/// Copies the WAL pages of large payloads into the database file right after their commit, on its own
/// connection and off the writer loop's path, so their pulls read them from the memory-mapped database file
/// (one copy, from the page cache into the response) instead of from the WAL through SQLite's page buffers.
/// Small writes are left to the writer's own auto-checkpoint (every 1,000 WAL pages), as before.
/// PASSIVE checkpoints never block readers or the writer.
/// </summary>
internal sealed class WalCheckpointer : IAsyncDisposable
{
    /// <summary>A payload at least this large is checkpointed as soon as it is committed.</summary>
    public const long LargePayloadBytes = 64 * 1024;

    private readonly string _connectionString;
    private readonly ILogger _logger;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Task _loop;
    private long _checkpoints;

    public WalCheckpointer(string connectionString, ILogger? logger = null)
    {
        _connectionString = connectionString;
        _logger = logger ?? NullLogger.Instance;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Checkpoints completed (for tests).</summary>
    internal long Checkpoints => Interlocked.Read(ref _checkpoints);

    /// <summary>Notes that a payload of <paramref name="bytes"/> was committed; a large one wakes the checkpointer.</summary>
    public void Committed(long bytes)
    {
        if (bytes >= LargePayloadBytes)
        {
            _wake.Writer.TryWrite(true); // several commits while a checkpoint runs: one more checkpoint covers them all
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
                // (or the writer's own auto-checkpoint) copies them.
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

using Microsoft.Data.Sqlite;

namespace CtxRelay.Relay.Storage.Sqlite;

/// <summary>
/// Usage counters in their own database (<c>usage.db</c>) beside the payloads, so counting a pull never
/// waits for a payload's commit. WAL with <c>synchronous=NORMAL</c>: a count survives the relay being
/// killed (it is in the OS before the update returns) and costs no fsync; one connection, one update at a
/// time, so check-and-add is exact.
/// </summary>
internal sealed class SqliteUsageCounters : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly SqliteConnection _connection;

    public SqliteUsageCounters(string dataDirectory)
    {
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(dataDirectory, "usage.db"),
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = 30,
        }.ToString());
    }

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await _connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = _connection.CreateCommand();
        command.CommandText = """
            PRAGMA journal_mode = WAL;
            PRAGMA synchronous = NORMAL;
            PRAGMA busy_timeout = 10000;
            CREATE TABLE IF NOT EXISTS usage (
                workspace TEXT NOT NULL, meter TEXT NOT NULL, period TEXT NOT NULL, count INTEGER NOT NULL,
                expires_at INTEGER NOT NULL, PRIMARY KEY (period, workspace, meter));
            """;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<UsageGrant> ConsumeAsync(UsageKey key, long limit, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (limit > 0)
            {
                await using var add = Command("""
                    INSERT INTO usage (workspace, meter, period, count, expires_at) VALUES ($ws, $meter, $period, 1, $expires)
                    ON CONFLICT (period, workspace, meter) DO UPDATE SET count = count + 1, expires_at = MAX(expires_at, $expires) WHERE count < $limit
                    RETURNING count
                    """, key, lifetime);
                add.Parameters.AddWithValue("$limit", limit);
                if (await add.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long used)
                {
                    return new UsageGrant(true, used);
                }
            }

            await using var read = Command("SELECT count FROM usage WHERE period = $period AND workspace = $ws AND meter = $meter", key, lifetime);
            return new UsageGrant(false, await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long current ? current : 0);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task AddAsync(IReadOnlyCollection<KeyValuePair<UsageKey, long>> amounts, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var transaction = (SqliteTransaction)await _connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            foreach (var (key, amount) in amounts)
            {
                await using var add = Command("""
                    INSERT INTO usage (workspace, meter, period, count, expires_at) VALUES ($ws, $meter, $period, MAX($amount, 0), $expires)
                    ON CONFLICT (period, workspace, meter) DO UPDATE SET count = MAX(count + $amount, 0), expires_at = MAX(expires_at, $expires)
                    """, key, lifetime);
                add.Transaction = transaction;
                add.Parameters.AddWithValue("$amount", amount);
                await add.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<IReadOnlyList<KeyValuePair<UsageKey, long>>> ReadAsync(string period, string? workspace, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var command = _connection.CreateCommand();
            command.CommandText = "SELECT workspace, meter, count FROM usage WHERE period = $period AND ($ws IS NULL OR workspace = $ws) ORDER BY workspace, meter";
            command.Parameters.AddWithValue("$period", period);
            command.Parameters.AddWithValue("$ws", (object?)workspace ?? DBNull.Value);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var rows = new List<KeyValuePair<UsageKey, long>>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                rows.Add(new(new UsageKey(reader.GetString(0), reader.GetString(1), period), reader.GetInt64(2)));
            }

            return rows;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task SweepAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var command = _connection.CreateCommand();
            command.CommandText = "DELETE FROM usage WHERE expires_at <= $now";
            command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _connection.DisposeAsync().ConfigureAwait(false);
        _gate.Dispose();
    }

    private SqliteCommand Command(string sql, UsageKey key, TimeSpan lifetime)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$ws", key.Workspace);
        command.Parameters.AddWithValue("$meter", key.Meter);
        command.Parameters.AddWithValue("$period", key.Period);
        command.Parameters.AddWithValue("$expires", (DateTimeOffset.UtcNow + lifetime).ToUnixTimeMilliseconds());
        return command;
    }
}

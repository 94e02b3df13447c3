using CtxRelay.Relay.Storage;
using CtxRelay.Relay.Storage.Sqlite;

namespace CtxRelay.Relay.Tests;

/// <summary>The storage contract on the embedded engine, one temporary database per test.</summary>
public sealed class SqliteStoreContractTests : StoreContractTests
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "contextrelay-tests", "store-" + Guid.NewGuid().ToString("N"));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private protected override Task<IRelayStore> CreateStoreAsync() => Task.FromResult<IRelayStore>(new SqliteRelayStore(_directory));
}

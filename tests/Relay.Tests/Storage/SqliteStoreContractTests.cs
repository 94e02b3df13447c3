using CtxRelay.Relay.Storage;
using CtxRelay.Relay.Storage.Sqlite;
using CtxRelay.Testing;

namespace CtxRelay.Relay.Tests;

/// <summary>The storage contract on the embedded engine, one temporary database per test.</summary>
public sealed class SqliteStoreContractTests : StoreContractTests
{
    private readonly TemporaryDirectory _directory = new("store");

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _directory.Dispose();
    }

    private protected override Task<IRelayStore> CreateStoreAsync() => Task.FromResult<IRelayStore>(new SqliteRelayStore(_directory.Path));
}

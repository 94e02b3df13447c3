using CtxRelay.Relay.Storage;
using CtxRelay.Relay.Storage.Sqlite;
using CtxRelay.Testing;

namespace CtxRelay.Relay.Tests;

/// <summary>One relay per SQLite data folder (the process-level case is in <see cref="ProcessTests"/>).</summary>
public sealed class DataFolderLockTests : IDisposable
{
    private readonly TemporaryDirectory _folder = new("lock");

    [Fact]
    public async Task An_embedded_relay_holds_its_data_folder_until_it_is_disposed()
    {
        var settings = new Dictionary<string, string?> { ["Relay:DataDirectory"] = _folder.Path, ["Logging:LogLevel:Default"] = "Warning" };
        var first = await RelayServer.StartAsync(settings);
        var key = await first.CreateKeyAsync("lock");

        var refused = await Assert.ThrowsAsync<StorageUnavailableException>(() => RelayServer.StartAsync(settings));
        Assert.Contains("in use by another relay", refused.Message, StringComparison.Ordinal);
        Assert.Contains(_folder.Path, refused.Message, StringComparison.Ordinal);

        // A store opened for the key commands (not serving) works beside it.
        await using (var beside = new SqliteRelayStore(_folder.Path))
        {
            await beside.InitializeAsync(CancellationToken.None);
            Assert.Contains(await beside.ListKeysAsync(CancellationToken.None), k => k.Workspace == "lock");
        }

        await first.DisposeAsync();
        await using var again = await RelayServer.StartAsync(settings); // disposing let go of the folder
        using var http = new HttpClient { BaseAddress = again.BaseUrl };
        http.DefaultRequestHeaders.Authorization = new("Bearer", key);
        var id = (await Http.PushJsonAsync(http, new { data = "after" }))["id"]!.GetValue<string>();
        Assert.Equal("after", await http.GetStringAsync($"pull/{id}"));
    }

    public void Dispose() => _folder.Dispose();
}

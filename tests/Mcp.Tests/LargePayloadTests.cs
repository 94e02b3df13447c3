using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using CtxRelay.Testing;
using ModelContextProtocol.Protocol;

namespace CtxRelay.Mcp.Tests;

/// <summary>Payloads too big for one tool result: paging through them, and save_to.</summary>
public sealed partial class LargePayloadTests(RelayFixture relay) : IClassFixture<RelayFixture>
{
    private const int FiveMegabytes = 5_000_000;

    [Fact]
    public async Task Paging_through_a_5_MB_payload_reassembles_it_exactly()
    {
        var ct = TestText.Timeout(300);
        await using var server = await McpServerProcess.StartAsync(relay.BaseUrl, relay.ApiKey, ct);
        var text = TestText.Create(FiveMegabytes, seed: 5);
        var url = await server.CallTextAsync("push_context", new { data = text, summary = "5 MB" }, ct);

        // The first page, as a model gets it without asking for a size, stays well under client caps.
        var first = await server.CallAsync("pull_context", new { url }, ct);
        Assert.False(first.IsError is true, first.AllText());
        Assert.Equal(2, first.Content.Count);
        Assert.InRange(first.Text(0).Length, 19_999, 20_000);
        var note = first.Text(1);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"{FiveMegabytes - first.Text(0).Length:N0} more characters"), note);
        Assert.Contains("save_to=", note);

        var pages = new List<string> { first.Text(0) };
        var next = NextOffset(note);
        var calls = 1;
        while (next is { } offset)
        {
            var page = await server.CallAsync("pull_context", new { url, offset, max_chars = 100_000 }, ct);
            Assert.False(page.IsError is true, page.AllText());
            var part = page.Text(0);
            Assert.InRange(part.Length, 1, 100_000);
            Assert.False(char.IsLowSurrogate(part[0]) || char.IsHighSurrogate(part[^1]), $"the page at {offset} splits a surrogate pair");
            pages.Add(part);
            next = NextOffset(page.Text(1));
            calls++;
        }

        var reassembled = string.Concat(pages);
        Assert.Equal(text.Length, reassembled.Length);
        Assert.True(text == reassembled, "the pages do not reassemble the payload");
        Assert.InRange(calls, 50, 52);
    }

    [Fact]
    public async Task Max_chars_is_capped_at_100000()
    {
        var ct = TestText.Timeout();
        await using var server = await McpServerProcess.StartAsync(relay.BaseUrl, relay.ApiKey, ct);
        using var sdk = relay.CreateClient();
        var url = await sdk.PushAsync(new string('z', 250_000), cancellationToken: ct);

        var page = await server.CallAsync("pull_context", new { url, offset = 10, max_chars = 1_000_000 }, ct);

        Assert.Equal(100_000, page.Text(0).Length);
        Assert.Contains("offset=100010", page.Text(1));
    }

    [Fact]
    public async Task The_last_page_says_nothing_more_remains()
    {
        var ct = TestText.Timeout();
        await using var server = await McpServerProcess.StartAsync(relay.BaseUrl, relay.ApiKey, ct);
        using var sdk = relay.CreateClient();
        var url = await sdk.PushAsync("0123456789", cancellationToken: ct);

        var page = await server.CallAsync("pull_context", new { url, offset = 6 }, ct);

        Assert.Equal("6789", page.Text(0));
        Assert.Contains("End of payload", page.Text(1));
        Assert.Null(NextOffset(page.Text(1)));
    }

    [Fact]
    public async Task Save_to_writes_the_exact_bytes_of_a_5_MB_payload()
    {
        var ct = TestText.Timeout(300);
        await using var server = await McpServerProcess.StartAsync(relay.BaseUrl, relay.ApiKey, ct);
        var text = TestText.Create(FiveMegabytes, seed: 6);
        using var sdk = relay.CreateClient();
        var url = await sdk.PushAsync(text, cancellationToken: ct);
        var folder = Path.Combine(Path.GetTempPath(), TestText.Unique("mcp-save"));
        var path = Path.Combine(folder, "nested", "payload.txt");
        try
        {
            var result = await server.CallAsync("pull_context", new { url, save_to = path }, ct);

            Assert.False(result.IsError is true, result.AllText());
            var expected = Encoding.UTF8.GetBytes(text);
            Assert.Contains(path, result.Text());
            Assert.Contains(expected.Length.ToString("N0", CultureInfo.InvariantCulture) + " bytes", result.Text());
            Assert.DoesNotContain(text[..200], result.AllText());
            var written = await File.ReadAllBytesAsync(path, ct);
            Assert.True(expected.AsSpan().SequenceEqual(written), "the file does not hold the payload's bytes");
            Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!)); // no partial file left behind
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Save_to_decrypts_an_encrypted_payload_and_replaces_an_existing_file()
    {
        var ct = TestText.Timeout();
        await using var server = await McpServerProcess.StartAsync(relay.BaseUrl, relay.ApiKey, ct);
        var text = TestText.Create(300_000, seed: 8);
        var url = await server.CallTextAsync("push_context", new { data = text, encrypted = true }, ct);
        var path = Path.Combine(Path.GetTempPath(), TestText.Unique("mcp-save") + ".txt");
        await File.WriteAllTextAsync(path, "old content", ct);
        try
        {
            var result = await server.CallAsync("pull_context", new { url, save_to = path }, ct);

            Assert.False(result.IsError is true, result.AllText());
            Assert.Equal(Encoding.UTF8.GetBytes(text), await File.ReadAllBytesAsync(path, ct));
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static int? NextOffset(string note)
        => OffsetPattern().Match(note) is { Success: true } m ? int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : null;

    [GeneratedRegex(@"Call pull_context with offset=(\d+)")]
    private static partial Regex OffsetPattern();
}

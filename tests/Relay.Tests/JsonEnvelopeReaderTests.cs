using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CtxRelay.Relay.Internal;
using CtxRelay.Testing;

namespace CtxRelay.Relay.Tests;

/// <summary>
/// The streaming JSON-envelope reader against System.Text.Json as the oracle: every body is read once
/// whole and once one byte per read (every escape split across reads), and must give exactly what
/// JsonDocument gives — or be refused, like JsonDocument refuses it.
/// </summary>
public sealed class JsonEnvelopeReaderTests : IDisposable
{
    private readonly TemporaryDirectory _temp = new("envelope");

    public static TheoryData<string> ValidBodies => new()
    {
        """{"data":"hello"}""",
        """ { "channel" : "jobs" , "data" : "x" , "metadata" : {"a":[1,{"b":"}\"]"}],"c":null} } """,
        """{"data":"esc \" \\ \/ \b \f \n \r \t \u0041 \u00e9 \u20ac \ud83d\ude00 end"}""",
        """{"data":"raw UTF-8: Grüße 日本語 🔐"}""",
        """{"data":""}""",
        """{"metadata":{"k":"v"},"ttl_seconds":60,"encrypted":true,"data":"{\"data\":\"inner\"}","extra":[1,2,"3"]}""",
        """{"data":"x","channel":null}""",
        """{"data":"x","n":-1.5e3,"t":true,"f":false}""",
    };

    public static TheoryData<string> InvalidBodies => new()
    {
        "",
        "[]",
        "\"data\"",
        """{"data":1}""",
        """{"nodata":"x"}""",
        """{"data":"x","data":"y"}""",
        """{"data":"unterminated}""",
        """{"data":"bad \q escape"}""",
        """{"data":"short \u12"}""",
        """{"data":"lone \ud800 surrogate"}""",
        """{"data":"lone \udc00 low"}""",
        "{\"data\":\"raw \u0001 control\"}",
        """{"data":"x"} trailing""",
        """{"data":"x",}""",
        """{"data":"x" "channel":"y"}""",
        """{"data":"x","metadata":{"a":}}""",
        """{"data":"x","junk":tru}""",
        """{data:"x"}""",
    };

    [Theory]
    [MemberData(nameof(ValidBodies))]
    public async Task Valid_envelopes_give_what_JsonDocument_gives_read_whole_and_byte_by_byte(string body)
    {
        using var expected = JsonDocument.Parse(body);
        foreach (var chunk in new[] { int.MaxValue, 1 })
        {
            var envelope = await ReadAsync(Encoding.UTF8.GetBytes(body), chunk);
            await using (envelope.Data)
            {
                var data = expected.RootElement.GetProperty("data").GetString()!;
                Assert.Equal(data, await ReadAllAsync(envelope.Data));
                Assert.Equal(Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(data))).TrimEnd('=').Replace('+', '-').Replace('/', '_'), envelope.Data.Hash);
                foreach (var member in expected.RootElement.EnumerateObject().Where(p => p.Name != "data"))
                {
                    var actual = envelope.Member(member.Name);
                    Assert.Equal(member.Value.ValueKind == JsonValueKind.Null ? null : member.Value.GetRawText(), actual?.GetRawText());
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(InvalidBodies))]
    public async Task Invalid_envelopes_are_refused_with_a_reason(string body)
    {
        foreach (var chunk in new[] { int.MaxValue, 1 })
        {
            var error = await Assert.ThrowsAsync<JsonEnvelopeException>(() => ReadAsync(Encoding.UTF8.GetBytes(body), chunk));
            Assert.False(string.IsNullOrWhiteSpace(error.Message));
        }
    }

    [Fact]
    public async Task Invalid_utf8_in_data_is_refused_and_data_over_the_limit_stops_the_read()
    {
        await Assert.ThrowsAsync<JsonEnvelopeException>(() => ReadAsync([.. "{\"data\":\"a"u8, 0xC3, 0x28, .. "\"}"u8], 1));
        await Assert.ThrowsAsync<JsonEnvelopeException>(() => ReadAsync([.. "{\"data\":\"cut "u8, 0xE2, 0x82, .. "\"}"u8], int.MaxValue));
        await Assert.ThrowsAsync<PayloadTooLargeException>(() => ReadAsync(Encoding.UTF8.GetBytes("{\"data\":\"" + new string('x', 101) + "\"}"), 7, limit: 100));
    }

    [Fact]
    public async Task A_large_envelope_spools_to_disk_byte_exact()
    {
        var text = string.Concat(Enumerable.Range(0, 60_000).Select(i => $"line {i}: \"quoted\" \\ tab\t é 🔐\n"));
        var body = JsonSerializer.SerializeToUtf8Bytes(new { data = text, channel = "big" });
        var envelope = await ReadAsync(body, 8191);
        await using (envelope.Data)
        {
            Assert.True(envelope.Data.Length > 1024 * 1024);
            Assert.Equal(text, await ReadAllAsync(envelope.Data));
            Assert.Equal("big", envelope.Member("channel")!.Value.GetString());
        }
    }

    public void Dispose() => _temp.Dispose();

    private Task<JsonEnvelope> ReadAsync(byte[] body, int chunk, long limit = 10 * 1024 * 1024)
        => JsonEnvelopeReader.ReadAsync(new TricklingStream(body, chunk), limit, 16 * 1024, _temp.Path, default);

    private static async Task<string> ReadAllAsync(PayloadSpool spool)
    {
        await using var stream = spool.OpenRead();
        using var reader = new StreamReader(stream, new UTF8Encoding(false, true));
        return await reader.ReadToEndAsync();
    }

    /// <summary>A body that arrives at most <c>chunk</c> bytes per read, like a slow upload.</summary>
    private sealed class TricklingStream(byte[] data, int chunk) : MemoryStream(data)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
            => base.ReadAsync(buffer[..Math.Min(buffer.Length, chunk)], cancellationToken);
    }
}

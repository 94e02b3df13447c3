using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace CtxRelay.Sdk.Tests;

public sealed class FernetTests
{
    private static readonly TimeSpan Minute = TimeSpan.FromSeconds(60);

    public static TheoryData<string> GenerateVectors => FernetVectors.Cases("generate.json");
    public static TheoryData<string> VerifyVectors => FernetVectors.Cases("verify.json");
    public static TheoryData<string> InvalidVectors => FernetVectors.Cases("invalid.json");
    public static TheoryData<string> InteropVectors => FernetVectors.Cases("python-interop.json");

    [Theory]
    [MemberData(nameof(GenerateVectors))]
    public void Generate_vector_reproduces_the_exact_token(string label)
    {
        var v = FernetVectors.Find("generate.json", label);

        string token = Fernet.EncryptAt(v.KeyBytes, v.Plaintext, v.NowUnixSeconds, v.IvBytes);

        Assert.Equal(v.Token, token);
    }

    [Theory]
    [MemberData(nameof(VerifyVectors))]
    public void Verify_vector_decrypts(string label)
    {
        var v = FernetVectors.Find("verify.json", label);

        byte[] plaintext = Fernet.DecryptAt(v.KeyBytes, v.Token!, v.NowUnixSeconds, v.Ttl);

        Assert.Equal(v.Plaintext, plaintext);
    }

    [Theory]
    [MemberData(nameof(InvalidVectors))]
    public void Invalid_vector_is_rejected(string desc)
    {
        var v = FernetVectors.Find("invalid.json", desc);

        var ex = Assert.Throws<RelayDecryptionException>(() => Fernet.DecryptAt(v.KeyBytes, v.Token!, v.NowUnixSeconds, v.Ttl));

        Assert.False(string.IsNullOrWhiteSpace(ex.Message));
    }

    [Theory]
    [MemberData(nameof(InteropVectors))]
    public void Python_interop_vector_reencrypts_identically_and_decrypts(string desc)
    {
        var v = FernetVectors.Find("python-interop.json", desc);
        byte[] plaintext = v.Plaintext;
        Assert.Equal(v.SrcLen, plaintext.Length);
        Assert.Equal(v.SrcSha256, Sha256Hex(plaintext));

        string token = Fernet.EncryptAt(v.KeyBytes, plaintext, v.NowUnixSeconds, v.IvBytes);

        if (v.Token is not null)
        {
            Assert.Equal(v.Token, token);
        }
        else
        {
            Assert.Equal(v.TokenLen, token.Length);
            Assert.Equal(v.TokenSha256, Sha256Hex(Encoding.ASCII.GetBytes(token)));
        }

        Assert.Equal(plaintext, Fernet.DecryptAt(v.KeyBytes, token, v.NowUnixSeconds, v.Ttl));
        Assert.Throws<RelayDecryptionException>(() => Fernet.DecryptAt(v.KeyBytes, token, v.NowUnixSeconds + v.TtlSec!.Value + 1, v.Ttl));
        Assert.Throws<RelayDecryptionException>(() => Fernet.DecryptAt(OtherKey(v.KeyBytes), token, v.NowUnixSeconds, v.Ttl));
    }

    [Fact]
    public void Time_checks_apply_only_with_a_ttl_like_python()
    {
        // Python's cryptography checks age and clock skew only when a ttl is given; so do we.
        var invalid = FernetVectors.Load("invalid.json");
        foreach (string desc in new[] { "far-future TS (unacceptable clock skew)", "expired TTL" })
        {
            var v = invalid.Single(x => x.Desc == desc);
            Assert.Throws<RelayDecryptionException>(() => Fernet.DecryptAt(v.KeyBytes, v.Token!, v.NowUnixSeconds, v.Ttl));
            Assert.Empty(Fernet.DecryptAt(v.KeyBytes, v.Token!, v.NowUnixSeconds, ttl: null)); // both encrypt ""
        }
    }

    [Theory]
    [InlineData(0, true)]            // made now
    [InlineData(60, true)]           // exactly ttl old
    [InlineData(61, false)]          // one second too old
    [InlineData(-60, true)]          // 60 s in the future: allowed skew
    [InlineData(-61, false)]         // 61 s in the future
    public void Ttl_and_clock_skew_boundaries(int ageSeconds, bool accepted)
    {
        byte[] key = RandomNumberGenerator.GetBytes(32);
        const long created = 1_700_000_000;
        string token = Fernet.EncryptAt(key, "x"u8, created, new byte[16]);

        byte[] Decrypt() => Fernet.DecryptAt(key, token, created + ageSeconds, Minute);

        if (accepted)
        {
            Assert.Equal("x"u8.ToArray(), Decrypt());
        }
        else
        {
            Assert.Throws<RelayDecryptionException>(Decrypt);
        }
    }

    [Fact]
    public void GenerateKey_makes_44_char_urlsafe_padded_keys_of_32_random_bytes()
    {
        string key = Fernet.GenerateKey();

        Assert.Equal(44, key.Length);
        Assert.EndsWith("=", key, StringComparison.Ordinal);
        Assert.Matches("^[A-Za-z0-9_-]{43}=$", key);
        Assert.Equal(32, Convert.FromBase64String(key.Replace('-', '+').Replace('_', '/')).Length);
        Assert.NotEqual(key, Fernet.GenerateKey());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(100_003)]
    public void Round_trip_with_generated_key(int size)
    {
        string key = Fernet.GenerateKey();
        byte[] plaintext = RandomNumberGenerator.GetBytes(size);

        string token = Fernet.Encrypt(key, plaintext);

        Assert.Matches("^[A-Za-z0-9_=-]+$", token);
        Assert.Equal(0, token.Length % 4);
        Assert.Equal(plaintext, Fernet.Decrypt(key, token));
        Assert.Equal(plaintext, Fernet.Decrypt(key, token, Minute));
        Assert.NotEqual(token, Fernet.Encrypt(key, plaintext)); // fresh IV every time
    }

    [Fact]
    public void Round_trip_of_non_ascii_text()
    {
        string key = Fernet.GenerateKey();
        const string text = "Grüße, 日本語, 한국어 🔐 👍🏽 👨‍👩‍👧 \0 end";

        string token = Fernet.Encrypt(key, text);

        Assert.Equal(text, Fernet.DecryptString(key, token));
        Assert.Equal(Encoding.UTF8.GetBytes(text), Fernet.Decrypt(key, token));
    }

    [Fact]
    public void Key_and_token_are_accepted_without_padding()
    {
        string key = Fernet.GenerateKey();
        string token = Fernet.Encrypt(key, "padding is optional"); // 19 bytes → 121-byte token → "=" padded
        Assert.EndsWith("=", token, StringComparison.Ordinal);

        Assert.Equal("padding is optional", Fernet.DecryptString(key.TrimEnd('='), token.TrimEnd('=')));
        Assert.Equal("padding is optional", Fernet.DecryptString(key, Fernet.Encrypt(key.TrimEnd('='), "padding is optional")));
    }

    [Fact]
    public void Wrong_key_is_rejected_with_a_helpful_message()
    {
        string token = Fernet.Encrypt(Fernet.GenerateKey(), "secret");

        var ex = Assert.Throws<RelayDecryptionException>(() => Fernet.Decrypt(Fernet.GenerateKey(), token));

        Assert.Contains("#key=", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]     // version byte
    [InlineData(4)]     // timestamp
    [InlineData(12)]    // IV
    [InlineData(30)]    // ciphertext
    [InlineData(-1)]    // last byte of the HMAC
    public void Tampered_token_is_rejected(int position)
    {
        byte[] key = RandomNumberGenerator.GetBytes(32);
        string token = Fernet.EncryptAt(key, "do not touch this payload"u8, 1_700_000_000, new byte[16]);
        byte[] raw = Convert.FromBase64String(token.Replace('-', '+').Replace('_', '/'));
        raw[position < 0 ? raw.Length + position : position] ^= 0x01;
        string tampered = Convert.ToBase64String(raw).Replace('+', '-').Replace('/', '_');

        Assert.Throws<RelayDecryptionException>(() => Fernet.DecryptAt(key, tampered, 1_700_000_000, null));
    }

    [Fact]
    public void Tampered_or_truncated_token_text_is_rejected()
    {
        string key = Fernet.GenerateKey();
        string token = Fernet.Encrypt(key, "do not touch this payload");
        char[] chars = token.ToCharArray();
        int middle = chars.Length / 2;
        chars[middle] = chars[middle] == 'A' ? 'B' : 'A';

        Assert.Throws<RelayDecryptionException>(() => Fernet.Decrypt(key, new string(chars)));
        Assert.Throws<RelayDecryptionException>(() => Fernet.Decrypt(key, token[..^8]));
        Assert.Throws<RelayDecryptionException>(() => Fernet.Decrypt(key, token[..40]));
        Assert.Throws<RelayDecryptionException>(() => Fernet.Decrypt(key, ""));
        Assert.Throws<RelayDecryptionException>(() => Fernet.Decrypt(key, "not a token at all!"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("short")]
    [InlineData("cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e")]          // 42 chars
    [InlineData("cw/0x689RpI+jtRR7oE8h/eQsKImvJapLeSbXpwF4e4=")]        // standard, not URL-safe, base64
    [InlineData("cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4A")]        // 44 chars, no padding: 33 bytes
    [InlineData("%%%0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=")]
    [InlineData("cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=")]
    public void Malformed_key_is_rejected(string key)
    {
        const string token = "gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==";

        Assert.Throws<RelayDecryptionException>(() => Fernet.Decrypt(key, token));
        Assert.Throws<RelayDecryptionException>(() => Fernet.Encrypt(key, "x"));
    }

    [Fact]
    public void DecryptString_refuses_binary_plaintext()
    {
        string key = Fernet.GenerateKey();
        string token = Fernet.Encrypt(key, new byte[] { 0xff, 0xfe, 0x00, 0xc3 });

        Assert.Throws<RelayDecryptionException>(() => Fernet.DecryptString(key, token));
    }

    private static byte[] OtherKey(byte[] key)
    {
        byte[] other = (byte[])key.Clone();
        other[0] ^= 0x80;
        return other;
    }

    private static string Sha256Hex(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));
}

/// <summary>One entry of the Fernet vector files in TestData/fernet (see the README there for the fields).</summary>
internal sealed class FernetVector
{
    public string? Desc { get; init; }
    public required string Secret { get; init; }
    public JsonElement Now { get; init; }
    public int? TtlSec { get; init; }
    public byte[]? Iv { get; init; }
    public string? Src { get; init; }
    public string? SrcRepeat { get; init; }
    public int? Count { get; init; }
    public int? SrcLen { get; init; }
    public string? SrcSha256 { get; init; }
    public string? Token { get; init; }
    public int? TokenLen { get; init; }
    public string? TokenSha256 { get; init; }

    public byte[] KeyBytes => Convert.FromBase64String(Secret.Replace('-', '+').Replace('_', '/'));

    public byte[] IvBytes => Iv ?? throw new InvalidOperationException("vector has no iv");

    public TimeSpan? Ttl => TtlSec is { } s ? TimeSpan.FromSeconds(s) : null;

    /// <summary><c>now</c> is an RFC 3339 string in the spec files and integer seconds in python-interop.json.</summary>
    public long NowUnixSeconds => Now.ValueKind == JsonValueKind.String
        ? DateTimeOffset.Parse(Now.GetString()!, CultureInfo.InvariantCulture).ToUnixTimeSeconds()
        : Now.GetInt64();

    public byte[] Plaintext => Encoding.UTF8.GetBytes(
        Src ?? string.Concat(Enumerable.Repeat(SrcRepeat ?? throw new InvalidOperationException("vector has no src"), Count ?? 1)));
}

internal static class FernetVectors
{
    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new IntArrayAsBytesConverter() },
    };

    private static readonly Dictionary<string, FernetVector[]> Cache = [];

    public static FernetVector[] Load(string file)
    {
        lock (Cache)
        {
            if (!Cache.TryGetValue(file, out var vectors))
            {
                string path = Path.Combine(AppContext.BaseDirectory, "TestData", "fernet", file);
                vectors = JsonSerializer.Deserialize<FernetVector[]>(File.ReadAllBytes(path), Options)
                    ?? throw new InvalidDataException($"{path} is empty");
                Cache[file] = vectors;
            }

            return vectors;
        }
    }

    /// <summary>One theory case per entry, named by its <c>desc</c> (or <c>src</c> in the spec files without one).</summary>
    public static TheoryData<string> Cases(string file) => new(Load(file).Select(Label).Distinct());

    public static FernetVector Find(string file, string label) => Load(file).Single(v => Label(v) == label);

    private static string Label(FernetVector v) => v.Desc ?? v.Src ?? throw new InvalidDataException("vector has neither desc nor src");

    /// <summary>The vector files write IVs as JSON arrays of ints, not base64.</summary>
    private sealed class IntArrayAsBytesConverter : System.Text.Json.Serialization.JsonConverter<byte[]>
    {
        public override byte[] Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            JsonSerializer.Deserialize<int[]>(ref reader)!.Select(i => checked((byte)i)).ToArray();

        public override void Write(Utf8JsonWriter writer, byte[] value, JsonSerializerOptions options) =>
            throw new NotSupportedException();
    }
}

using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace CtxRelay;

/// <summary>
/// Fernet symmetric encryption (https://github.com/fernet/spec), byte-compatible with Python's
/// <c>cryptography.fernet</c>: AES-128-CBC with PKCS7 padding, authenticated by HMAC-SHA256.
/// Keys and tokens are URL-safe base64 with <c>=</c> padding; both are also accepted without it.
/// </summary>
public static class Fernet
{
    private const byte Version = 0x80;
    private const int KeySize = 32;
    private const int HalfKeySize = 16;
    private const int TimestampSize = 8;
    private const int IvSize = 16;
    private const int BlockSize = 16;
    private const int MacSize = 32;
    private const int HeaderSize = 1 + TimestampSize + IvSize;           // version | timestamp | IV
    private const int MinTokenSize = HeaderSize + BlockSize + MacSize;  // at least one ciphertext block
    private const long MaxClockSkewSeconds = 60;

    private const string PassWholeUrl = "pass the whole URL including its #key=… fragment.";

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Creates a new random key: 32 bytes as URL-safe base64 with padding (44 characters).</summary>
    public static string GenerateKey()
    {
        Span<byte> key = stackalloc byte[KeySize];
        RandomNumberGenerator.Fill(key);
        try
        {
            return ToPaddedBase64Url(key);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>Encrypts <paramref name="plaintext"/> with a fresh random IV and the current time.</summary>
    /// <returns>The token: ASCII, URL-safe base64 with padding, exactly as Python's <c>Fernet.encrypt</c> makes.</returns>
    /// <exception cref="RelayDecryptionException">The key is not a valid Fernet key.</exception>
    public static string Encrypt(string key, ReadOnlySpan<byte> plaintext)
    {
        Span<byte> key32 = stackalloc byte[KeySize];
        Span<byte> iv = stackalloc byte[IvSize];
        try
        {
            DecodeKey(key, key32);
            RandomNumberGenerator.Fill(iv);
            return EncryptAt(key32, plaintext, DateTimeOffset.UtcNow.ToUnixTimeSeconds(), iv);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key32);
        }
    }

    /// <summary>Encrypts the UTF-8 bytes of <paramref name="plaintext"/>.</summary>
    /// <exception cref="RelayDecryptionException">The key is not a valid Fernet key.</exception>
    public static string Encrypt(string key, string plaintext)
    {
        ArgumentNullException.ThrowIfNull(plaintext);
        return Encrypt(key, Encoding.UTF8.GetBytes(plaintext));
    }

    /// <summary>
    /// Verifies and decrypts a token. With a <paramref name="ttl"/>, also rejects tokens older than it
    /// or stamped more than 60 s in the future (as Python does).
    /// </summary>
    /// <exception cref="RelayDecryptionException">
    /// The key or token is malformed, the key does not match, the token was altered, or it expired.
    /// </exception>
    public static byte[] Decrypt(string key, string token, TimeSpan? ttl = null)
    {
        Span<byte> key32 = stackalloc byte[KeySize];
        try
        {
            DecodeKey(key, key32);
            return DecryptAt(key32, token, DateTimeOffset.UtcNow.ToUnixTimeSeconds(), ttl);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key32);
        }
    }

    /// <summary>Like <see cref="Decrypt"/>, then decodes the plaintext as UTF-8.</summary>
    /// <exception cref="RelayDecryptionException">As <see cref="Decrypt"/>, or the plaintext is not valid UTF-8.</exception>
    public static string DecryptString(string key, string token, TimeSpan? ttl = null)
    {
        byte[] plaintext = Decrypt(key, token, ttl);
        try
        {
            return StrictUtf8.GetString(plaintext);
        }
        catch (DecoderFallbackException ex)
        {
            throw new RelayDecryptionException(
                "The payload decrypted, but it is binary, not UTF-8 text: read it with Fernet.Decrypt instead.", ex);
        }
    }

    /// <summary>Encrypts with a given time and IV; deterministic, for test vectors.</summary>
    internal static string EncryptAt(ReadOnlySpan<byte> key32, ReadOnlySpan<byte> plaintext, long unixSeconds, ReadOnlySpan<byte> iv16)
    {
        RequireLength(key32, KeySize, nameof(key32));
        RequireLength(iv16, IvSize, nameof(iv16));
        ArgumentOutOfRangeException.ThrowIfNegative(unixSeconds);

        // PKCS7 always adds 1..16 bytes, so the ciphertext size is known before encrypting.
        long ciphertextSize = (plaintext.Length / BlockSize + 1L) * BlockSize;
        long tokenSize = HeaderSize + ciphertextSize + MacSize;
        if (PaddedBase64Length(tokenSize) > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(plaintext), plaintext.Length, "The plaintext is too large for one Fernet token.");
        }

        // One buffer holds the whole binary token; it is written in place and then base64-encoded once.
        byte[] data = GC.AllocateUninitializedArray<byte>((int)tokenSize);
        Span<byte> span = data;
        span[0] = Version;
        BinaryPrimitives.WriteUInt64BigEndian(span.Slice(1, TimestampSize), (ulong)unixSeconds);
        iv16.CopyTo(span.Slice(1 + TimestampSize, IvSize));

        using (var aes = Aes.Create())
        {
            aes.SetKey(key32[HalfKeySize..]);
            aes.EncryptCbc(plaintext, iv16, span.Slice(HeaderSize, (int)ciphertextSize), PaddingMode.PKCS7);
        }

        HMACSHA256.HashData(key32[..HalfKeySize], span[..^MacSize], span[^MacSize..]);
        return ToPaddedBase64Url(span);
    }

    /// <summary>Verifies and decrypts as if the current time were <paramref name="nowUnixSeconds"/>.</summary>
    internal static byte[] DecryptAt(ReadOnlySpan<byte> key32, string token, long nowUnixSeconds, TimeSpan? ttl)
    {
        RequireLength(key32, KeySize, nameof(key32));
        ArgumentNullException.ThrowIfNull(token);
        if (ttl is { } t)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(t, TimeSpan.Zero, nameof(ttl));
        }

        byte[] buffer = DecodeToken(token, out int length);
        Span<byte> data = buffer.AsSpan(0, length);

        if (data.Length < MinTokenSize)
        {
            throw new RelayDecryptionException(
                $"The encrypted payload is too short ({data.Length} bytes, at least {MinTokenSize} expected): it was truncated or is not a Fernet token.");
        }

        if (data[0] != Version)
        {
            throw new RelayDecryptionException(
                $"The encrypted payload has an unknown version byte 0x{data[0]:x2} (Fernet uses 0x80): it is not a Fernet token.");
        }

        Span<byte> ciphertext = data[HeaderSize..^MacSize];
        if (ciphertext.Length % BlockSize != 0)
        {
            throw new RelayDecryptionException(
                "The encrypted payload is damaged: its ciphertext is not a whole number of AES blocks.");
        }

        // Authenticate before anything else in the token is trusted or decrypted.
        Span<byte> expectedMac = stackalloc byte[MacSize];
        HMACSHA256.HashData(key32[..HalfKeySize], data[..^MacSize], expectedMac);
        if (!CryptographicOperations.FixedTimeEquals(expectedMac, data[^MacSize..]))
        {
            throw new RelayDecryptionException(
                $"The decryption key does not match this payload, or the payload was altered: {PassWholeUrl}");
        }

        if (ttl is { } maxAge)
        {
            CheckTimestamp(BinaryPrimitives.ReadUInt64BigEndian(data.Slice(1, TimestampSize)), nowUnixSeconds, maxAge);
        }

        int plaintextLength;
        using (var aes = Aes.Create())
        {
            aes.SetKey(key32[HalfKeySize..]);
            try
            {
                // In place: the decrypted bytes overwrite the ciphertext inside the decoded buffer.
                plaintextLength = aes.DecryptCbc(ciphertext, data.Slice(1 + TimestampSize, IvSize), ciphertext, PaddingMode.PKCS7);
            }
            catch (CryptographicException ex)
            {
                throw new RelayDecryptionException(
                    "The payload is authentic but its padding is invalid: the sender's Fernet encoder is broken.", ex);
            }
        }

        byte[] plaintext = ciphertext[..plaintextLength].ToArray();
        CryptographicOperations.ZeroMemory(ciphertext);
        return plaintext;
    }

    private static void CheckTimestamp(ulong timestamp, long now, TimeSpan ttl)
    {
        // Int128 keeps the comparisons exact for any 64-bit timestamp. Same rules as Python's cryptography.
        Int128 ts = timestamp;
        Int128 ttlSeconds = ttl.Ticks / TimeSpan.TicksPerSecond;
        if (ts + ttlSeconds < now)
        {
            throw new RelayDecryptionException(
                $"The encrypted payload expired: it was created {(long)(now - ts)} s ago and may be at most {(long)ttlSeconds} s old. Ask the sender to push it again.");
        }

        if (ts > now + MaxClockSkewSeconds)
        {
            throw new RelayDecryptionException(
                $"The encrypted payload is stamped {(ulong)(ts - now)} s in the future (at most {MaxClockSkewSeconds} s of clock skew is allowed): check the clocks of this machine and the sender.");
        }
    }

    private static void DecodeKey(string key, Span<byte> key32)
    {
        ArgumentNullException.ThrowIfNull(key);
        ReadOnlySpan<char> chars = key.AsSpan().Trim();
        if (chars.IsEmpty)
        {
            throw new RelayDecryptionException($"No decryption key was given: {PassWholeUrl}");
        }

        // 32 bytes are 43 base64 characters, plus one '=' when padded.
        if (chars.Length is not (43 or 44))
        {
            throw new RelayDecryptionException(
                $"The key is not a Fernet key: expected 32 bytes as URL-safe base64 (44 characters, as Fernet.GenerateKey() makes), got {chars.Length} characters; {PassWholeUrl}");
        }

        Span<byte> decoded = stackalloc byte[Base64Url.GetMaxDecodedLength(44)];
        try
        {
            int written = Base64Url.DecodeFromChars(chars, decoded);
            if (written != KeySize)
            {
                throw new RelayDecryptionException(
                    $"The key decodes to {written} bytes, not {KeySize}: it is not a Fernet key; {PassWholeUrl}");
            }

            decoded[..KeySize].CopyTo(key32);
        }
        catch (FormatException ex)
        {
            throw new RelayDecryptionException(
                $"The key is not valid URL-safe base64 (only A–Z, a–z, 0–9, '-', '_' and '=' padding): {PassWholeUrl}", ex);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(decoded);
        }
    }

    private static byte[] DecodeToken(string token, out int length)
    {
        ReadOnlySpan<char> chars = token.AsSpan().Trim();
        byte[] buffer = GC.AllocateUninitializedArray<byte>(Base64Url.GetMaxDecodedLength(chars.Length));
        try
        {
            length = Base64Url.DecodeFromChars(chars, buffer);
            return buffer;
        }
        catch (FormatException ex)
        {
            throw new RelayDecryptionException(
                "The encrypted payload is not valid URL-safe base64: it was altered in transit or is not a Fernet token.", ex);
        }
    }

    /// <summary>Base64url with '=' padding, as Python's <c>base64.urlsafe_b64encode</c> writes it.</summary>
    private static string ToPaddedBase64Url(ReadOnlySpan<byte> bytes) =>
        string.Create((int)PaddedBase64Length(bytes.Length), bytes, static (chars, source) =>
        {
            int written = Base64Url.EncodeToChars(source, chars);
            chars[written..].Fill('=');
        });

    private static long PaddedBase64Length(long byteCount) => (byteCount + 2) / 3 * 4;

    private static void RequireLength(ReadOnlySpan<byte> value, int expected, string paramName)
    {
        if (value.Length != expected)
        {
            throw new ArgumentException($"Expected exactly {expected} bytes, got {value.Length}.", paramName);
        }
    }
}

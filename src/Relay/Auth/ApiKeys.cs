using System.Security.Cryptography;
using System.Text;
using CtxRelay.Relay.Storage;

namespace CtxRelay.Relay.Auth;

/// <summary>API key format and hashing: <c>cr_live_</c> + 40 base62 characters, stored only as SHA-256.</summary>
internal static class ApiKeys
{
    public const string Prefix = "cr_live_";
    public const int MinimumRandomLength = 32;
    private const int RandomLength = 40;
    private const string Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    public static string Generate() => Prefix + RandomNumberGenerator.GetString(Alphabet, RandomLength);

    /// <summary>True when the text has the shape of a key (it may still be unknown).</summary>
    public static bool IsWellFormed(string? key)
    {
        if (key is null || !key.StartsWith(Prefix, StringComparison.Ordinal) || key.Length < Prefix.Length + MinimumRandomLength || key.Length > 200)
        {
            return false;
        }

        foreach (var c in key.AsSpan(Prefix.Length))
        {
            if (!char.IsAsciiLetterOrDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    public static byte[] Hash(string key) => SHA256.HashData(Encoding.ASCII.GetBytes(key));

    /// <summary>Builds the record to store for a new key; the key text itself is not in it.</summary>
    public static ApiKeyRecord CreateRecord(string key, string workspace, string plan, KeyScope scope, DateTimeOffset now) => new()
    {
        Id = "key_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6)),
        Workspace = workspace,
        Hash = Hash(key),
        Prefix = key[..(Prefix.Length + 6)],
        Plan = plan,
        Scope = scope,
        CreatedAt = now,
    };

    public static bool IsValidWorkspaceName(string name)
        => name.Length is > 0 and <= 64 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
}

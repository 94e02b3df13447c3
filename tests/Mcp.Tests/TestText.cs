using System.Net;
using System.Net.Sockets;
using System.Text;

namespace CtxRelay.Mcp.Tests;

internal static class TestText
{
    private static readonly string[] s_pieces =
    [
        "The quick brown fox jumps over the lazy dog. ", "héllo wörld ", "日本語のテキスト ", "👋🏽", "🚀", "\n",
        "emoji at the end 😀", "tab\tand \"quotes\" and \\backslashes\\ ", "{\"json\": [1, 2, 3]} ", "𝄞 music ",
    ];

    /// <summary>
    /// Deterministic text of exactly <paramref name="length"/> UTF-16 characters mixing ASCII, accents, CJK,
    /// JSON-ish punctuation and many surrogate pairs, so page boundaries often fall inside a pair.
    /// </summary>
    public static string Create(int length, int seed = 1)
    {
        var random = new Random(seed);
        var builder = new StringBuilder(length + 16);
        while (builder.Length < length)
        {
            builder.Append(s_pieces[random.Next(s_pieces.Length)]);
        }

        builder.Length = length;
        if (char.IsHighSurrogate(builder[^1]))
        {
            builder[^1] = '.';
        }

        return builder.ToString();
    }

    public static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    public static CancellationToken Timeout(int seconds = 120) => new CancellationTokenSource(TimeSpan.FromSeconds(seconds)).Token;

    /// <summary>A loopback port nothing listens on.</summary>
    public static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}

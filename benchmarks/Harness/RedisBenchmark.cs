using System.Globalization;
using CtxRelay.Testing;

namespace CtxRelay.Harness;

/// <summary>redis-benchmark's SET of 1 KB values from N clients, against a Redis with <c>appendfsync always</c>.</summary>
internal static class RedisBenchmark
{
    public static async Task<LoadResult> SetAsync(int port, int clients, int requests, int valueBytes)
    {
        var output = await Tool.RunAsync(
            Executables.Require("redis-benchmark", "redis-server"),
            ["-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-t", "set", "-d", valueBytes.ToString(CultureInfo.InvariantCulture),
             "-c", clients.ToString(CultureInfo.InvariantCulture), "-n", requests.ToString(CultureInfo.InvariantCulture), "-r", "100000", "--csv"],
            TimeSpan.FromSeconds(120));

        // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
        var line = output.Split('\n').First(l => l.StartsWith("\"SET\"", StringComparison.Ordinal));
        var fields = line.Split(',').Select(f => f.Trim().Trim('"')).ToArray();
        double Field(int i) => double.Parse(fields[i], CultureInfo.InvariantCulture);
        return new LoadResult(Field(1), Field(4), Field(6));
    }
}

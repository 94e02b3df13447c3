using System.Globalization;
using System.Text.RegularExpressions;

namespace CtxRelay.Harness;

/// <summary>One wrk run: closed-loop load from <c>connections</c> clients for a fixed time.</summary>
internal sealed record LoadResult(double RequestsPerSecond, double P50Ms, double P99Ms)
{
    public override string ToString() => $"{Format.PerSecond(RequestsPerSecond)} (p50 {Format.Ms(P50Ms)}, p99 {Format.Ms(P99Ms)})";

    /// <summary>The median of each figure over several rounds.</summary>
    public static LoadResult Median(IReadOnlyCollection<LoadResult> rounds)
        => new(Stats.Median(rounds.Select(r => r.RequestsPerSecond)), Stats.Median(rounds.Select(r => r.P50Ms)), Stats.Median(rounds.Select(r => r.P99Ms)));
}

/// <summary>
/// HTTP load with wrk (C, epoll, one thread): it costs the shared 2 cores far less than a .NET client would,
/// reports latency percentiles, and the same client drives the relay and its references. POSTs use a Lua
/// script for the method and body; headers (Authorization) go on the command line. No Accept-Encoding is sent.
/// </summary>
internal sealed partial class Wrk(string scriptsDirectory)
{
    private readonly string _executable = CtxRelay.Testing.Executables.Require("wrk", "wrk");

    /// <summary>GET <paramref name="url"/>, or POST <paramref name="postBytes"/> bytes of 'x' as text/plain.</summary>
    public async Task<LoadResult> RunAsync(string url, int connections, TimeSpan duration, string? bearer = null, int? postBytes = null)
    {
        var arguments = new List<string>
        {
            "-t", "1", "-c", connections.ToString(CultureInfo.InvariantCulture),
            "-d", $"{Math.Max(1, (int)duration.TotalSeconds)}s", "--timeout", "10s", "--latency",
        };
        if (bearer is not null)
        {
            arguments.AddRange(["-H", "Authorization: Bearer " + bearer]);
        }

        if (postBytes is { } size)
        {
            arguments.AddRange(["-s", PostScript(size)]);
        }

        arguments.Add(url);
        var output = await Tool.RunAsync(_executable, arguments, duration + TimeSpan.FromSeconds(30));
        if (NonSuccess().Match(output) is { Success: true } bad)
        {
            throw new InvalidOperationException($"wrk {url}: {bad.Groups[1].Value} responses were not 2xx/3xx:\n{output}");
        }

        if (SocketErrors().Match(output) is { Success: true } errors)
        {
            throw new InvalidOperationException($"wrk {url}: socket errors ({errors.Value.Trim()}):\n{output}");
        }

        return new LoadResult(
            double.Parse(RequestsPerSecond().Match(output).Groups[1].Value, CultureInfo.InvariantCulture),
            Latency(output, "50"),
            Latency(output, "99"));
    }

    private string PostScript(int size)
    {
        var path = Path.Combine(scriptsDirectory, $"post-{size}.lua");
        if (!File.Exists(path))
        {
            File.WriteAllText(path, $"wrk.method = \"POST\"\nwrk.body = string.rep(\"x\", {size})\nwrk.headers[\"Content-Type\"] = \"text/plain\"\n");
        }

        return path;
    }

    private static double Latency(string output, string percent)
    {
        var match = Regex.Match(output, $@"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", RegexOptions.Multiline);
        if (!match.Success)
        {
            throw new InvalidOperationException($"no {percent}% latency in wrk's output:\n{output}");
        }

        var value = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        return match.Groups[2].Value switch { "us" => value / 1000, "ms" => value, _ => value * 1000 };
    }

    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
    private static partial Regex RequestsPerSecond();

    [GeneratedRegex(@"Non-2xx or 3xx responses:\s+(\d+)")]
    private static partial Regex NonSuccess();

    [GeneratedRegex(@"Socket errors:.*")]
    private static partial Regex SocketErrors();
}

using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using CtxRelay.Testing;

namespace CtxRelay.Harness;

/// <summary>The SDK's Fernet (src/Sdk/Fernet.cs) against Python's cryptography: encrypt+decrypt throughput of the same size.</summary>
internal static class FernetBench
{
    public static async Task RunAsync(Report report, HarnessOptions options)
    {
        foreach (var (label, size, rounds) in new[] { ("1 MB", 1024 * 1024, options.Quick ? 5 : 20), ("25 MB", 25 * 1024 * 1024, options.Quick ? 2 : 5) })
        {
            Log.Line($"fernet {label}");
            var sdk = size / Sdk(size, rounds);
            var python = size / await PythonAsync(size, rounds);
            report.Add(new Row(
                "—",
                $"Fernet encrypt+decrypt {label} (throughput of plaintext, median of {rounds})",
                "SDK " + Format.MBps(sdk),
                "Python cryptography " + Format.MBps(python),
                sdk / python,
                "≥ 1× Python",
                sdk >= python));
        }
    }

    private static double Sdk(int size, int rounds)
    {
        var key = Fernet.GenerateKey();
        var data = RandomNumberGenerator.GetBytes(size);
        var times = new List<double>();
        for (var i = 0; i <= rounds; i++)
        {
            var start = Stopwatch.GetTimestamp();
            var back = Fernet.Decrypt(key, Fernet.Encrypt(key, data));
            var elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
            if (!back.AsSpan().SequenceEqual(data))
            {
                throw new InvalidOperationException("the SDK's Fernet round trip changed the data");
            }

            if (i > 0)
            {
                times.Add(elapsed); // the first round is warm-up (JIT)
            }
        }

        return Stats.Median(times);
    }

    private static async Task<double> PythonAsync(int size, int rounds)
    {
        var script = Path.Combine(AppContext.BaseDirectory, "fernet_bench.py");
        var output = await Tool.RunAsync(
            Executables.Require("python3", "python3-cryptography"),
            [script, size.ToString(CultureInfo.InvariantCulture), rounds.ToString(CultureInfo.InvariantCulture)],
            TimeSpan.FromMinutes(5));
        using var json = JsonDocument.Parse(output);
        return json.RootElement.GetProperty("median_seconds").GetDouble();
    }
}

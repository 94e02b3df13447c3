using System.Text;
using CtxRelay.Testing;

namespace CtxRelay.Harness;

/// <summary>
/// 4. Relay RSS (/proc/PID/status): idle, with 10,000 idle WebSocket subscribers, and the peak rise while
/// 25 MB payloads are pushed (raw body, and the JSON envelope the Python SDK sends) and pulled. Each scenario
/// runs on fresh relay processes (the peak rises: one per round, median), so one scenario's heap does not hide
/// another's; the peak is VmHWM reset (clear_refs) just before the scenario, the rise is over the RSS just before it.
/// </summary>
internal static class MemoryBench
{
    private const int PayloadSize = 25 * 1024 * 1024;
    private const int IdleSubscribers = 10_000;

    public static async Task RunAsync(Rig rig, Report report, HarnessOptions options)
    {
        var repeats = options.Quick ? 2 : 3;
        var payload = Rig.Text(PayloadSize);

        Log.Line($"{rig.Engine}: memory, idle and {IdleSubscribers:N0} idle subscribers");
        await using (var relay = await FreshAsync(rig, "idle"))
        {
            var idle = ProcessMemory.Rss(relay.ProcessId);
            report.Add(new Row(rig.Engine, "relay RSS idle (after one small push/pull)", Format.MiB(idle), "—", null, "—", null));

            var limit = ProcessMemory.OpenFilesLimit();
            if (limit < IdleSubscribers + 1000)
            {
                report.Add(new Row(rig.Engine, $"relay RSS with {IdleSubscribers:N0} idle WebSocket subscribers", $"not measured: open-files limit {limit} (raise ulimit -n)", "—", null, "≤ 200 MB", null));
            }
            else
            {
                await using var subscribers = await Subscribers.RelayAsync(relay.BaseUrl, rig.ApiKey, "idle", IdleSubscribers, deliveries: null);
                await Task.Delay(TimeSpan.FromSeconds(3));
                var rss = ProcessMemory.Rss(relay.ProcessId);
                report.Add(new Row(
                    rig.Engine,
                    $"relay RSS with {subscribers.Count:N0} idle WebSocket subscribers (one channel)",
                    $"{Format.MiB(rss)} ({(rss - idle) / 1024.0 / subscribers.Count:0.0} KiB per subscriber)",
                    $"idle {Format.MiB(idle)}",
                    (double)rss / idle,
                    "≤ 200 MB",
                    rss <= 200_000_000));
            }
        }

        await PeakAsync(rig, report, options.Rounds, "raw", $"25 MB raw-body push ×{repeats}", "≤ 1.5× payload", async http =>
        {
            for (var i = 0; i < repeats; i++)
            {
                await Rig.PushAsync(http, payload);
            }
        });

        var envelope = Encoding.UTF8.GetBytes("{\"data\":\"" + Encoding.ASCII.GetString(payload) + "\"}");
        await PeakAsync(rig, report, options.Rounds, "json", $"25 MB JSON-envelope push {{\"data\": …}} ×{repeats}", "≤ 1.5× payload", async http =>
        {
            for (var i = 0; i < repeats; i++)
            {
                await Rig.PushAsync(http, envelope, "application/json");
            }
        });

        string? id = null;
        await PeakAsync(
            rig,
            report,
            options.Rounds,
            "pull",
            $"25 MB pull ×{repeats} (rise over the RSS after its push)",
            "— (none in the issue)",
            async http =>
            {
                for (var i = 0; i < repeats; i++)
                {
                    if (await Rig.PullAsync(http, "pull/" + id) != PayloadSize)
                    {
                        throw new InvalidOperationException("the pull lost bytes");
                    }
                }
            },
            async http => id = await Rig.PushAsync(http, payload));
    }

    /// <summary>
    /// Runs <paramref name="scenario"/> on fresh relays (one per round) and reports the median peak RSS rise as a
    /// multiple of the payload: the peak depends on when the GC runs, so one process is one sample.
    /// </summary>
    private static async Task PeakAsync(Rig rig, Report report, int rounds, string name, string measurement, string target, Func<HttpClient, Task> scenario, Func<HttpClient, Task>? before = null)
    {
        Log.Line($"{rig.Engine}: memory, {measurement}");
        List<double> rises = [], baselines = [], fileBacked = [];
        for (var round = 0; round < rounds; round++)
        {
            await using var relay = await FreshAsync(rig, name);
            using var http = rig.CreateHttpClient(relay);
            if (before is not null)
            {
                await before(http);
                await Task.Delay(TimeSpan.FromSeconds(2));
            }

            var baseline = ProcessMemory.Rss(relay.ProcessId);
            var fileBaseline = ProcessMemory.FileBacked(relay.ProcessId);
            ProcessMemory.ResetPeak(relay.ProcessId);
            await scenario(http);
            rises.Add(ProcessMemory.Peak(relay.ProcessId) - baseline);
            fileBacked.Add(ProcessMemory.FileBacked(relay.ProcessId) - fileBaseline);
            baselines.Add(baseline);
        }

        var rise = Stats.Median(rises);
        var multiple = rise / PayloadSize;
        report.Add(new Row(
            rig.Engine,
            $"relay peak RSS rise, {measurement}; median of {rises.Count} fresh relays",
            $"{Format.MiB(rise)} = {Format.Times(multiple)} payload (range {Format.Times(rises.Min() / PayloadSize)}–{Format.Times(rises.Max() / PayloadSize)}; mapped files: {Format.MiB(Math.Max(0, Stats.Median(fileBacked)))} of it)",
            $"RSS before: {Format.MiB(Stats.Median(baselines))}",
            multiple,
            target,
            target.StartsWith('≤') ? multiple <= 1.5 : null));
    }

    /// <summary>A fresh relay, warmed up with a small push, pull and subscription (JIT, pools), then left to settle.</summary>
    private static async Task<RelayProcess> FreshAsync(Rig rig, string name)
    {
        var relay = await rig.StartRelayAsync("memory-" + name + "-" + Guid.NewGuid().ToString("N")[..6]);
        using var http = rig.CreateHttpClient(relay);
        for (var i = 0; i < 3; i++)
        {
            var id = await Rig.PushAsync(http, Rig.Text(1024));
            await Rig.PullAsync(http, "pull/" + id);
        }

        await (await Subscribers.RelayAsync(relay.BaseUrl, rig.ApiKey, "warm-up", 1, deliveries: null)).DisposeAsync();
        await Task.Delay(TimeSpan.FromSeconds(2));
        return relay;
    }
}

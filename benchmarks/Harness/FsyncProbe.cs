using System.Diagnostics;

namespace CtxRelay.Harness;

/// <summary>
/// The disk's own limit for durable small writes: append 1 KB and fsync, in a loop, in the data folder
/// (what a commit of one small push costs at least). Bounded by count and time.
/// </summary>
internal static class FsyncProbe
{
    public sealed record Result(double PerSecond, double MedianMs);

    public static Result Run(string folder, TimeSpan duration, int maxCount = 20_000)
    {
        var path = Path.Combine(folder, "fsync-probe.bin");
        var block = new byte[1024];
        var times = new List<double>();
        var total = Stopwatch.StartNew();
        using (var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0))
        {
            while (times.Count < maxCount && total.Elapsed < duration)
            {
                var one = Stopwatch.GetTimestamp();
                file.Write(block);
                file.Flush(flushToDisk: true); // fsync(2)
                times.Add(Stopwatch.GetElapsedTime(one).TotalMilliseconds);
            }
        }

        File.Delete(path);
        return new Result(times.Count / total.Elapsed.TotalSeconds, Stats.Median(times));
    }
}

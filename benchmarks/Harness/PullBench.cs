namespace CtxRelay.Harness;

/// <summary>1. Pull of 1 MB and 25 MB from one client (wrk): the relay against nginx serving the same bytes from a file.</summary>
internal static class PullBench
{
    public static async Task RunAsync(Rig rig, Report report, HarnessOptions options)
    {
        await using var nginx = await Nginx.StartAsync(Path.Combine(rig.Folder, "nginx"));
        var wrk = new Wrk(rig.Folder);
        foreach (var (label, size) in new[] { ("1 MB", 1024 * 1024), ("25 MB", 25 * 1024 * 1024) })
        {
            Log.Line($"{rig.Engine}: pull {label}");
            var bytes = Rig.Text(size);
            var relayUrl = $"{rig.Relay.BaseUrl}/pull/{await Rig.PushAsync(rig.RelayHttp, bytes)}";
            var nginxUrl = nginx.Serve($"payload-{size}.txt", bytes);
            using (var plain = new HttpClient())
            {
                // Same bytes, no compression on either side (neither client sends Accept-Encoding).
                if (await Rig.PullAsync(rig.RelayHttp, relayUrl) != size || await Rig.PullAsync(plain, nginxUrl) != size)
                {
                    throw new InvalidOperationException("relay or nginx did not return the payload's size");
                }
            }

            await wrk.RunAsync(relayUrl, 1, TimeSpan.FromSeconds(1), rig.ApiKey); // warm-up
            await wrk.RunAsync(nginxUrl, 1, TimeSpan.FromSeconds(1));
            var relay = new List<LoadResult>();
            var reference = new List<LoadResult>();
            for (var round = 0; round < options.Rounds; round++)
            {
                relay.Add(await wrk.RunAsync(relayUrl, 1, options.LoadDuration, rig.ApiKey));
                reference.Add(await wrk.RunAsync(nginxUrl, 1, options.LoadDuration));
            }

            var r = LoadResult.Median(relay);
            var n = LoadResult.Median(reference);
            var ratio = r.RequestsPerSecond / n.RequestsPerSecond;
            report.Add(new Row(
                rig.Engine,
                $"pull {label}, 1 client (wrk, no compression): throughput (p50)",
                $"{Format.MBps(r.RequestsPerSecond * size)} (p50 {Format.Ms(r.P50Ms)})",
                $"nginx file {Format.MBps(n.RequestsPerSecond * size)} (p50 {Format.Ms(n.P50Ms)})",
                ratio,
                "≥ 0.8× nginx",
                ratio >= 0.8));
        }
    }
}

namespace CtxRelay.Harness;

/// <summary>3. Publish → delivery latency at 1, 100 and 1,000 subscribers on one channel: relay WebSockets against Redis pub/sub.</summary>
internal static class PubSubBench
{
    private const int WarmUp = 3;

    public static async Task RunAsync(Rig rig, Report report, HarnessOptions options)
    {
        var perRound = options.Quick ? 10 : 30;
        var rounds = Math.Max(options.Rounds, 3);
        foreach (var count in new[] { 1, 100, 1000 })
        {
            Log.Line($"{rig.Engine}: publish → delivery, {count} subscribers");
            var channel = $"bench-{count}-{Guid.NewGuid():N}";
            var total = WarmUp + (rounds * perRound);
            var relayDeliveries = new Deliveries(total, count);
            var redisDeliveries = new Deliveries(total, count);
            await using var relaySubscribers = await Subscribers.RelayAsync(rig.Relay.BaseUrl, rig.ApiKey, channel, count, relayDeliveries);
            await using var redisSubscribers = await Subscribers.RedisAsync(rig.Redis.Port, "ref-" + channel, count, redisDeliveries);
            var relayPublish = Publishers.Relay(rig.RelayHttp, channel);
            var (redisPublish, redisConnection) = await Publishers.RedisAsync(rig.Redis.Port, "ref-" + channel);
            using (redisConnection)
            {
                await relayDeliveries.PublishAsync(0, WarmUp, relayPublish);
                await redisDeliveries.PublishAsync(0, WarmUp, redisPublish);
                List<double> relayP50 = [], relayP99 = [], redisP50 = [], redisP99 = [];
                for (var round = 0; round < rounds; round++)
                {
                    var from = WarmUp + (round * perRound);
                    await relayDeliveries.PublishAsync(from, perRound, relayPublish);
                    await redisDeliveries.PublishAsync(from, perRound, redisPublish);
                    var relay = relayDeliveries.Latencies(from, perRound);
                    var redis = redisDeliveries.Latencies(from, perRound);
                    relayP50.Add(Stats.Percentile(relay, 50));
                    relayP99.Add(Stats.Percentile(relay, 99));
                    redisP50.Add(Stats.Percentile(redis, 50));
                    redisP99.Add(Stats.Percentile(redis, 99));
                }

                var ratio = Stats.Median(relayP50) / Stats.Median(redisP50);
                report.Add(new Row(
                    rig.Engine,
                    $"publish → delivery, {count} subscriber{(count == 1 ? string.Empty : "s")}: p50, p99 ({rounds}×{perRound} messages); ratio of p50",
                    $"p50 {Format.Ms(Stats.Median(relayP50))}, p99 {Format.Ms(Stats.Median(relayP99))}",
                    $"Redis PUBLISH→SUBSCRIBE p50 {Format.Ms(Stats.Median(redisP50))}, p99 {Format.Ms(Stats.Median(redisP99))}",
                    ratio,
                    count == 1000 ? "p50 ≤ 2× Redis" : "—",
                    count == 1000 ? ratio <= 2 : null));
            }
        }
    }
}

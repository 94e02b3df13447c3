using CtxRelay.Mcp.Internal;

namespace CtxRelay.Mcp.Tests;

public sealed class PayloadCacheTests
{
    private readonly ManualTime _time = new();

    [Fact]
    public void Keeps_a_payload_until_it_ages_out()
    {
        var cache = new PayloadCache(_time, capacityChars: 100, lifetime: TimeSpan.FromMinutes(5));
        cache.Add("u1", "text");

        _time.Advance(TimeSpan.FromMinutes(4));
        Assert.True(cache.TryGet("u1", out var text));
        Assert.Equal("text", text);

        _time.Advance(TimeSpan.FromMinutes(6));
        Assert.False(cache.TryGet("u1", out _));
        Assert.Equal(0, cache.TotalChars);
    }

    [Fact]
    public void Never_holds_more_than_its_capacity_and_drops_the_least_recently_used_first()
    {
        var cache = new PayloadCache(_time, capacityChars: 10, lifetime: TimeSpan.FromMinutes(5));
        cache.Add("a", "aaaa");
        cache.Add("b", "bbbb");
        Assert.True(cache.TryGet("a", out _)); // a is now the most recent
        cache.Add("c", "cccc");

        Assert.True(cache.TotalChars <= 10);
        Assert.True(cache.TryGet("a", out _));
        Assert.False(cache.TryGet("b", out _));
        Assert.True(cache.TryGet("c", out _));
    }

    [Fact]
    public void Does_not_keep_a_payload_larger_than_its_capacity()
    {
        var cache = new PayloadCache(_time, capacityChars: 10, lifetime: TimeSpan.FromMinutes(5));
        cache.Add("big", new string('x', 11));

        Assert.False(cache.TryGet("big", out _));
        Assert.Equal(0, cache.TotalChars);
    }

    [Fact]
    public void A_url_with_another_key_is_another_entry()
    {
        var cache = new PayloadCache(_time, capacityChars: 100, lifetime: TimeSpan.FromMinutes(5));
        cache.Add("http://r/pull/abc#key=right", "secret");

        Assert.False(cache.TryGet("http://r/pull/abc#key=wrong", out _));
    }

    private sealed class ManualTime : TimeProvider
    {
        private DateTimeOffset _now = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}

using System.Collections.Concurrent;
using System.Net;
using CtxRelay.Relay.Internal;
using Microsoft.Extensions.Options;

namespace CtxRelay.Relay.Auth;

/// <summary>
/// Slows down guessing API keys: a client address that presents <c>Relay:FailedAuthLimit</c> bad keys within a
/// minute gets 429 for any key until the minute is over. Failures are counted, not logged one by one; an
/// address that gets blocked is logged once.
/// </summary>
internal sealed class FailedAuthThrottle(IOptions<RelayOptions> options, TimeProvider clock, ILogger<FailedAuthThrottle> logger, RelayTelemetry telemetry)
{
    private const int MaxTrackedAddresses = 100_000;
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<IPAddress, Counter> _failures = new();

    /// <summary>How long <paramref name="address"/> must wait before presenting a key again, or null when it may.</summary>
    public TimeSpan? BlockedFor(IPAddress? address)
    {
        var limit = options.Value.FailedAuthLimit;
        if (address is null || limit <= 0 || !_failures.TryGetValue(address, out var counter))
        {
            return null;
        }

        var now = clock.GetUtcNow();
        lock (counter)
        {
            return counter.Count >= limit && now < counter.WindowEnd ? counter.WindowEnd - now : null;
        }
    }

    public void RecordFailure(IPAddress? address)
    {
        telemetry.AuthFailures.Add(1);
        var limit = options.Value.FailedAuthLimit;
        if (address is null || limit <= 0)
        {
            return;
        }

        var now = clock.GetUtcNow();
        if (_failures.Count >= MaxTrackedAddresses)
        {
            foreach (var (stale, old) in _failures)
            {
                if (old.WindowEnd <= now)
                {
                    _failures.TryRemove(stale, out _);
                }
            }
        }

        var counter = _failures.GetOrAdd(address, _ => new Counter());
        lock (counter)
        {
            if (counter.WindowEnd <= now)
            {
                counter.WindowEnd = now + Window;
                counter.Count = 0;
            }

            if (++counter.Count == limit)
            {
                Log.AddressThrottled(logger, address.ToString(), limit);
            }
        }
    }

    private sealed class Counter
    {
        public DateTimeOffset WindowEnd;
        public int Count;
    }
}

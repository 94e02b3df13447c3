namespace CtxRelay.Testing;

/// <summary>Waiting for something with a deadline instead of sleeping.</summary>
public static class Wait
{
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(20);

    /// <summary>Awaits <paramref name="task"/>, failing with <paramref name="what"/> if it takes longer than <paramref name="timeout"/>.</summary>
    public static async Task<T> For<T>(Task<T> task, string what, TimeSpan? timeout = null)
    {
        try
        {
            return await task.WaitAsync(timeout ?? Default);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Timed out after {(timeout ?? Default).TotalSeconds:0} s waiting for {what}.");
        }
    }

    /// <summary>
    /// Per-minute rates count calendar minutes (UTC). A test whose requests must all fall in one minute calls
    /// this first: when less than <paramref name="needed"/> is left of the current minute, it waits for the next.
    /// </summary>
    public static async Task ForRoomInThisMinute(TimeSpan needed)
    {
        var left = TimeSpan.FromMinutes(1) - TimeSpan.FromTicks(DateTimeOffset.UtcNow.Ticks % TimeSpan.TicksPerMinute);
        if (left < needed)
        {
            await Task.Delay(left + TimeSpan.FromMilliseconds(100));
        }
    }

    /// <summary>Polls a condition (for state that has no event) until it holds or the deadline passes.</summary>
    public static async Task Until(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Default);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting for {what}.");
            }

            await Task.Delay(50);
        }
    }
}

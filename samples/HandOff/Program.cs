using CtxRelay;

// Two agents hand a large payload over by URL. Agent B waits on a channel; agent A pushes to that channel,
// and the push event carries the URL. B peeks at the one-line summary, then pulls.
//
//   dotnet run --project src/Relay                       # terminal 1 (prints the dev key)
//   export CONTEXTRELAY_API_KEY=cr_live_…                # terminal 2
//   dotnet run --project samples/HandOff
//
// For secrets, push with encrypted: true and hand the resulting URL (it ends in #key=…) to the other agent
// over a path you trust — not through this relay's channels, which would carry the key to the relay.
using var relay = new ContextRelay(ContextRelayOptions.FromEnvironment());
using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
var channel = "reviews-" + Guid.NewGuid().ToString("N")[..6];

try
{
    // Agent B subscribes first: once this returns, nothing pushed later can be missed.
    await using var inbox = await relay.OpenSubscriptionAsync(channel, cancellationToken: cts.Token);

    // Agent A pushes ~2 MB of "context"; only the URL travels onward.
    var review = string.Join('\n', Enumerable.Range(1, 40_000).Select(i => $"line {i}: the auth module should validate tokens once"));
    var url = await relay.PushAsync(review, channel: channel, metadata: new { summary = "PR-441 review, 40k lines", pr = "PR-441" }, cancellationToken: cts.Token);
    Console.WriteLine($"agent A pushed {review.Length:N0} chars → {url}");

    // Agent B gets the push event, peeks at the summary, then decides to pull.
    var pushed = await inbox.WaitForAsync(e => e.Type == RelayEventType.Push, cts.Token);
    var info = await relay.PeekAsync(pushed.Url!, cts.Token);
    Console.WriteLine($"agent B sees #{pushed.Seq}: {info.Metadata["summary"]} — {info.Size:N0} bytes, expires {info.ExpiresAt:u}");
    var text = await relay.PullAsync(pushed.Url!, cancellationToken: cts.Token);
    Console.WriteLine($"agent B pulled {text.Length:N0} chars; identical: {text == review}");
    return text == review ? 0 : 1;
}
catch (RelayException ex)
{
    Console.Error.WriteLine($"handoff: {ex.Message}");
    return 1;
}

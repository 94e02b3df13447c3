using CtxRelay.Testing;

namespace CtxRelay.Samples.Tests;

/// <summary>samples/HandOff: a reviewer model pushes a review with metadata; a ticket writer peeks, pulls and files tickets.</summary>
public sealed class HandOffTests(RelayFixture relay) : IClassFixture<RelayFixture>
{
    private static readonly string Dll = SampleProcess.Locate("HandOff", "contextrelay-sample-handoff.dll");

    [Fact]
    public async Task TheExampleDiff_IsReviewed_AndEveryFindingOfThePulledReviewBecomesATicket()
    {
        var channel = NewChannel();
        using var recorder = new RequestRecorder(relay);

        await using var sample = await SampleProcess.RunAsync(relay, Dll, ["--channel", channel]);

        Assert.True(sample.ExitCode == 0, sample.Error);
        var pushes = await RelayState.PushesAsync(relay, channel);
        Assert.Equal(["review", "tickets"], pushes.Select(p => p.Meta("kind")));
        var (reviewPush, ticketsPush) = (pushes[0], pushes[1]);

        // The review's metadata matches the review itself: the example diff has a hard-coded secret (high),
        // a .Result and an empty catch (medium) and a TODO (low).
        using var client = relay.CreateClient();
        var review = await client.PullAsync((string)reviewPush["id"]!);
        var findings = review.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["1", "2", "1", "4"], new[] { "high", "medium", "low", "findings" }.Select(k => reviewPush.Meta(k)));
        Assert.Contains(findings, f => f.StartsWith("- [high] src/Auth/TokenService.cs:11:", StringComparison.Ordinal) && f.Contains("ClientSecret", StringComparison.Ordinal));

        // The ticket writer peeked at the review before pulling it, and its tickets are linked to it and derived from it.
        Assert.Equal((string)reviewPush["id"]!, ticketsPush.Meta("review"));
        var requests = recorder.Requests;
        var (peeked, pulled) = (requests.IndexOf($"GET /peek/{reviewPush["id"]}"), requests.IndexOf($"GET /pull/{reviewPush["id"]}"));
        Assert.True(peeked >= 0 && pulled > peeked, string.Join('\n', requests));
        var tickets = (await client.PullAsync((string)ticketsPush["id"]!)).Split('\n');
        Assert.Equal(findings.Length, tickets.Length);
        Assert.All(findings.Zip(tickets), pair =>
        {
            var finding = pair.First["- ".Length..]; // "[high] src/…:11: hard-coded credential: `…`"
            var severity = finding[..(finding.IndexOf(']', StringComparison.Ordinal) + 1)];
            Assert.StartsWith("TICKET-", pair.Second, StringComparison.Ordinal);
            Assert.Contains($"{severity} Fix {finding[(severity.Length + 1)..]}", pair.Second, StringComparison.Ordinal);
        });
        Assert.All(tickets, t => Assert.Contains(t, sample.Output, StringComparison.Ordinal));
        Assert.Contains("ticket writer peeked: Review of a ", sample.Output, StringComparison.Ordinal);
        Assert.Contains("reviewer: scripted stand-in", sample.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ADiffFile_IsWhatGetsReviewed()
    {
        using var directory = new TemporaryDirectory("handoff");
        var diff = Path.Combine(directory.Path, "change.diff");
        await File.WriteAllTextAsync(diff, """
            diff --git a/src/Payments/Charge.cs b/src/Payments/Charge.cs
            --- a/src/Payments/Charge.cs
            +++ b/src/Payments/Charge.cs
            @@ -40,3 +40,4 @@ public sealed class Charge
                 public void Run()
                 {
            +        var password = Environment.GetEnvironmentVariable("PAY_PASSWORD") ?? "hunter2";
                 }
            """);

        await using var sample = await SampleProcess.RunAsync(relay, Dll, ["--channel", NewChannel(), "--diff", diff]);

        Assert.True(sample.ExitCode == 0, sample.Error);
        var ticket = Assert.Single(sample.Output.Split('\n'), l => l.TrimStart().StartsWith("TICKET-", StringComparison.Ordinal));
        Assert.StartsWith("TICKET-1 [high] Fix src/Payments/Charge.cs:42: hard-coded credential", ticket.Trim(), StringComparison.Ordinal);
        Assert.Contains("hunter2", ticket, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AReviewWithNoFindings_IsNotPulled_ThePeekSaysThereIsNothingToFile()
    {
        using var directory = new TemporaryDirectory("handoff");
        var diff = Path.Combine(directory.Path, "clean.diff");
        await File.WriteAllTextAsync(diff, "--- a/README.md\n+++ b/README.md\n@@ -1,1 +1,2 @@\n # Title\n+A sentence that needs no review.\n");
        var channel = NewChannel();
        using var recorder = new RequestRecorder(relay);

        await using var sample = await SampleProcess.RunAsync(relay, Dll, ["--channel", channel, "--diff", diff]);

        Assert.True(sample.ExitCode == 0, sample.Error);
        Assert.Contains("ticket writer: nothing to file.", sample.Output, StringComparison.Ordinal);
        var review = Assert.Single(await RelayState.PushesAsync(relay, channel)); // no tickets pushed
        Assert.Equal("0", review.Meta("findings"));
        Assert.Contains((string)review["id"]!, recorder.PeekedIds);
        Assert.DoesNotContain((string)review["id"]!, recorder.PulledIds);
    }

    [Fact]
    public async Task AMissingDiffFile_IsAOneLineUsageError()
    {
        await using var sample = await SampleProcess.RunAsync(relay, Dll, ["--channel", NewChannel(), "--diff", "/nonexistent/change.diff"]);

        Assert.Equal(2, sample.ExitCode);
        Assert.Equal("handoff: no diff at '/nonexistent/change.diff'. Make one with: git diff > change.diff", sample.Error.Trim());
    }

    [Fact]
    public async Task AWrongApiKey_IsOneLineNamingTheVariable_NotAStackTrace()
    {
        await using var sample = await SampleProcess.RunAsync(relay, Dll, ["--channel", NewChannel()], new Dictionary<string, string> { ["CONTEXTRELAY_API_KEY"] = "cr_live_wrong" });

        Assert.Equal(1, sample.ExitCode);
        var line = Assert.Single(sample.Error.Trim().Split('\n'));
        Assert.StartsWith("handoff: ", line, StringComparison.Ordinal);
        Assert.Contains("CONTEXTRELAY_API_KEY", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AMalformedRelayUrl_IsOneLineNamingTheVariable()
    {
        await using var sample = await SampleProcess.RunAsync(relay, Dll, ["--channel", NewChannel()], new Dictionary<string, string> { ["CONTEXTRELAY_URL"] = "relay:8787" });

        Assert.Equal(1, sample.ExitCode);
        Assert.Equal("handoff: CONTEXTRELAY_URL must be an http:// or https:// address such as http://127.0.0.1:8787, not 'relay:8787'.", sample.Error.Trim());
    }

    private static string NewChannel() => "reviews-" + Guid.NewGuid().ToString("N")[..8];
}

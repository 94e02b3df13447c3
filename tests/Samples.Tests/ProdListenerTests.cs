using CtxRelay.Testing;

namespace CtxRelay.Samples.Tests;

/// <summary>samples/ProdListener: peek every incident's metadata, pull only the high-severity ones.</summary>
public sealed class ProdListenerTests(RelayFixture relay) : IClassFixture<RelayFixture>
{
    private static readonly string Dll = SampleProcess.Locate("ProdListener", "contextrelay-sample-prodlistener.dll");

    [Fact]
    public async Task OnlyHighSeverityReports_ArePulled_TheRestArePeekedAndSkipped()
    {
        var channel = "prod-issues-" + Guid.NewGuid().ToString("N")[..8];
        using var recorder = new RequestRecorder(relay);
        await using var listener = SampleProcess.Start(relay, Dll, ["--channel", channel, "--limit", "5"]);
        await listener.WaitForLineAsync(l => l.StartsWith("listening on", StringComparison.Ordinal), "the listener to subscribe");

        using var client = relay.CreateClient();
        var reports = new (string Severity, string Title)[]
        {
            ("low", "Disk 71% full on relay-3"),
            ("high", "Checkout returns 500 for EU users"),
            ("medium", "p99 latency up 20%"),
            ("HIGH", "Login loop after the 14:02 deploy"),
            ("", "A report without severity"),
        };
        var ids = new List<string>();
        foreach (var (severity, title) in reports)
        {
            object metadata = severity.Length > 0 ? new { severity, title } : new { title };
            var pushed = await client.PushWithResultAsync($"{title}\nstack trace and logs for '{title}' …", channel, metadata);
            ids.Add(pushed.Id);
        }

        Assert.True(await listener.WaitForExitAsync() == 0, listener.Error);

        // The relay saw a peek of every report and a pull of exactly the two high ones.
        Assert.Equal(new[] { ids[1], ids[3] }.Order(), recorder.PulledIds.Intersect(ids).Order());
        Assert.Equal(ids.Order(), recorder.PeekedIds.Intersect(ids).Order());

        var lines = listener.Output.Split('\n');
        Assert.Equal([$"pulled {ids[1]} [high]", $"pulled {ids[3]} [HIGH]"], lines.Where(l => l.StartsWith("pulled", StringComparison.Ordinal)).Select(l => l[..(l.IndexOf(']', StringComparison.Ordinal) + 1)]));
        Assert.Equal([ids[0], ids[2], ids[4]], lines.Where(l => l.StartsWith("skipped", StringComparison.Ordinal)).Select(l => l.Split(' ')[1]));
        Assert.Contains($"skipped {ids[4]} [unset] A report without severity", listener.Output, StringComparison.Ordinal);
        // The triage comes from the pulled report itself.
        Assert.Contains("  triage: likely cause: Checkout returns 500 for EU users;", listener.Output, StringComparison.Ordinal);
        Assert.Contains("  triage: likely cause: Login loop after the 14:02 deploy;", listener.Output, StringComparison.Ordinal);
    }
}

using System.Net.Http.Json;
using Microsoft.Playwright;

namespace CtxRelay.Console.Tests;

/// <summary>The console in a real headless Chromium against a real relay: sign in, live channels, payloads, usage.</summary>
public class ConsoleBrowserTests(ConsoleRelay relay) : IClassFixture<ConsoleRelay>
{
    [Fact]
    public async Task A_signed_in_page_shows_a_channels_events_live_as_they_are_pushed_and_published()
    {
        var key = await relay.CreateKeyAsync();
        var page = await SignedInPageAsync(key);
        var channel = "jobs-" + Guid.NewGuid().ToString("N")[..6];

        await OpenChannelAsync(page, channel);

        using var client = relay.CreateClient(key);
        var url = await client.PushAsync("{\"review\":\"ship it\"}", channel: channel, metadata: new { task_id = "42" });
        await client.PublishAsync(channel, "build is green");

        var rows = page.Locator("#timeline tbody tr");
        await Expect(rows).ToHaveCountAsync(2);
        await Expect(page.Locator("#timeline tr[data-seq='1']")).ToContainTextAsync(url);
        await Expect(page.Locator("#timeline tr[data-seq='1']")).ToContainTextAsync("{\"task_id\":\"42\"}");
        await Expect(page.Locator("#timeline tr[data-seq='2']")).ToContainTextAsync("build is green");

        // Clicking the push opens it: peek (size, metadata), then the JSON, pretty-printed.
        await page.ClickAsync("#timeline tr[data-seq='1']");
        await Expect(page.Locator("#payload-text")).ToHaveTextAsync("{\n  \"review\": \"ship it\"\n}");
        await Expect(page.Locator("#payload-info")).ToContainTextAsync("encrypted" + "no");

        await page.ClickAsync("#usage-refresh");
        await Expect(page.Locator("#usage")).ToContainTextAsync("pushes2 (no limit)"); // a publish counts as a push
        await Expect(page.Locator("#usage")).ToContainTextAsync("pulls1 (no limit)");

        // For the screenshot: a queue-group member on the channel and a bridge that announced itself.
        await using var member = await client.OpenSubscriptionAsync(channel, new SubscriptionOptions { Group = "reviewers" });
        await AnnounceAsync(client, "build-box/agents:0.1", "working", heartbeatSeconds: 30, task: "42");
        await Expect(page.Locator("#groups article[data-group='reviewers'] table.members tbody tr")).ToHaveCountAsync(1);
        await Expect(page.Locator("#bridges tr[data-bridge='build-box/agents:0.1'] td.status")).ToHaveTextAsync("working on task 42");
        await SaveScreenshotAsync(page);
        Assert.DoesNotContain(relay.Requests, r => r.Contains(key, StringComparison.Ordinal) && !r.StartsWith("Authorization: Bearer ", StringComparison.Ordinal) && !r.StartsWith("Sec-WebSocket-Protocol: ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_groups_view_shows_two_members_and_a_pending_claim_until_it_is_acked()
    {
        var key = await relay.CreateKeyAsync();
        var channel = "crew-" + Guid.NewGuid().ToString("N")[..6];
        using var client = relay.CreateClient(key);
        var options = new SubscriptionOptions { Group = "workers", AckTimeout = TimeSpan.FromMinutes(5) };
        await using var first = await client.OpenSubscriptionAsync(channel, options);
        await using var second = await client.OpenSubscriptionAsync(channel, options);

        var page = await SignedInPageAsync(key);
        await OpenChannelAsync(page, channel);
        var group = page.Locator("#groups article[data-group='workers']");
        await Expect(group.Locator("table.members tbody tr")).ToHaveCountAsync(2);
        await Expect(group.Locator("table.pending tbody tr")).ToHaveCountAsync(0);

        await client.PublishAsync(channel, "a task for one worker");
        using var stopWaiting = new CancellationTokenSource();
        var toFirst = first.WaitForAsync(_ => true, stopWaiting.Token);
        var toSecond = second.WaitForAsync(_ => true, stopWaiting.Token);
        var delivered = await Task.WhenAny(toFirst, toSecond).WaitAsync(TimeSpan.FromSeconds(15));
        var (holder, task) = (delivered == toFirst ? first : second, await delivered);
        await stopWaiting.CancelAsync();

        var pending = group.Locator("table.pending tbody tr[data-seq='1']");
        await Expect(pending).ToBeVisibleAsync();
        await Expect(pending.Locator("td").Nth(2)).ToHaveTextAsync("1"); // deliveries
        var holderId = await pending.Locator("td").Nth(1).TextContentAsync();
        Assert.Contains(holderId!, await group.Locator("table.members").TextContentAsync() ?? string.Empty, StringComparison.Ordinal);

        await holder.AckAsync(task);
        await Expect(group.Locator("table.pending tbody tr")).ToHaveCountAsync(0);
        await Expect(group.Locator("table.members tbody tr")).ToHaveCountAsync(2);
    }

    [Fact]
    public async Task The_timeline_shows_the_size_of_each_push()
    {
        var key = await relay.CreateKeyAsync();
        var page = await SignedInPageAsync(key);
        var channel = "sizes-" + Guid.NewGuid().ToString("N")[..6];
        await OpenChannelAsync(page, channel);

        using var client = relay.CreateClient(key);
        await client.PushAsync(new string('x', 2048), channel: channel);
        await client.PushAsync("tiny", channel: channel);
        await client.PublishAsync(channel, "a message has no size");

        await Expect(page.Locator("#timeline tr[data-seq='1'] td.size")).ToHaveTextAsync("2.0 KB");
        await Expect(page.Locator("#timeline tr[data-seq='2'] td.size")).ToHaveTextAsync("4 B");
        await Expect(page.Locator("#timeline tr[data-seq='3'] td.size")).ToHaveTextAsync(string.Empty);
    }

    [Fact]
    public async Task The_bridges_view_shows_each_bridge_s_last_announced_status_live_and_a_silent_one_as_stale()
    {
        var key = await relay.CreateKeyAsync();
        using var client = relay.CreateClient(key);

        // Announced before the page opened: the page replays the channel's retained announcements.
        await AnnounceAsync(client, "host-a/main:0.0", "started", heartbeatSeconds: 30);
        var page = await SignedInPageAsync(key);
        var a = page.Locator("#bridges tr[data-bridge='host-a/main:0.0']");
        await Expect(a.Locator("td.status")).ToHaveTextAsync("started");
        await Expect(a).ToContainTextAsync("(tmux main)"); // host-a/main:0.0
        await Expect(a).ToContainTextAsync("agent-tasks → agent-done");

        // Live: the same bridge takes a task, then finishes it.
        await AnnounceAsync(client, "host-a/main:0.0", "working", heartbeatSeconds: 30, task: "t-1");
        await Expect(a.Locator("td.status")).ToHaveTextAsync("working on task t-1");
        await AnnounceAsync(client, "host-a/main:0.0", "done", heartbeatSeconds: 30, lastTask: "t-1", lastResult: "done");
        await Expect(a.Locator("td.status")).ToHaveTextAsync("idle");
        await Expect(a).ToContainTextAsync("t-1: done");

        // A bridge whose heartbeats stop goes stale; one that said it stopped shows stopped.
        await AnnounceAsync(client, "host-b/exec-1", "started", heartbeatSeconds: 1);
        await AnnounceAsync(client, "host-c/exec-2", "stopped", heartbeatSeconds: 1);
        await Expect(page.Locator("#bridges tr[data-bridge='host-b/exec-1'] td.status")).ToHaveTextAsync("stale: no heartbeat");
        await Expect(page.Locator("#bridges tr[data-bridge='host-c/exec-2'] td.status")).ToHaveTextAsync("stopped");
        await Expect(page.Locator("#bridges tbody tr")).ToHaveCountAsync(3);
        await Expect(a.Locator("td.status")).ToHaveTextAsync("idle");
    }

    [Fact]
    public async Task Replay_from_a_seq_shows_the_retained_events_after_it()
    {
        var key = await relay.CreateKeyAsync();
        var channel = "replay-" + Guid.NewGuid().ToString("N")[..6];
        using var client = relay.CreateClient(key);
        foreach (var text in new[] { "one", "two", "three" })
        {
            await client.PublishAsync(channel, text);
        }

        var page = await SignedInPageAsync(key);
        await page.FillAsync("#channel-name", channel);
        await page.FillAsync("#channel-since", "1");
        await page.ClickAsync("#channel-form button[type=submit]");

        await Expect(page.Locator("#timeline tbody tr")).ToHaveCountAsync(2);
        await Expect(page.Locator("#timeline tr[data-seq='2']")).ToContainTextAsync("two");
        await Expect(page.Locator("#timeline tr[data-seq='3']")).ToContainTextAsync("three");
        await Expect(page.Locator("#timeline tr[data-seq='1']")).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task An_encrypted_payload_opened_by_its_full_url_is_decrypted_in_the_page_and_its_key_never_reaches_the_relay()
    {
        var key = await relay.CreateKeyAsync();
        using var client = relay.CreateClient(key);
        var url = await client.PushAsync("the launch codes are 0000", metadata: new { kind = "secret" }, encrypted: true);
        var fernetKey = url[(url.IndexOf("#key=", StringComparison.Ordinal) + "#key=".Length)..];
        Assert.NotEmpty(fernetKey);

        var page = await SignedInPageAsync(key);
        var before = relay.Requests.Count;
        await page.FillAsync("#payload-url", url);
        await page.ClickAsync("#payload-form button[type=submit]");

        await Expect(page.Locator("#payload-text")).ToHaveTextAsync("the launch codes are 0000");
        await Expect(page.Locator("#payload-info")).ToContainTextAsync("encrypted" + "yes");
        var seen = relay.Requests.Skip(before).ToList();
        Assert.Contains(seen, r => r.StartsWith("GET /peek/", StringComparison.Ordinal));
        Assert.Contains(seen, r => r.StartsWith("GET /pull/", StringComparison.Ordinal));
        Assert.DoesNotContain(relay.Requests, r => r.Contains(fernetKey, StringComparison.Ordinal));

        // Without the fragment the page says what is missing instead of showing ciphertext.
        await page.FillAsync("#payload-url", url[..url.IndexOf('#', StringComparison.Ordinal)]);
        await page.ClickAsync("#payload-form button[type=submit]");
        await Expect(page.Locator("#payload-note")).ToContainTextAsync("paste the full URL with its #key=");
        await Expect(page.Locator("#payload-text")).ToHaveTextAsync(string.Empty);
    }

    [Fact]
    public async Task A_large_payload_shows_its_first_256_KB_and_a_download_link()
    {
        var key = await relay.CreateKeyAsync();
        using var client = relay.CreateClient(key);
        var url = await client.PushAsync(new string('x', 300 * 1024));

        var page = await SignedInPageAsync(key);
        await page.FillAsync("#payload-url", url);
        await page.ClickAsync("#payload-form button[type=submit]");

        await Expect(page.Locator("#payload-note")).ToContainTextAsync("Showing the first 256 KB of 300.0 KB");
        await Expect(page.Locator("#payload-note a")).ToHaveAttributeAsync("download", new System.Text.RegularExpressions.Regex(@"\.txt$"));
        Assert.Equal(256 * 1024, (await page.Locator("#payload-text").TextContentAsync())!.Length);
    }

    [Fact]
    public async Task A_wrong_key_is_refused_with_one_line_and_the_key_is_kept_only_in_session_storage()
    {
        var page = await relay.Browser.NewPageAsync();
        await page.GotoAsync(relay.BaseUrl + "/console");
        await page.FillAsync("#api-key", "cr_live_not-a-real-key");
        await page.ClickAsync("#sign-in button[type=submit]");

        await Expect(page.Locator("#sign-in-error")).ToContainTextAsync("The relay does not know this key (401)");
        Assert.True(await page.Locator("#app").IsHiddenAsync());

        var key = await relay.CreateKeyAsync();
        await page.FillAsync("#api-key", key);
        await page.ClickAsync("#sign-in button[type=submit]");
        await Expect(page.Locator("#app")).ToBeVisibleAsync();
        Assert.Equal(key, await page.EvaluateAsync<string>("sessionStorage.getItem('contextrelay.console.key')"));
        Assert.Equal(0, await page.EvaluateAsync<int>("localStorage.length"));
        Assert.DoesNotContain(key, page.Url, StringComparison.Ordinal);

        // A reload keeps the session; signing out forgets the key.
        await page.ReloadAsync();
        await Expect(page.Locator("#app")).ToBeVisibleAsync();
        await page.ClickAsync("#sign-out");
        Assert.Null(await page.EvaluateAsync<string?>("sessionStorage.getItem('contextrelay.console.key')"));
    }

    [Fact]
    public async Task An_empty_key_is_refused_with_the_fix()
    {
        var page = await relay.Browser.NewPageAsync();
        await page.GotoAsync(relay.BaseUrl + "/console");
        await page.ClickAsync("#sign-in button[type=submit]");

        await Expect(page.Locator("#sign-in-error")).ToHaveTextAsync("This relay needs an API key (401): paste yours, or create one with contextrelay-relay keys create.");
        Assert.True(await page.Locator("#app").IsHiddenAsync());
    }

    [Fact]
    public async Task A_payload_that_is_gone_is_one_line_saying_so()
    {
        var key = await relay.CreateKeyAsync();
        using var client = relay.CreateClient(key);
        var url = await client.PushAsync("short-lived");
        await client.DeleteAsync(url);

        var page = await SignedInPageAsync(key);
        await page.FillAsync("#payload-url", url);
        await page.ClickAsync("#payload-form button[type=submit]");

        await Expect(page.Locator("#payload-error")).ToContainTextAsync("Not found: No payload with this id in your workspace.");
        Assert.DoesNotContain("\n", await page.Locator("#payload-error").TextContentAsync() ?? string.Empty, StringComparison.Ordinal);
        await Expect(page.Locator("#payload-text")).ToHaveTextAsync(string.Empty);
    }

    [Fact]
    public async Task A_page_opened_under_v1_calls_the_relay_under_v1()
    {
        var key = await relay.CreateKeyAsync();
        var before = relay.Requests.Count;
        var page = await SignedInPageAsync(key, "/v1/console");
        var channel = "v1-" + Guid.NewGuid().ToString("N")[..6];
        await OpenChannelAsync(page, channel);

        var seen = relay.Requests.Skip(before).ToList();
        Assert.Contains("GET /v1/usage", seen);
        Assert.Contains($"GET /v1/ws/{channel}", seen);
        Assert.Contains("Sec-WebSocket-Protocol: contextrelay.v1, contextrelay.bearer." + key, seen);
    }

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    /// <summary>Opens the channel's live timeline and waits until it is live.</summary>
    private static async Task OpenChannelAsync(IPage page, string channel)
    {
        await page.FillAsync("#channel-name", channel);
        await page.ClickAsync("#channel-form button[type=submit]");
        await Expect(page.Locator("#channel-status")).ToHaveTextAsync($"live: {channel}");
    }

    /// <summary>Publishes what a bridge announces (docs/protocol.md, "Bridge announcements").</summary>
    private static Task AnnounceAsync(CtxRelay.ContextRelay client, string bridge, string status, int heartbeatSeconds, string? task = null, string? lastTask = null, string? lastResult = null)
        => client.PublishAsync("contextrelay.bridges", $"bridge {bridge}: {status}", new Dictionary<string, object?>
        {
            ["kind"] = "contextrelay.bridge",
            ["bridge"] = bridge,
            ["host"] = bridge.Split('/')[0],
            ["tmux_session"] = bridge.Contains(':', StringComparison.Ordinal) ? bridge.Split('/')[1].Split(':')[0] : null,
            ["task_channel"] = "agent-tasks",
            ["done_channel"] = "agent-done",
            ["status"] = status,
            ["task"] = task,
            ["last_task"] = lastTask,
            ["last_result"] = lastResult,
            ["heartbeat_s"] = heartbeatSeconds,
            ["time"] = DateTimeOffset.UtcNow.ToString("O"),
        });

    private async Task<IPage> SignedInPageAsync(string key, string path = "/console")
    {
        var context = await relay.Browser.NewContextAsync(new() { ViewportSize = new() { Width = 1280, Height = 860 } });
        var page = await context.NewPageAsync();
        await page.GotoAsync(relay.BaseUrl + path);
        await page.FillAsync("#api-key", key);
        await page.ClickAsync("#sign-in button[type=submit]");
        await Expect(page.Locator("#app")).ToBeVisibleAsync();
        return page;
    }

    /// <summary>The README's screenshot: written to CONTEXTRELAY_CONSOLE_SCREENSHOT when set (docs/console.png).</summary>
    private static async Task SaveScreenshotAsync(IPage page)
    {
        var path = Environment.GetEnvironmentVariable("CONTEXTRELAY_CONSOLE_SCREENSHOT");
        var bytes = await page.ScreenshotAsync(new() { FullPage = true });
        Assert.True(bytes.Length > 1000);
        if (!string.IsNullOrEmpty(path))
        {
            await File.WriteAllBytesAsync(path, bytes);
        }
    }
}

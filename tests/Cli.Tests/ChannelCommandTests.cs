using System.Text.Json.Nodes;
using CtxRelay.Testing;

namespace CtxRelay.Cli.Tests;

/// <summary>publish, history and subscribe through the built tool against a real relay.</summary>
public sealed class ChannelCommandTests(RelayFixture relay) : IClassFixture<RelayFixture>
{
    private readonly CliTool _cli = CliTool.For(relay);

    private static string NewChannel() => "c-" + Guid.NewGuid().ToString("N")[..8];

    private static readonly string[] EventKeys = ["type", "channel", "seq", "ts", "id", "url", "data", "metadata", "group", "deliveries"];

    [Fact]
    public async Task Publish_prints_the_seq_and_reads_stdin_for_dash_and_history_lists_the_events()
    {
        var channel = NewChannel();
        var first = await _cli.RunAsync("publish", channel, "build is green");
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Equal("1\n", first.StandardOutput);

        var second = await _cli.RunWithInputAsync("line one\nline two\n", "publish", channel, "-", "--json", "--meta", "kind=log");
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse($$"""{"channel":"{{channel}}","seq":2}"""), second.Json()));

        using var sdk = relay.CreateClient();
        var pushed = await sdk.PushWithResultAsync("payload", channel, new { task_id = "7" });

        var history = await _cli.RunAsync("history", channel, "--json");
        Assert.True(history.ExitCode == 0, history.ToString());
        var json = history.Json();
        Assert.Equal(["channel", "events"], json.Select(p => p.Key));
        var events = json["events"]!.AsArray();
        Assert.Equal(3, events.Count);
        Assert.All(events, e => Assert.Equal(EventKeys, e!.AsObject().Select(p => p.Key)));
        Assert.Equal("build is green", events[0]!["data"]!.GetValue<string>());
        Assert.Equal("line one\nline two\n", events[1]!["data"]!.GetValue<string>());
        Assert.Equal("log", events[1]!["metadata"]!["kind"]!.GetValue<string>());
        Assert.Equal("push", events[2]!["type"]!.GetValue<string>());
        Assert.Equal(pushed.Url, events[2]!["url"]!.GetValue<string>());
        Assert.Equal(pushed.Id, events[2]!["id"]!.GetValue<string>());
        Assert.Null(events[2]!["data"]);
        Assert.Equal([1L, 2L, 3L], events.Select(e => e!["seq"]!.GetValue<long>()));

        var limited = await _cli.RunAsync("history", channel, "--limit", "1", "--json");
        Assert.Equal(1, Assert.Single(limited.Json()["events"]!.AsArray())!["seq"]!.GetValue<long>());

        var since = await _cli.RunAsync("history", channel, "--since", "2", "--json");
        Assert.Equal(3, Assert.Single(since.Json()["events"]!.AsArray())!["seq"]!.GetValue<long>());

        var text = await _cli.RunAsync("history", channel);
        var lines = text.StandardOutput.TrimEnd('\n').Split('\n');
        Assert.Equal(3, lines.Length);
        Assert.Contains("message  build is green", lines[0], StringComparison.Ordinal);
        Assert.Contains("push     " + pushed.Url, lines[2], StringComparison.Ordinal);
        Assert.Contains("\"task_id\":\"7\"", lines[2], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Subscribe_prints_one_json_line_per_event_as_it_arrives_and_ends_when_stdin_closes()
    {
        var channel = NewChannel();
        await using var subscriber = _cli.StartRunning("subscribe", channel);
        Assert.Contains($"subscribed to '{channel}'", await subscriber.NextErrorLineAsync("the subscribed note"), StringComparison.Ordinal);

        using var sdk = relay.CreateClient();
        await sdk.PublishAsync(channel, "first", new { n = 1 });
        var line = JsonNode.Parse(await subscriber.NextLineAsync("the first event"))!.AsObject();
        Assert.Equal(EventKeys, line.Select(p => p.Key));
        Assert.Equal("message", line["type"]!.GetValue<string>());
        Assert.Equal("first", line["data"]!.GetValue<string>());
        Assert.Equal(1, line["metadata"]!["n"]!.GetValue<int>());
        Assert.Equal(channel, line["channel"]!.GetValue<string>());
        Assert.InRange(DateTimeOffset.FromUnixTimeMilliseconds(line["ts"]!.GetValue<long>()), DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.Null(line["group"]);

        // The second event is printed before anything else happens: output is flushed per event.
        var pushed = await sdk.PushWithResultAsync("payload", channel);
        var second = JsonNode.Parse(await subscriber.NextLineAsync("the push event"))!.AsObject();
        Assert.Equal("push", second["type"]!.GetValue<string>());
        Assert.Equal(pushed.Url, second["url"]!.GetValue<string>());
        Assert.Equal(2, second["seq"]!.GetValue<long>());

        subscriber.CloseInput();
        Assert.Equal(0, await subscriber.ExitCodeAsync("subscribe to end when its standard input closes"));
    }

    [Theory]
    [InlineData("TERM")]
    [InlineData("INT")]
    public async Task Subscribe_ends_cleanly_with_exit_code_0_on_sigterm_and_ctrl_c(string signal)
    {
        await using var subscriber = _cli.StartRunning("subscribe", NewChannel());
        await subscriber.NextErrorLineAsync("the subscribed note");
        subscriber.Signal(signal);
        Assert.Equal(0, await subscriber.ExitCodeAsync($"subscribe to end on SIG{signal}"));
    }

    [Fact]
    public async Task Subscribe_since_replays_and_count_exits_after_that_many_events()
    {
        var channel = NewChannel();
        using var sdk = relay.CreateClient();
        foreach (var text in new[] { "a", "b", "c" })
        {
            await sdk.PublishAsync(channel, text);
        }

        // Standard input stays open here: its end would end the subscription.
        await using var subscriber = _cli.StartRunning("subscribe", channel, "--since", "1", "--count", "2");
        Assert.Equal(0, await subscriber.ExitCodeAsync("subscribe to exit after two events"));
        var lines = (await subscriber.RemainingLinesAsync()).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(["b", "c"], lines.Select(l => l["data"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Subscribe_keeps_running_when_its_standard_input_was_closed_from_the_start()
    {
        // As from a harness that hands every command an empty, already closed input (Python's communicate()).
        var channel = NewChannel();
        using var sdk = relay.CreateClient();
        await sdk.PublishAsync(channel, "before");
        await using var subscriber = _cli.StartRunning("subscribe", channel, "--since", "0", "--count", "2");
        subscriber.CloseInput();
        Assert.Equal("before", JsonNode.Parse(await subscriber.NextLineAsync("the replayed event"))!["data"]!.GetValue<string>());

        await sdk.PublishAsync(channel, "after");
        Assert.Equal("after", JsonNode.Parse(await subscriber.NextLineAsync("the live event"))!["data"]!.GetValue<string>());
        Assert.Equal(0, await subscriber.ExitCodeAsync("subscribe to exit after --count 2"));
    }

    [Fact]
    public async Task Subscribe_timeout_exits_7_when_nothing_came_and_0_with_the_event_that_did()
    {
        var channel = NewChannel();
        var nothing = await _cli.RunAsync("subscribe", channel, "--count", "1", "--timeout", "1s");
        Assert.True(nothing.ExitCode == 7, nothing.ToString());
        Assert.Empty(nothing.StandardOutputBytes);
        Assert.Equal($"contextrelay: no event on '{channel}' within 1s.", nothing.ErrorLines[^1]);

        await using var waiting = _cli.StartRunning("subscribe", channel, "-n", "1", "--timeout", "60");
        await waiting.NextErrorLineAsync("the subscribed note");
        using var sdk = relay.CreateClient();
        await sdk.PublishAsync(channel, "in time");
        Assert.Equal("in time", JsonNode.Parse(await waiting.NextLineAsync("the event"))!["data"]!.GetValue<string>());
        Assert.Equal(0, await waiting.ExitCodeAsync("subscribe to exit after its one event"));
    }

    [Fact]
    public async Task Subscribe_with_a_group_acks_each_event_after_printing_it()
    {
        var channel = NewChannel();
        var group = "g-" + Guid.NewGuid().ToString("N")[..6];
        using var sdk = relay.CreateClient();

        await using (var member = _cli.StartRunning("subscribe", channel, "--group", group, "--count", "1"))
        {
            await member.NextErrorLineAsync("the group member to join");
            await sdk.PublishAsync(channel, "task one");
            var line = JsonNode.Parse(await member.NextLineAsync("the group event"))!;
            Assert.Equal("task one", line["data"]!.GetValue<string>());
            Assert.Equal(group, line["group"]!.GetValue<string>());
            Assert.Equal(1, line["deliveries"]!.GetValue<int>());
            Assert.Equal(0, await member.ExitCodeAsync("the member to exit after --count 1"));
        }

        // An event held without an ack would be handed to the next member as soon as its holder left;
        // acknowledged, it is gone, so the next member's first event is the next task.
        await using var next = await sdk.OpenSubscriptionAsync(channel, new SubscriptionOptions { Group = group });
        await sdk.PublishAsync(channel, "task two");
        var first = await Wait.For(next.ReadAllAsync().FirstAsync().AsTask(), "the next member's first event");
        Assert.Equal("task two", first.Data);
    }
}

using CtxRelay.Testing;

namespace CtxRelay.Sdk.Tests;

/// <summary><see cref="ContextRelay.GetGroupsAsync"/> and <see cref="RelayEvent.Size"/> against a real relay.</summary>
public sealed class GroupsAndSizeTests(RelayFixture relay) : IClassFixture<RelayFixture>
{
    private static string NewChannel() => "g-" + Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task A_claim_whose_member_left_is_listed_without_a_deadline_until_another_member_takes_it()
    {
        using var client = relay.CreateClient();
        var channel = NewChannel();
        var options = new SubscriptionOptions { Group = "jobs", AckTimeout = TimeSpan.FromMinutes(10) };
        var leaver = await client.OpenSubscriptionAsync(channel, options);
        var seq = await client.PublishAsync(channel, "held, then dropped");
        Assert.Equal(seq, (await Wait.For(leaver.WaitForAsync(_ => true), "the task")).Seq);
        await leaver.DisposeAsync(); // without acking

        var group = await GroupWhenAsync(client, channel, g => g.Members.Count == 0 && g.Pending.Count == 1 && g.Pending[0].AckDeadline is null);
        Assert.Equal(("jobs", seq, 0L), (group.Name, group.Cursor, group.Backlog));
        Assert.Equal((seq, 1), (group.Pending[0].Seq, group.Pending[0].Deliveries));
        Assert.Matches("^[0-9a-f]{32}$", group.Pending[0].Member);

        await using var taker = await client.OpenSubscriptionAsync(channel, options);
        var again = await Wait.For(taker.WaitForAsync(_ => true), "the redelivery");
        Assert.Equal((seq, 2), (again.Seq, again.Deliveries));
        group = await GroupWhenAsync(client, channel, g => g.Pending.Count == 1 && g.Pending[0].AckDeadline is not null);
        Assert.Equal(2, group.Pending[0].Deliveries);
        Assert.Equal(group.Pending[0].Member, Assert.Single(group.Members).Id);
        await taker.AckAsync(again);
        await GroupWhenAsync(client, channel, g => g.Pending.Count == 0);
    }

    [Fact]
    public async Task Invalid_channel_names_are_refused_before_any_request()
    {
        using var client = relay.CreateClient();
        await Assert.ThrowsAnyAsync<ArgumentException>(() => client.GetGroupsAsync(string.Empty));
    }

    [Fact]
    public async Task Push_events_carry_the_payload_size_live_and_in_history()
    {
        using var client = relay.CreateClient();
        var channel = NewChannel();
        await using var subscription = await client.OpenSubscriptionAsync(channel);
        var pushed = await client.PushWithResultAsync(new string('é', 500), channel);
        await client.PublishAsync(channel, "a message");

        var live = await Wait.For(subscription.WaitForAsync(e => e.Type == RelayEventType.Push), "the push event");
        Assert.Equal(1000, pushed.Size);
        Assert.Equal(pushed.Size, live.Size);
        Assert.Equal([1000L, null], (await client.GetHistoryAsync(channel)).Select(e => e.Size));
    }

    private static async Task<QueueGroupInfo> GroupWhenAsync(ContextRelay client, string channel, Func<QueueGroupInfo, bool> condition)
    {
        QueueGroupInfo? found = null;
        await Wait.Until(async () => (found = (await client.GetGroupsAsync(channel)).SingleOrDefault()) is { } group && condition(group), "the group to look as expected");
        return found!;
    }
}

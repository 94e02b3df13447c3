using System.Collections.Concurrent;
using CtxRelay.Testing;

namespace CtxRelay.Relay.Tests;

/// <summary>Queue groups (<c>?group=</c>): each event to one live member, explicit acks, redelivery.</summary>
public abstract class QueueGroupTests(RelayFixture relay)
{
    protected RelayFixture Relay { get; } = relay;

    [Fact]
    public async Task Members_share_the_events_each_exactly_once_while_a_plain_subscriber_gets_all()
    {
        using var client = Relay.CreateClient();
        var channel = NewChannel();
        var group = new SubscriptionOptions { Group = "workers" };
        await using var a = await client.OpenSubscriptionAsync(channel, group);
        await using var b = await client.OpenSubscriptionAsync(channel, group);
        await using var plain = await client.OpenSubscriptionAsync(channel);

        const int count = 40;
        var got = new ConcurrentBag<(string Member, long Seq)>();
        using var done = new CancellationTokenSource(Wait.Default);

        // Each member holds its first event unacknowledged until the other has one: with prefetch 1 the
        // group must then hand the next event to the other member, so both provably take part.
        var firstOfA = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var firstOfB = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var workers = new[] { Work(a, "a", firstOfA, firstOfB.Task), Work(b, "b", firstOfB, firstOfA.Task) };
        for (var i = 0; i < count; i++)
        {
            await client.PublishAsync(channel, $"task {i}");
        }

        var all = new List<long>();
        await foreach (var e in plain.ReadAllAsync(done.Token))
        {
            all.Add(e.Seq);
            if (all.Count == count)
            {
                break;
            }
        }

        await Wait.Until(() => Task.FromResult(got.Count >= count), "the group to receive every task");
        await done.CancelAsync();
        await Task.WhenAll(workers);

        Assert.Equal(Enumerable.Range(1, count).Select(i => (long)i), all);
        Assert.Equal(Enumerable.Range(1, count).Select(i => (long)i), got.Select(g => g.Seq).Order());
        Assert.Contains(got, g => g.Member == "a");
        Assert.Contains(got, g => g.Member == "b");

        async Task Work(RelaySubscription member, string name, TaskCompletionSource mine, Task others)
        {
            try
            {
                await foreach (var e in member.ReadAllAsync(done.Token))
                {
                    Assert.Equal("workers", e.Group);
                    got.Add((name, e.Seq));
                    mine.TrySetResult();
                    await others.WaitAsync(done.Token);
                    await member.AckAsync(e);
                }
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    [Fact]
    public async Task An_event_not_acked_in_time_is_redelivered_to_another_member()
    {
        using var client = Relay.CreateClient();
        var channel = NewChannel();
        var options = new SubscriptionOptions { Group = "slow", AckTimeout = TimeSpan.FromSeconds(1) };
        await using var forgetful = await client.OpenSubscriptionAsync(channel, options);
        await client.PublishAsync(channel, "only task");
        var first = await Wait.For(forgetful.WaitForAsync(_ => true), "the first delivery");
        Assert.Equal(1, first.Deliveries);

        await using var reliable = await client.OpenSubscriptionAsync(channel, options);
        var again = await Wait.For(reliable.WaitForAsync(_ => true), "the redelivery");
        Assert.Equal(first.Seq, again.Seq);
        Assert.Equal(2, again.Deliveries);
        await reliable.AckAsync(again);
    }

    [Fact]
    public async Task Tasks_published_while_no_member_is_connected_wait_for_the_group()
    {
        using var client = Relay.CreateClient();
        var channel = NewChannel();
        var options = new SubscriptionOptions { Group = "bg" };
        await (await client.OpenSubscriptionAsync(channel, options)).DisposeAsync(); // the group exists from here on

        await client.PublishAsync(channel, "queued while away");
        await using var worker = await client.OpenSubscriptionAsync(channel, options);
        var e = await Wait.For(worker.WaitForAsync(_ => true), "the queued task");
        Assert.Equal("queued while away", e.Data);
        await worker.AckAsync(e);
    }

    [Fact]
    public async Task A_group_first_joined_with_since_serves_tasks_published_before_any_member_ever_joined()
    {
        using var client = Relay.CreateClient();
        var channel = NewChannel();
        await client.PublishAsync(channel, "fire and forget");

        await using (var plainGroup = await client.OpenSubscriptionAsync(channel, new SubscriptionOptions { Group = "at-end" }))
        {
            await client.PublishAsync(channel, "after the first join");
            var first = await Wait.For(plainGroup.WaitForAsync(_ => true), "the task published after the join");
            Assert.Equal("after the first join", first.Data); // without since, the group starts at the end
            await plainGroup.AckAsync(first);
        }

        await using var worker = await client.OpenSubscriptionAsync(channel, new SubscriptionOptions { Group = "from-start", Since = 0 });
        var seen = new List<string?>();
        for (var i = 0; i < 2; i++)
        {
            var e = await Wait.For(worker.WaitForAsync(_ => true), "the retained tasks");
            seen.Add(e.Data);
            await worker.AckAsync(e);
        }

        Assert.Equal(["fire and forget", "after the first join"], seen);
    }

    [Fact]
    public async Task Three_workers_and_a_thousand_tasks_with_one_worker_killed_midway_lose_nothing()
    {
        using var producer = Relay.CreateClient();
        var channel = NewChannel();
        var options = new SubscriptionOptions { Group = "pool", AckTimeout = TimeSpan.FromSeconds(2), Prefetch = 4 };
        const int tasks = 1000;
        var done = new ConcurrentDictionary<long, int>();
        var redelivered = new ConcurrentDictionary<long, bool>();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(120));

        var clients = Enumerable.Range(0, 3).Select(_ => Relay.CreateClient()).ToArray();
        var members = new List<RelaySubscription>();
        foreach (var c in clients)
        {
            members.Add(await c.OpenSubscriptionAsync(channel, options));
        }

        var victimHandled = 0;
        var victimKilled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var workers = members.Select((m, i) => Task.Run(async () =>
        {
            try
            {
                await foreach (var e in m.ReadAllAsync(stop.Token))
                {
                    if (i == 0 && Interlocked.Increment(ref victimHandled) == 100)
                    {
                        // Worker 0 dies mid-task: it never acks what it holds.
                        victimKilled.TrySetResult();
                        await m.DisposeAsync();
                        return;
                    }

                    if (e.Deliveries > 1)
                    {
                        redelivered[e.Seq] = true;
                    }

                    done.AddOrUpdate(e.Seq, 1, (_, n) => n + 1);
                    await m.AckAsync(e);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
            }
        })).ToArray();

        for (var i = 0; i < tasks; i++)
        {
            await producer.PublishAsync(channel, $"task {i}");
        }

        await Wait.For(victimKilled.Task.ContinueWith(_ => true, TaskScheduler.Default), "worker 0 to die", TimeSpan.FromSeconds(60));
        await Wait.Until(() => Task.FromResult(done.Count == tasks), $"all {tasks} tasks to be done", TimeSpan.FromSeconds(90));
        await stop.CancelAsync();
        await Task.WhenAll(workers);
        foreach (var m in members)
        {
            await m.DisposeAsync();
        }

        Assert.Equal(Enumerable.Range(1, tasks).Select(i => (long)i), done.Keys.Order());
        // Duplicates only where an ack was lost or late: every task run twice was a redelivery.
        Assert.All(done.Where(pair => pair.Value > 1), pair => Assert.True(redelivered.ContainsKey(pair.Key), $"task {pair.Key} ran twice without a redelivery"));
        Assert.NotEmpty(redelivered); // what worker 0 held went to the others
        foreach (var c in clients)
        {
            c.Dispose();
        }
    }

    [Fact]
    public async Task The_groups_endpoint_lists_connected_members_and_a_pending_claim_until_it_is_acked()
    {
        using var client = Relay.CreateClient();
        var channel = NewChannel();
        var options = new SubscriptionOptions { Group = "crew", AckTimeout = TimeSpan.FromMinutes(5) };
        var before = DateTimeOffset.UtcNow.AddSeconds(-5);
        await using var a = await client.OpenSubscriptionAsync(channel, options);
        var b = await client.OpenSubscriptionAsync(channel, options);
        var group = await GroupWhenAsync(client, channel, g => g.Members.Count == 2, "both members to be listed");
        Assert.Equal(("crew", 0L, 0L), (group.Name, group.Cursor, group.Backlog));
        Assert.All(group.Members, m => Assert.InRange(m.ConnectedAt, before, DateTimeOffset.UtcNow));
        Assert.All(group.Members, m => Assert.True(m.SeenUntil > DateTimeOffset.UtcNow));
        Assert.Empty(group.Pending);

        await client.PublishAsync(channel, "task");
        using var stopWaiting = new CancellationTokenSource();
        var toA = a.WaitForAsync(_ => true, stopWaiting.Token);
        var toB = b.WaitForAsync(_ => true, stopWaiting.Token);
        var first = await Wait.For(Task.WhenAny(toA, toB), "the task");
        var (holder, delivered) = (first == toA ? a : b, await first);
        await stopWaiting.CancelAsync();
        group = await GroupWhenAsync(client, channel, g => g.Pending.Count == 1, "the claim to be pending");
        var claim = group.Pending[0];
        Assert.Equal((delivered.Seq, 1), (claim.Seq, claim.Deliveries));
        Assert.Contains(claim.Member, group.Members.Select(m => m.Id));
        Assert.InRange(claim.AckDeadline!.Value, DateTimeOffset.UtcNow.AddMinutes(4), DateTimeOffset.UtcNow.AddMinutes(6));
        Assert.Equal((1L, 0L), (group.Cursor, group.Backlog));

        await holder.AckAsync(delivered);
        await GroupWhenAsync(client, channel, g => g.Pending.Count == 0, "the ack to clear the claim");

        await b.DisposeAsync();
        await GroupWhenAsync(client, channel, g => g.Members.Count == 1, "the member that left to go");
    }

    [Fact]
    public async Task The_groups_endpoint_answers_an_empty_list_for_a_channel_without_groups_and_400_for_a_bad_name()
    {
        using var client = Relay.CreateClient();
        Assert.Empty(await client.GetGroupsAsync(NewChannel()));
        using var http = Relay.CreateHttpClient();
        var problem = await Http.ReadProblemAsync(await http.GetAsync("channels/bad%20name/groups"), 400);
        Assert.Contains("channel name", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    private static async Task<QueueGroupInfo> GroupWhenAsync(ContextRelay client, string channel, Func<QueueGroupInfo, bool> condition, string what)
    {
        QueueGroupInfo? found = null;
        await Wait.Until(
            async () => (found = (await client.GetGroupsAsync(channel)).SingleOrDefault()) is { } group && condition(group),
            what);
        return found!;
    }

    private static string NewChannel() => "q-" + Guid.NewGuid().ToString("N")[..10];
}

public sealed class SqliteQueueGroupTests(SqliteRelayFixture relay) : QueueGroupTests(relay), IClassFixture<SqliteRelayFixture>;

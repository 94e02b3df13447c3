using CtxRelay.Relay;
using CtxRelay.Testing;

namespace CtxRelay.Sdk.Tests;

/// <summary>A subscription survives a relay restart: it reconnects and resumes after the last event it delivered.</summary>
public sealed class ReconnectTests : IAsyncLifetime
{
    private readonly TemporaryDirectory _data = new("reconnect");
    private readonly int _port = RelayProcess.FreePort();
    private RelayServer? _relay;

    public async Task InitializeAsync() => _relay = await StartRelayAsync();

    [Fact]
    public async Task After_a_restart_the_subscriber_gets_every_event_once_in_order()
    {
        var key = await _relay!.CreateKeyAsync("reconnect");
        using var client = new ContextRelay(ContextRelayOptions.Default with
        {
            BaseUrl = _relay.BaseUrl,
            ApiKey = key,
            ReconnectDelay = TimeSpan.FromMilliseconds(200),
        });
        await using var subscription = await client.OpenSubscriptionAsync("restarts");
        var reconnected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        subscription.Reconnected += _ => reconnected.TrySetResult();
        var events = subscription.ReadAllAsync().GetAsyncEnumerator();

        await client.PublishAsync("restarts", "before");
        Assert.True(await events.MoveNextAsync().AsTask().WaitAsync(Wait.Default));
        Assert.Equal("before", events.Current.Data);

        await _relay.DisposeAsync();
        _relay = await StartRelayAsync();
        await client.PublishAsync("restarts", "while reconnecting"); // may land before the socket is back: replayed via since=
        await Wait.For(reconnected.Task.ContinueWith(_ => true, TaskScheduler.Default), "the subscription to reconnect");
        await client.PublishAsync("restarts", "after");

        var seen = new List<(string?, long)>();
        while (seen.Count < 2)
        {
            Assert.True(await events.MoveNextAsync().AsTask().WaitAsync(Wait.Default));
            seen.Add((events.Current.Data, events.Current.Seq));
        }

        Assert.Equal([("while reconnecting", 2L), ("after", 3L)], seen);
        Assert.True(subscription.Connections >= 2);
        await events.DisposeAsync();
    }

    public async Task DisposeAsync()
    {
        if (_relay is not null)
        {
            await _relay.DisposeAsync();
        }

        _data.Dispose();
    }

    private Task<RelayServer> StartRelayAsync() => RelayServer.StartAsync(new Dictionary<string, string?>
    {
        ["urls"] = $"http://127.0.0.1:{_port}",
        ["Relay:DataDirectory"] = _data.Path,
        ["Relay:KeyCacheDuration"] = "00:00:00",
        ["Logging:LogLevel:Default"] = "Warning",
    });
}

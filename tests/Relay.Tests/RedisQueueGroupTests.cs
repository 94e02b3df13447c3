namespace CtxRelay.Relay.Tests;

/// <summary>The queue-group protocol suite on the Redis engine (a relay with its own real redis-server).</summary>
public sealed class RedisQueueGroupTests(RedisRelayFixture relay) : QueueGroupTests(relay), IClassFixture<RedisRelayFixture>;

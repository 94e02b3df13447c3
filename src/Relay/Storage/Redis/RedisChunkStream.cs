using StackExchange.Redis;

namespace CtxRelay.Relay.Storage.Redis;

/// <summary>
/// A payload's bytes read chunk by chunk: one GET per chunk (pooled leases, never the whole payload in
/// one reply), with the next chunk requested while the current one is being copied out. A chunk that
/// vanished mid-read (the payload was deleted) ends the read with an <see cref="IOException"/>.
/// </summary>
/// <remarks>The first chunk can come already requested (<paramref name="firstChunk"/>, sent with the record).</remarks>
internal sealed class RedisChunkStream(IDatabase database, RedisKeys keys, string workspace, string id, int chunks, long length, Task<Lease<byte>?>? firstChunk = null) : PayloadReadStream(length)
{
    private int _requested = firstChunk is null ? 0 : 1;
    private Task<Lease<byte>?>? _next = firstChunk;
    private Lease<byte>? _current;
    private int _offset;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        while (_current is null || _offset == _current.Length)
        {
            _current?.Dispose();
            _current = null;
            if (!HasMoreChunks)
            {
                return 0;
            }

            _current = await NextChunkAsync(cancellationToken).ConfigureAwait(false);
            _offset = 0;
        }

        var count = Math.Min(buffer.Length, _current.Length - _offset);
        _current.Memory.Slice(_offset, count).CopyTo(buffer);
        _offset += count;
        BytesRead += count;
        return count;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>Writes each chunk straight from its lease, without copying it through a buffer.</summary>
    public override async Task CopyToAsync(Stream destination, int bufferSize, CancellationToken cancellationToken)
    {
        if (_current is not null && _offset < _current.Length)
        {
            await destination.WriteAsync(_current.Memory[_offset..], cancellationToken).ConfigureAwait(false);
            BytesRead += _current.Length - _offset;
        }

        _current?.Dispose();
        _current = null;
        while (HasMoreChunks)
        {
            using var chunk = await NextChunkAsync(cancellationToken).ConfigureAwait(false);
            await destination.WriteAsync(chunk.Memory, cancellationToken).ConfigureAwait(false);
            BytesRead += chunk.Length;
        }
    }

    /// <summary>Synchronous reads would block a thread on the network: use ReadAsync / CopyToAsync.</summary>
    public override int Read(byte[] buffer, int offset, int count)
        => throw new NotSupportedException("Payload streams from Redis are read asynchronously: use ReadAsync or CopyToAsync.");

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _current?.Dispose();
            _current = null;
            if (_next is { IsCompletedSuccessfully: true } next)
            {
                next.Result?.Dispose();
            }

            _next = null;
        }

        base.Dispose(disposing);
    }

    private bool HasMoreChunks => _next is not null || _requested < chunks;

    private async Task<Lease<byte>> NextChunkAsync(CancellationToken cancellationToken)
    {
        var pending = _next ?? Fetch();
        _next = _requested < chunks ? Fetch() : null;
        Lease<byte>? lease;
        try
        {
            lease = await pending.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisRelayStore.IsUnavailable(ex))
        {
            throw RedisRelayStore.Unavailable(ex);
        }

        return lease ?? throw new IOException($"Payload {id} was deleted or expired while it was being read.");
    }

    private Task<Lease<byte>?> Fetch() => database.StringGetLeaseAsync(keys.Chunk(workspace, id, _requested++));
}

using System.Buffers;
using System.Security.Cryptography;

namespace CtxRelay.Relay.Internal;

/// <summary>Raised while streaming an upload as soon as it passes the limit, before it is stored.</summary>
internal sealed class PayloadTooLargeException(long limit) : Exception($"Payload exceeds {limit} bytes.")
{
    public long Limit { get; } = limit;
}

/// <summary>
/// An upload held until it can be written in one short storage transaction: the first MiB in memory,
/// the rest in a temporary file that deletes itself. Counts and hashes the bytes as they arrive and
/// stops at the limit, so an oversize body is refused while it streams.
/// </summary>
internal sealed class PayloadSpool : IAsyncDisposable
{
    private const int MemoryThreshold = 1024 * 1024;
    private readonly MemoryStream _memory = new();
    private FileStream? _file;

    private PayloadSpool()
    {
    }

    public long Length { get; private set; }

    /// <summary>Base64url SHA-256 of the content (the payload's ETag).</summary>
    public string Hash { get; private set; } = string.Empty;

    public static async Task<PayloadSpool> ReadAsync(Stream source, long limit, string tempDirectory, CancellationToken cancellationToken)
    {
        var writer = new Writer(limit, tempDirectory);
        var buffer = ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            int read;
            while ((read = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                await writer.AppendAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            }

            return writer.Complete();
        }
        catch
        {
            await writer.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Builds a spool from bytes appended as they are produced (the unescaped data of a streamed JSON
    /// envelope); counts and hashes them and stops at the limit. Dispose it unless <see cref="Complete"/> was called.
    /// </summary>
    internal sealed class Writer(long limit, string tempDirectory) : IAsyncDisposable
    {
        private readonly PayloadSpool _spool = new();
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        public long Length => _spool.Length;

        public ValueTask AppendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
        {
            if (_spool.Length + data.Length > limit)
            {
                throw new PayloadTooLargeException(limit);
            }

            _hash.AppendData(data.Span);
            return _spool.WriteAsync(data, tempDirectory, cancellationToken);
        }

        public PayloadSpool Complete()
        {
            _spool.Hash = Convert.ToBase64String(_hash.GetHashAndReset()).TrimEnd('=').Replace('+', '-').Replace('/', '_');
            _hash.Dispose();
            return _spool;
        }

        public async ValueTask DisposeAsync()
        {
            _hash.Dispose();
            await _spool.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The spooled bytes from the start.</summary>
    public Stream OpenRead()
    {
        Stream stream = _file is null ? _memory : _file;
        stream.Position = 0;
        return new NonClosingStream(stream);
    }

    public async ValueTask DisposeAsync()
    {
        await _memory.DisposeAsync().ConfigureAwait(false);
        if (_file is not null)
        {
            await _file.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async ValueTask WriteAsync(ReadOnlyMemory<byte> data, string tempDirectory, CancellationToken cancellationToken)
    {
        if (_file is null && _memory.Length + data.Length > MemoryThreshold)
        {
            _file = CreateTempFile(tempDirectory);
            _memory.Position = 0;
            await _memory.CopyToAsync(_file, cancellationToken).ConfigureAwait(false);
            _memory.SetLength(0);
            _memory.Capacity = 0;
        }

        if (_file is not null)
        {
            await _file.WriteAsync(data, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            _memory.Write(data.Span);
        }

        Length += data.Length;
    }

    private static FileStream CreateTempFile(string tempDirectory)
    {
        Directory.CreateDirectory(tempDirectory);
        return new FileStream(
            Path.Combine(tempDirectory, Guid.NewGuid().ToString("N") + ".upload"),
            FileMode.CreateNew,
            FileAccess.ReadWrite,
            FileShare.None,
            bufferSize: 81920,
            FileOptions.Asynchronous | FileOptions.DeleteOnClose);
    }

    private sealed class NonClosingStream(Stream inner) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override int Read(Span<byte> buffer) => inner.Read(buffer);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.ReadAsync(buffer, offset, count, cancellationToken);
        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

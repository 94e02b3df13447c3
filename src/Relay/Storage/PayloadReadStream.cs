namespace CtxRelay.Relay.Storage;

/// <summary>
/// Base of the engines' payload streams: forward-only, read-only, with a known length and a position
/// that counts what was read. Subclasses implement the reads.
/// </summary>
internal abstract class PayloadReadStream(long length) : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => length;

    public override long Position { get => BytesRead; set => throw new NotSupportedException(); }

    /// <summary>Bytes handed out so far.</summary>
    protected long BytesRead { get; set; }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

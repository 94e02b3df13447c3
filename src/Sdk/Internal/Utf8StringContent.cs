using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace CtxRelay.Internal;

/// <summary>
/// Sends a string as UTF-8 without materialising a second full-size byte array: the text is encoded
/// chunk by chunk straight onto the request stream, reporting progress in bytes.
/// </summary>
internal sealed class Utf8StringContent : HttpContent
{
    private const int CharsPerChunk = 32 * 1024;
    private readonly string _text;
    private readonly long _length;
    private readonly IProgress<long>? _progress;

    public Utf8StringContent(string text, string mediaType, IProgress<long>? progress)
    {
        _text = text;
        _length = Encoding.UTF8.GetByteCount(text);
        _progress = progress;
        Headers.ContentType = new MediaTypeHeaderValue(mediaType) { CharSet = "utf-8" };
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        => SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        var encoder = Encoding.UTF8.GetEncoder();
        var buffer = new byte[Encoding.UTF8.GetMaxByteCount(CharsPerChunk)];
        long sent = 0;
        for (var offset = 0; offset < _text.Length; offset += CharsPerChunk)
        {
            var count = Math.Min(CharsPerChunk, _text.Length - offset);
            var flush = offset + count >= _text.Length;
            var bytes = encoder.GetBytes(_text.AsSpan(offset, count), buffer, flush);
            await stream.WriteAsync(buffer.AsMemory(0, bytes), cancellationToken).ConfigureAwait(false);
            sent += bytes;
            _progress?.Report(sent);
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = _length;
        return true;
    }
}

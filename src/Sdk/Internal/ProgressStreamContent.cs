using System.Net;
using System.Net.Http.Headers;

namespace CtxRelay.Internal;

/// <summary>
/// Sends a caller's stream as the request body, reporting the bytes sent. The length is declared when
/// the stream can tell it (a file); otherwise the body goes chunked (standard input).
/// </summary>
internal sealed class ProgressStreamContent : HttpContent
{
    private readonly Stream _source;
    private readonly IProgress<long>? _progress;

    public ProgressStreamContent(Stream source, string contentType, IProgress<long>? progress)
    {
        _source = source;
        _progress = progress;
        Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        => SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        => ContextRelay.CopyWithProgressAsync(_source, stream, _progress, cancellationToken);

    protected override bool TryComputeLength(out long length)
    {
        if (_source.CanSeek)
        {
            length = _source.Length - _source.Position;
            return true;
        }

        length = 0;
        return false;
    }
}

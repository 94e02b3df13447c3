using System.Diagnostics;
using System.Globalization;

namespace CtxRelay.Cli.Internal;

/// <summary>
/// A one-line progress bar on stderr for big transfers, redrawn at most ten times a second. Only when
/// stderr is a terminal: piped or redirected, nothing is drawn, so scripts and logs stay clean.
/// </summary>
internal sealed class ProgressBar : IProgress<long>, IDisposable
{
    /// <summary>Transfers smaller than this finish too fast to need a bar.</summary>
    public const long Threshold = 4 * 1024 * 1024;

    private const int Width = 30;
    private readonly TextWriter _error;
    private readonly string _verb;
    private readonly long _total;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Lock _gate = new();
    private long _lastDraw = -1000;
    private bool _drawn;

    private ProgressBar(TextWriter error, string verb, long total)
    {
        _error = error;
        _verb = verb;
        _total = total;
    }

    /// <summary>A bar for a transfer of <paramref name="total"/> bytes, or null when none should be drawn.</summary>
    public static ProgressBar? For(string verb, long? total, TextWriter error)
        => total is { } size && size >= Threshold && !Console.IsErrorRedirected ? new ProgressBar(error, verb, size) : null;

    /// <summary>What an encrypted push sends for <paramref name="plain"/> bytes: the base64url of version, time, IV, padded ciphertext and HMAC.</summary>
    public static long FernetTokenLength(long plain) => 4 * ((1 + 8 + 16 + (((plain / 16) + 1) * 16) + 32 + 2) / 3);

    public void Report(long value)
    {
        lock (_gate)
        {
            var now = _clock.ElapsedMilliseconds;
            if (now - _lastDraw < 100 && value < _total)
            {
                return;
            }

            _lastDraw = now;
            var fraction = Math.Clamp((double)value / _total, 0, 1);
            var filled = (int)(fraction * Width);
            var rate = value / Math.Max(0.001, _clock.Elapsed.TotalSeconds);
            _error.Write(string.Create(CultureInfo.InvariantCulture,
                $"\r{_verb} [{new string('#', filled)}{new string('.', Width - filled)}] {fraction * 100,3:0}% {Megabytes(value)}/{Megabytes(_total)} MB  {Megabytes((long)rate)} MB/s "));
            _error.Flush();
            _drawn = true;
        }
    }

    /// <summary>Clears the line so the next output starts clean.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_drawn)
            {
                _error.Write("\r" + new string(' ', Width + 60) + "\r");
                _error.Flush();
                _drawn = false;
            }
        }
    }

    private static string Megabytes(long bytes) => (bytes / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture);
}

using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace CtxRelay.Cli.Internal;

/// <summary>Standard input as a payload source, and as the signal that ends a subscription.</summary>
internal static class StandardInput
{
    /// <summary>
    /// Standard input as a byte stream. On Unix it is opened as a file stream on descriptor 0, so input
    /// redirected from a file (<c>push - &lt; big.bin</c>) has a length: the upload declares it and
    /// a progress bar can show it; a pipe streams through with no length.
    /// </summary>
    public static Stream Open()
        => OperatingSystem.IsWindows()
            ? Console.OpenStandardInput()
            : new FileStream(new SafeFileHandle(0, ownsHandle: false), FileAccess.Read, bufferSize: 0);

    public static long? LengthOf(Stream stream)
    {
        try
        {
            return stream.CanSeek ? stream.Length - stream.Position : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>
    /// Completes when a parent that holds our standard input as a pipe or socket closes it (an agent's
    /// shell that is done with <c>subscribe</c>). Never completes for a terminal, <c>/dev/null</c>, a
    /// file, a pipe that was already closed when this was called (a harness that gives every command an
    /// empty, closed input means nothing by it), or where that cannot be told (not Linux): there Ctrl+C,
    /// SIGTERM or <c>--count</c> ends the subscription. Call it first thing, before connecting.
    /// </summary>
    public static Task WhenClosedAsync(CancellationToken cancellationToken)
    {
        if (!Console.IsInputRedirected || !IsPipeOrSocket() || IsClosedAlready())
        {
            return Task.Delay(Timeout.Infinite, cancellationToken);
        }

        return Task.Run(
            async () =>
            {
                await using var stdin = Console.OpenStandardInput();
                var buffer = new byte[4096];
                while (await stdin.ReadAsync(buffer, cancellationToken).ConfigureAwait(false) > 0)
                {
                    // what is written to us is ignored; only the end matters
                }
            },
            cancellationToken);
    }

    /// <summary>Whether descriptor 0 is a pipe whose writer is gone with nothing left to read (poll(2): hang-up without input).</summary>
    private static bool IsClosedAlready()
    {
        const short PollIn = 0x1;
        const short PollHangUp = 0x10;
        var descriptors = new[] { new PollDescriptor { Descriptor = 0, Events = PollIn } };
        return Poll(descriptors, 1, 0) == 1 && (descriptors[0].ReturnedEvents & (PollIn | PollHangUp)) == PollHangUp;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollDescriptor
    {
        public int Descriptor;
        public short Events;
        public short ReturnedEvents;
    }

    [DllImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static extern int Poll([In, Out] PollDescriptor[] descriptors, nuint count, int timeoutMilliseconds);

    private static bool IsPipeOrSocket()
    {
        try
        {
            var target = new FileInfo("/proc/self/fd/0").LinkTarget;
            return target is not null && (target.StartsWith("pipe:", StringComparison.Ordinal) || target.StartsWith("socket:", StringComparison.Ordinal));
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }
}

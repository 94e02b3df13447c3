using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging;

namespace CtxRelay.Bridge.Internal;

/// <summary>
/// Runs a command per task (<c>start --exec</c>), as the hosted Python package's bridge does: through
/// <c>/bin/sh -c</c>, the task on standard input; standard output and error, interleaved as written, are
/// the answer; exit code 0 is <c>done</c>, anything else <c>error</c>. At the timeout (or when the bridge
/// stops) the command is killed with every process it started.
/// </summary>
internal sealed class ExecAgent(string command, ILogger logger) : IAgent
{
    /// <summary>How long to keep reading after the command exited, for output of processes it left running.</summary>
    private static readonly TimeSpan DrainGrace = TimeSpan.FromSeconds(2);

    public string Display => "exec: " + command;

    public async Task<TurnResult> RunTurnAsync(string task, TimeSpan timeout, Action<string> activity, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var start = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardInputEncoding = new UTF8Encoding(false),
            StandardOutputEncoding = Encoding.UTF8,
        };
        start.ArgumentList.Add("-c");

        // Standard error joins standard output in the order written (the command line itself is parsed after the redirection).
        start.ArgumentList.Add("exec 2>&1\n" + command);

        using var process = new Process { StartInfo = start };
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            return new TurnResult(TurnStatus.Error, string.Empty, clock.Elapsed, "the command could not be started: " + ex.Message);
        }

        activity("working");
        Log.CommandStarted(logger, process.Id, task.Length);
        var output = new StringBuilder();
        var reading = ReadAllAsync(process.StandardOutput, output);
        var writing = WriteTaskAsync(process.StandardInput, task);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        TurnStatus status;
        string reason;
        try
        {
            await process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
            status = process.ExitCode == 0 ? TurnStatus.Done : TurnStatus.Error;
            reason = process.ExitCode == 0 ? "the command exited with code 0" : $"the command exited with code {process.ExitCode}";
        }
        catch (OperationCanceledException)
        {
            Kill(process);
            if (cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            status = TurnStatus.Timeout;
            reason = $"the command did not finish within {timeout}; it was killed with its child processes";
        }

        activity("capturing");
        await Task.WhenAny(Task.WhenAll(reading, writing), Task.Delay(DrainGrace, CancellationToken.None)).ConfigureAwait(false);
        string text;
        lock (output)
        {
            text = output.ToString();
        }

        return new TurnResult(status, text.TrimEnd(), clock.Elapsed, reason);
    }

    private static async Task ReadAllAsync(StreamReader reader, StringBuilder output)
    {
        var buffer = new char[8192];
        try
        {
            int read;
            while ((read = await reader.ReadAsync(buffer).ConfigureAwait(false)) > 0)
            {
                lock (output)
                {
                    output.Append(buffer, 0, read);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // the process is gone
        }
    }

    private static async Task WriteTaskAsync(StreamWriter input, string task)
    {
        try
        {
            await input.WriteAsync(task).ConfigureAwait(false);
            await input.FlushAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // the command does not read its input (or already exited): fine
        }
        finally
        {
            try
            {
                input.Close();
            }
            catch (IOException)
            {
            }
        }
    }

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (Exception ex) when (ex is InvalidOperationException or Win32Exception)
        {
            // already exited
        }
    }
}

using System.Diagnostics;
using System.Text;

namespace CtxRelay.Testing;

/// <summary>
/// Runs <c>python/hosted_sdk.py</c> — the wire behaviour of the hosted product's Python package
/// (<c>contextrelay</c> 0.2) — with the real <c>python3</c> and <c>requests</c>. Fails, not skips, when they
/// are missing.
/// </summary>
public static class HostedPythonSdk
{
    public static string ScriptPath { get; } = Path.Combine(AppContext.BaseDirectory, "python", "hosted_sdk.py");

    /// <summary>Runs one command to completion; stdout is decoded as UTF-8.</summary>
    public static Task<PythonResult> RunAsync(IEnumerable<string> arguments, string? stdin = null, TimeSpan? timeout = null)
        => RunPythonAsync(["-u", ScriptPath, .. arguments], stdin, timeout);

    /// <summary>
    /// Runs a snippet of Python with the module importable (<c>import hosted_sdk</c>), to compare with the
    /// package's own functions and constants; stdout is decoded as UTF-8.
    /// </summary>
    public static Task<PythonResult> RunCodeAsync(string code, string? stdin = null)
    {
        var directory = Path.GetDirectoryName(ScriptPath)!.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal);
        return RunPythonAsync(["-c", $"import sys; sys.path.insert(0, '{directory}'); import hosted_sdk\n{code}"], stdin, timeout: null);
    }

    private static async Task<PythonResult> RunPythonAsync(IReadOnlyList<string> arguments, string? stdin, TimeSpan? timeout)
    {
        using var process = StartPython(arguments);
        var stdout = process.StandardOutput.BaseStream.ReadAllBytesAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.BaseStream.WriteAsync(Encoding.UTF8.GetBytes(stdin));
        }

        process.StandardInput.Close();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"hosted_sdk.py {string.Join(' ', arguments)} did not finish: {await stderr}");
        }

        return new PythonResult(process.ExitCode, Encoding.UTF8.GetString(await stdout), await stderr);
    }

    /// <summary>Starts a long-running command (bridge, subscribe); the caller kills and disposes it.</summary>
    public static Process Start(IEnumerable<string> arguments) => StartPython(["-u", ScriptPath, .. arguments]);

    private static Process StartPython(IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo("python3")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return Process.Start(start) ?? throw new InvalidOperationException("python3 did not start");
    }

    private static async Task<byte[]> ReadAllBytesAsync(this Stream stream)
    {
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer);
        return buffer.ToArray();
    }
}

public sealed record PythonResult(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>Stdout, after failing the test with stderr when the command failed.</summary>
    public string Ok() => ExitCode == 0 ? Stdout : throw new Xunit.Sdk.XunitException($"hosted_sdk.py exited {ExitCode}: {Stderr}");
}

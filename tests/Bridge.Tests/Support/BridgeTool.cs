using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace CtxRelay.Bridge.Tests.Support;

/// <summary>The built <c>contextrelay-bridge</c> tool, run as its own process (as a Stop hook runs it).</summary>
public static class BridgeTool
{
    public static string Dll => Path.Combine(AppContext.BaseDirectory, "contextrelay-bridge.dll");

    /// <summary>The dotnet host running these tests.</summary>
    public static string Dotnet
    {
        get
        {
            var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
            if (!string.IsNullOrEmpty(host) && File.Exists(host))
            {
                return host;
            }

            var self = Environment.ProcessPath;
            return self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
        }
    }

    /// <summary>The shell command that runs the tool, for a hook entry.</summary>
    public static string Command => $"'{Dotnet}' '{Dll}'";

    /// <summary>Runs the tool with an environment of its own; returns exit code, stdout and stderr.</summary>
    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(IReadOnlyList<string> args, IDictionary<string, string?>? environment = null, string? input = null)
    {
        var start = new ProcessStartInfo(Dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Dll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input);
        }

        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }

    /// <summary>Starts the tool as a long-running process (a bridge); the caller kills and disposes it.</summary>
    public static Process Start(IReadOnlyList<string> args)
    {
        var start = new ProcessStartInfo(Dotnet) { RedirectStandardOutput = false, RedirectStandardError = false, UseShellExecute = false };
        start.ArgumentList.Add(Dll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return Process.Start(start) ?? throw new InvalidOperationException("the bridge did not start");
    }

    /// <summary>Runs the CLI in this process with captured output, as System.CommandLine tests do.</summary>
    public static async Task<(int ExitCode, string Output, string Error)> InvokeAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exitCode = await BridgeCli.CreateRootCommand().Parse(args).InvokeAsync(new System.CommandLine.InvocationConfiguration { Output = output, Error = error });
        return (exitCode, output.ToString(), error.ToString());
    }

    /// <summary>Asserts a CLI error: exactly one line, <c>error: …</c>, that contains <paramref name="expected"/>.</summary>
    public static void AssertOneLineError(string error, string expected)
    {
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var line = Xunit.Assert.Single(lines);
        Xunit.Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Xunit.Assert.Contains(expected, line, StringComparison.Ordinal);
    }

    /// <summary>The first 12 hex digits of the SHA-256 of the text, as the stand-in reports it.</summary>
    public static string Checksum(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..12];
}

/// <summary>Sends the bridge's log lines to the test output (ignored once the test is over).</summary>
public sealed class TestLogger(ITestOutputHelper output) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        try
        {
            output.WriteLine($"{DateTime.Now:HH:mm:ss.fff} {logLevel}: {formatter(state, exception)}");
        }
        catch (InvalidOperationException)
        {
        }
    }
}

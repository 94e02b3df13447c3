using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using CtxRelay.Testing;

namespace CtxRelay.Cli.Tests;

/// <summary>What one run of the tool did.</summary>
internal sealed record CliResult(int ExitCode, byte[] StandardOutputBytes, string StandardError)
{
    public string StandardOutput => Encoding.UTF8.GetString(StandardOutputBytes);

    /// <summary>Standard error as lines (without the trailing empty one).</summary>
    public string[] ErrorLines => StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    public JsonObject Json() => JsonNode.Parse(StandardOutput)!.AsObject();

    public override string ToString() => $"exit {ExitCode}; stdout: {StandardOutput}; stderr: {StandardError}";
}

/// <summary>
/// The built <c>contextrelay</c> tool run as a child process (<c>dotnet contextrelay.dll …</c>) with its
/// own environment: the relay's URL and key unless a test says otherwise, every other CONTEXTRELAY_
/// variable the runner may have removed.
/// </summary>
internal sealed class CliTool(string? url, string? apiKey)
{
    public static string ToolPath { get; } = typeof(CliTool).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "CliToolPath").Value!;

    public static CliTool For(RelayFixture relay) => new(relay.BaseUrl, relay.ApiKey);

    public string WorkingDirectory { get; init; } = Path.GetTempPath();

    /// <summary>Runs to the end; <paramref name="input"/> is copied to standard input, then it is closed.</summary>
    public async Task<CliResult> RunAsync(string[] args, Stream? input = null, TimeSpan? timeout = null)
    {
        using var process = Start(args);
        var stdout = new MemoryStream();
        var reading = process.StandardOutput.BaseStream.CopyToAsync(stdout);
        var readingErrors = process.StandardError.ReadToEndAsync();
        try
        {
            if (input is not null)
            {
                await input.CopyToAsync(process.StandardInput.BaseStream);
            }
        }
        catch (IOException)
        {
            // the tool stopped reading (an error before it read its input): its exit code tells
        }
        finally
        {
            try
            {
                process.StandardInput.Close();
            }
            catch (IOException)
            {
            }
        }

        await Wait.For(process.WaitForExitAsync().ContinueWith(_ => true), $"contextrelay {string.Join(' ', args)} to exit", timeout ?? TimeSpan.FromSeconds(60));
        await reading;
        return new CliResult(process.ExitCode, stdout.ToArray(), await readingErrors);
    }

    public Task<CliResult> RunAsync(params string[] args) => RunAsync(args, input: null);

    public Task<CliResult> RunWithInputAsync(string input, params string[] args) => RunAsync(args, new MemoryStream(Encoding.UTF8.GetBytes(input)));

    /// <summary>
    /// Runs a bash script in which <c>contextrelay</c> is the tool (a function), for what only a shell does:
    /// redirecting standard input from a file, pipelines.
    /// </summary>
    public async Task<CliResult> RunShellAsync(string script)
    {
        var bash = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = WorkingDirectory,
        };
        bash.ArgumentList.Add("-c");
        bash.ArgumentList.Add($"contextrelay() {{ dotnet '{ToolPath}' \"$@\"; }}\n{script}");
        Set(bash, "CONTEXTRELAY_URL", url);
        Set(bash, "CONTEXTRELAY_API_KEY", apiKey);
        using var process = Process.Start(bash)!;
        var stdout = new MemoryStream();
        var reading = process.StandardOutput.BaseStream.CopyToAsync(stdout);
        var errors = process.StandardError.ReadToEndAsync();
        await Wait.For(process.WaitForExitAsync().ContinueWith(_ => true), "the shell script to finish", TimeSpan.FromMinutes(2));
        await reading;
        return new CliResult(process.ExitCode, stdout.ToArray(), await errors);
    }

    /// <summary>Starts a long-running command (subscribe) whose output is read line by line as it comes.</summary>
    public RunningCli StartRunning(params string[] args) => new(Start(args));

    private Process Start(string[] args)
    {
        Assert.True(File.Exists(ToolPath), $"The tool is not built at {ToolPath}.");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = WorkingDirectory,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        start.ArgumentList.Add(ToolPath);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        Set(start, "CONTEXTRELAY_URL", url);
        Set(start, "CONTEXTRELAY_API_KEY", apiKey);
        return Process.Start(start)!;
    }

    /// <summary>Sets a variable, or removes one the test runner may have inherited when null.</summary>
    private static void Set(ProcessStartInfo start, string name, string? value)
    {
        if (value is null)
        {
            start.Environment.Remove(name);
        }
        else
        {
            start.Environment[name] = value;
        }
    }
}

/// <summary>A running tool whose stdout and stderr lines arrive as they are written.</summary>
internal sealed class RunningCli : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly Channel<string> _errors = Channel.CreateUnbounded<string>();
    private readonly Task _outputPump;

    public RunningCli(Process process)
    {
        _process = process;
        _outputPump = Pump(process.StandardOutput, _lines);
        _ = Pump(process.StandardError, _errors);
    }

    public async Task<string> NextLineAsync(string what)
        => await Wait.For(_lines.Reader.ReadAsync().AsTask(), what);

    public async Task<string> NextErrorLineAsync(string what)
        => await Wait.For(_errors.Reader.ReadAsync().AsTask(), what);

    /// <summary>Once the tool has closed its standard output: the lines not read yet.</summary>
    public async Task<List<string>> RemainingLinesAsync()
    {
        await Wait.For(_outputPump.ContinueWith(_ => true), "the tool's standard output to close");
        var lines = new List<string>();
        while (_lines.Reader.TryRead(out var line))
        {
            lines.Add(line);
        }

        return lines;
    }

    public void CloseInput() => _process.StandardInput.Close();

    /// <summary>Sends SIGTERM or SIGINT (what a supervisor or Ctrl+C sends) with libc's kill(2).</summary>
    public void Signal(string signal)
    {
        Assert.False(OperatingSystem.IsWindows(), "POSIX signals are tested on Unix");
        Assert.Equal(0, Kill(_process.Id, signal == "INT" ? 2 : 15));
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    public async Task<int> ExitCodeAsync(string what)
    {
        await Wait.For(_process.WaitForExitAsync().ContinueWith(_ => true), what);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private static async Task Pump(StreamReader reader, Channel<string> lines)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            await lines.Writer.WriteAsync(line);
        }

        lines.Writer.Complete();
    }
}

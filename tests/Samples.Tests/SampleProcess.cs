using System.Diagnostics;
using System.Text;
using CtxRelay.Testing;

namespace CtxRelay.Samples.Tests;

/// <summary>
/// A sample running as its own process (<c>dotnet &lt;sample&gt;.dll args</c>) against a test relay, with the
/// model variables removed so it uses its scripted stand-in. Its output is collected line by line, and a
/// test can wait for a line instead of sleeping.
/// </summary>
internal sealed class SampleProcess : IAsyncDisposable
{
    private static readonly string[] ModelVariables =
        ["OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "ANTHROPIC_MODEL"];

    /// <summary>How long to wait for a line: a dotnet process starting on a busy 2-core CI machine can take a while.</summary>
    private static readonly TimeSpan StartupPatience = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Found)> _waiters = [];
    private readonly StringBuilder _error = new();
    private readonly TaskCompletionSource _outputClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private SampleProcess(Process process) => _process = process;

    public int Id => _process.Id;

    /// <summary>Everything the sample printed to stdout so far.</summary>
    public string Output
    {
        get
        {
            lock (_lines)
            {
                return string.Join('\n', _lines);
            }
        }
    }

    /// <summary>Everything the sample printed to stderr so far.</summary>
    public string Error
    {
        get
        {
            lock (_error)
            {
                return _error.ToString();
            }
        }
    }

    /// <summary>
    /// The built sample <paramref name="dll"/> in <c>samples/<paramref name="folder"/>/bin/</c>, in the same
    /// configuration and target framework as these tests (the project references build it first).
    /// </summary>
    public static string Locate(string folder, string dll)
    {
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)); // tests/Samples.Tests/bin/<configuration>/<tfm>
        var repository = output.Parent!.Parent!.Parent!.Parent!.Parent!.FullName;
        var path = Path.Combine(repository, "samples", folder, "bin", output.Parent.Name, output.Name, dll);
        return File.Exists(path) ? path : throw new FileNotFoundException($"The sample is not built: {path}. Build tests/Samples.Tests (it builds the samples).", path);
    }

    /// <summary>Starts the sample <paramref name="dll"/> (a path from <see cref="Locate"/>) against <paramref name="relay"/>.</summary>
    public static SampleProcess Start(RelayFixture relay, string dll, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["CONTEXTRELAY_URL"] = relay.BaseUrl;
        start.Environment["CONTEXTRELAY_API_KEY"] = relay.ApiKey;
        foreach (var variable in ModelVariables)
        {
            start.Environment.Remove(variable);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var process = new Process { StartInfo = start };
        var sample = new SampleProcess(process);
        process.OutputDataReceived += (_, e) => sample.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (sample._error)
                {
                    sample._error.AppendLine(e.Data);
                }
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return sample;
    }

    /// <summary>Runs a sample to its end (failing the test if that takes over a minute); see <see cref="ExitCode"/> and the output.</summary>
    public static async Task<SampleProcess> RunAsync(RelayFixture relay, string dll, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var sample = Start(relay, dll, args, environment);
        await sample.WaitForExitAsync();
        return sample;
    }

    /// <summary>The first line (already printed or still to come) that <paramref name="match"/> accepts.</summary>
    public Task<string> WaitForLineAsync(Func<string, bool> match, string what, TimeSpan? timeout = null)
    {
        var found = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lines)
        {
            if (_lines.FirstOrDefault(match) is { } line)
            {
                return Task.FromResult(line);
            }

            _waiters.Add((match, found));
        }

        return WaitAsync();

        async Task<string> WaitAsync()
        {
            try
            {
                return await Wait.For(found.Task, what, timeout ?? StartupPatience);
            }
            catch (TimeoutException ex)
            {
                throw new TimeoutException($"{ex.Message}\nstdout:\n{Output}\nstderr:\n{Error}");
            }
        }
    }

    /// <summary>Waits for the process to end (and its output to be read), failing with its output on a timeout.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan? timeout = null)
    {
        try
        {
            await Wait.For(Task.WhenAll(_process.WaitForExitAsync(), _outputClosed.Task).ContinueWith(_ => 0, TaskScheduler.Default), "the sample to exit", timeout ?? TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"{ex.Message}\nstdout:\n{Output}\nstderr:\n{Error}");
        }

        return _process.ExitCode;
    }

    public int ExitCode => _process.ExitCode;

    /// <summary>kill -9: no shutdown code runs, the sockets just drop.</summary>
    public void KillHard() => _process.Kill(entireProcessTree: true);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            _outputClosed.TrySetResult();
            return;
        }

        lock (_lines)
        {
            _lines.Add(line);
            foreach (var waiter in _waiters.Where(w => w.Match(line)).ToList())
            {
                _waiters.Remove(waiter);
                waiter.Found.TrySetResult(line);
            }
        }
    }
}

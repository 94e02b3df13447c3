using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace CtxRelay.Testing;

/// <summary>
/// A <c>redis-server</c> child process on a free loopback port. Stop and start it again on the same port
/// to simulate an outage; with a data directory it keeps an fsync'd append-only file, so its data survives
/// even <see cref="StopAsync"/> (a kill).
/// </summary>
public sealed class RedisServerProcess : IAsyncDisposable
{
    private readonly string _executable;
    private readonly string? _dataDirectory;
    private readonly StringBuilder _output = new();
    private Process? _process;

    private RedisServerProcess(string executable, int port, string? dataDirectory)
    {
        _executable = executable;
        Port = port;
        _dataDirectory = dataDirectory;
    }

    public int Port { get; }

    public string ConnectionString => $"127.0.0.1:{Port}";

    /// <summary>Starts redis-server and waits until it answers PING.</summary>
    public static async Task<RedisServerProcess> StartAsync(string? dataDirectory = null)
    {
        var executable = Executables.Find("redis-server") ?? throw new InvalidOperationException(
            "redis-server is not on PATH, and the Redis storage tests need a real one. Install it: `apt-get install -y redis-server` (Debian/Ubuntu) or `brew install redis` (macOS).");
        var server = new RedisServerProcess(executable, RelayProcess.FreePort(), dataDirectory);
        await server.StartAsync();
        return server;
    }

    /// <summary>(Re)starts the server on its port and waits until it answers PING.</summary>
    public async Task StartAsync()
    {
        var start = new ProcessStartInfo(_executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", string.Empty })
        {
            start.ArgumentList.Add(argument);
        }

        if (_dataDirectory is null)
        {
            start.ArgumentList.Add("--appendonly");
            start.ArgumentList.Add("no");
        }
        else
        {
            Directory.CreateDirectory(_dataDirectory);
            foreach (var argument in new[] { "--dir", _dataDirectory, "--appendonly", "yes", "--appendfsync", "always" })
            {
                start.ArgumentList.Add(argument);
            }
        }

        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        await Wait.Until(
            async () => process.HasExited ? throw new InvalidOperationException($"redis-server exited with {process.ExitCode}:\n{Output}") : await AnswersPingAsync(),
            $"redis-server to answer PING on port {Port}",
            TimeSpan.FromSeconds(15));
    }

    /// <summary>Kills the server (no graceful shutdown) and waits for it to exit.</summary>
    public async Task StopAsync()
    {
        if (_process is { } process)
        {
            _process = null;
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            await process.WaitForExitAsync();
            process.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (_dataDirectory is not null)
        {
            try
            {
                Directory.Delete(_dataDirectory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    private async Task<bool> AnswersPingAsync()
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, Port);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray());
            var buffer = new byte[64];
            var read = await stream.ReadAsync(buffer);
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (SocketException)
        {
            return false;
        }
        catch (IOException)
        {
            return false;
        }
    }
}

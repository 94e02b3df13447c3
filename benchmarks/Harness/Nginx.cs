using System.Diagnostics;
using System.Text;
using CtxRelay.Testing;

namespace CtxRelay.Harness;

/// <summary>
/// nginx (nginx-light) serving files from a folder on a loopback port, with a config generated in a temp
/// folder: sendfile on, gzip off, no access log — the reference for pulling large payloads.
/// </summary>
internal sealed class Nginx : IAsyncDisposable
{
    private readonly Process _process;

    private Nginx(Process process, string baseUrl, string root)
    {
        _process = process;
        BaseUrl = baseUrl;
        Root = root;
    }

    public string BaseUrl { get; }

    /// <summary>The folder nginx serves (its files are at <c>BaseUrl/name</c>).</summary>
    public string Root { get; }

    public static async Task<Nginx> StartAsync(string folder)
    {
        var executable = Executables.Require("nginx", "nginx-light");
        var root = Path.Combine(folder, "www");
        Directory.CreateDirectory(root);
        File.WriteAllText(Path.Combine(root, "healthz"), "ok");
        var port = RelayProcess.FreePort();
        var config = new StringBuilder()
            .AppendLine("daemon off;")
            .AppendLine(Environment.IsPrivilegedProcess ? "user root;" : string.Empty) // workers must read our temp files
            .AppendLine("worker_processes auto;")
            .AppendLine($"pid {folder}/nginx.pid;")
            .AppendLine($"error_log {folder}/nginx-error.log warn;")
            .AppendLine("events { worker_connections 1024; }")
            .AppendLine("http {")
            .AppendLine("  access_log off; sendfile on; tcp_nopush on; gzip off; default_type text/plain;")
            .AppendLine($"  client_body_temp_path {folder}/client_body; proxy_temp_path {folder}/proxy;")
            .AppendLine($"  fastcgi_temp_path {folder}/fastcgi; uwsgi_temp_path {folder}/uwsgi; scgi_temp_path {folder}/scgi;")
            .AppendLine($"  server {{ listen 127.0.0.1:{port}; root {root}; }}")
            .AppendLine("}");
        var configPath = Path.Combine(folder, "nginx.conf");
        File.WriteAllText(configPath, config.ToString());

        var start = new ProcessStartInfo(executable)
        {
            ArgumentList = { "-p", folder, "-c", configPath, "-e", Path.Combine(folder, "nginx-error.log") },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var process = Process.Start(start) ?? throw new InvalidOperationException("nginx did not start");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var nginx = new Nginx(process, $"http://127.0.0.1:{port}", root);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await Wait.Until(
            async () =>
            {
                if (process.HasExited)
                {
                    throw new InvalidOperationException($"nginx exited with {process.ExitCode}: {ReadLog(folder)}");
                }

                try
                {
                    using var response = await http.GetAsync(nginx.BaseUrl + "/healthz");
                    return response.IsSuccessStatusCode;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            },
            "nginx to serve /healthz",
            TimeSpan.FromSeconds(15));
        return nginx;
    }

    /// <summary>Writes <paramref name="bytes"/> as a file nginx serves; returns its URL.</summary>
    public string Serve(string name, byte[] bytes)
    {
        File.WriteAllBytes(Path.Combine(Root, name), bytes);
        return $"{BaseUrl}/{name}";
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
        _process.Dispose();
    }

    private static string ReadLog(string folder)
    {
        var log = Path.Combine(folder, "nginx-error.log");
        return File.Exists(log) ? File.ReadAllText(log) : "(no error log)";
    }
}

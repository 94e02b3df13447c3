using System.Collections.Concurrent;
using CtxRelay.Relay;
using CtxRelay.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace CtxRelay.Console.Tests;

/// <summary>
/// A real relay that records every request it receives (path, query and headers, as the server saw them), and the
/// system's headless Chromium (apt package <c>chromium</c>) driven by Playwright; nothing is downloaded.
/// </summary>
public class ConsoleRelay : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private const float ExpectTimeoutMs = 15_000;

    private readonly TemporaryDirectory _data = new("console");
    private RelayServer? _server;
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    /// <summary>Every request line and header value the relay received, in order.</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    public string BaseUrl => Server.BaseUrl.AbsoluteUri.TrimEnd('/');

    public RelayServer Server => _server ?? throw new InvalidOperationException("The relay has not started.");

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("Chromium has not started.");

    /// <summary>Configuration overrides for this relay (e.g. <c>Relay:Open:Enabled</c>).</summary>
    protected virtual IDictionary<string, string?> Settings => new Dictionary<string, string?>();

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException($"{ChromiumPath} is missing: install it with 'apt-get install -y chromium' (.ci/run does).");
        }

        var settings = new Dictionary<string, string?>
        {
            ["Relay:DataDirectory"] = _data.Path,
            ["Relay:KeyCacheDuration"] = "00:00:00",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in Settings)
        {
            settings[key] = value;
        }

        _server = await RelayServer.StartAsync(settings, builder => builder.Services.AddSingleton<IStartupFilter>(new RecordRequests(Requests)));
        _playwright = await Playwright.CreateAsync();
        Assertions.SetDefaultExpectTimeout(ExpectTimeoutMs); // the 2-core CI machine runs every suite at once
        _browser = await _playwright.Chromium.LaunchAsync(new() { ExecutablePath = ChromiumPath, Headless = true });
    }

    /// <summary>A key of a new workspace.</summary>
    public Task<string> CreateKeyAsync() => Server.CreateKeyAsync("ws-" + Guid.NewGuid().ToString("N")[..8]);

    public CtxRelay.ContextRelay CreateClient(string apiKey)
        => new(CtxRelay.ContextRelayOptions.Default with { BaseUrl = new Uri(BaseUrl), ApiKey = apiKey });

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _data.Dispose();
    }

    /// <summary>Runs before the relay's own pipeline, so it sees every request exactly as it arrived.</summary>
    private sealed class RecordRequests(ConcurrentQueue<string> requests) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((http, following) =>
            {
                requests.Enqueue($"{http.Request.Method} {http.Request.Path}{http.Request.QueryString}");
                foreach (var (name, values) in http.Request.Headers)
                {
                    requests.Enqueue($"{name}: {values}");
                }

                return following(http);
            });
            next(app);
        };
    }
}

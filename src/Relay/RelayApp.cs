using System.IO.Compression;
using CtxRelay.Relay.Auth;
using CtxRelay.Relay.Features;
using CtxRelay.Relay.Internal;
using CtxRelay.Relay.Storage;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.ResponseCompression;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using MinDataRate = Microsoft.AspNetCore.Server.Kestrel.Core.MinDataRate;

namespace CtxRelay.Relay;

/// <summary>The composition root: services, then one Map call per feature.</summary>
public static class RelayApp
{
    public const string DefaultUrl = "http://127.0.0.1:8787";

    /// <summary>Builds the relay from host-style arguments (<c>--urls</c>, <c>--Relay:DataDirectory=…</c>).</summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        // The content root is the relay's own folder, so its appsettings.json applies wherever it is started from.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = args,
            ApplicationName = typeof(RelayApp).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });

        // Per-request framework logs stay below Information (the access log is the one line per request), and
        // a failed start is reported once, as one line, by the command line, not as a logged stack trace.
        if (string.Equals(builder.Configuration["Logging:Console:FormatterName"], "json", StringComparison.OrdinalIgnoreCase))
        {
            builder.Logging.ClearProviders();
            builder.Logging.AddJsonConsole(); // one JSON object per line, for log collectors
        }

        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);
        builder.Logging.AddFilter(typeof(ApiKeyAuthentication).FullName, LogLevel.Warning); // failed auth is counted, not logged per request
        if (string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.ServerUrlsKey]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        // A default under every other source (appsettings and the environment override it): while this category
        // is enabled, hosting gives every request an Activity and a log scope, which a WebSocket subscriber keeps
        // for as long as it is connected (~0.6 KB each; it logs request start/end only, at Information/Debug).
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData = [new("Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics", "None")],
        });

        configure?.Invoke(builder);
        var limits = builder.Configuration.GetSection(RelayOptions.Section).Get<RelayOptions>() ?? new RelayOptions();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestHeadersTotalSize = 64 * 1024;
            kestrel.Limits.RequestHeadersTimeout = limits.RequestHeadersTimeout;
            kestrel.Limits.MinRequestBodyDataRate = limits.UploadGracePeriod > TimeSpan.FromSeconds(1)
                ? new MinDataRate(limits.MinUploadBytesPerSecond, limits.UploadGracePeriod)
                : throw new InvalidOperationException($"Relay:UploadGracePeriod is {limits.UploadGracePeriod}; it must be more than one second (e.g. 00:00:05).");
        });
        OpenMode.EnsureAllowed(builder.Configuration, limits.Open);
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = limits.ShutdownTimeout);
        AddRelay(builder.Services, builder.Configuration);

        var app = builder.Build();
        UseTrustedProxies(app, limits.TrustedProxies);
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            StatusCodeSelector = ex => ex switch
            {
                BadHttpRequestException bad => bad.StatusCode,
                StorageUnavailableException => StatusCodes.Status503ServiceUnavailable,
                _ when StorageFull.Is(ex) => StatusCodes.Status507InsufficientStorage,
                _ => StatusCodes.Status500InternalServerError,
            },
        });
        app.UseStatusCodePages();

        // Every route also answers under the configured path base (a reverse proxy's prefix) and under /v1,
        // the prefix of the hosted relay's base URL; URLs handed out keep the prefix the caller used.
        if (RelayRoutes.PathBase(app.Services.GetRequiredService<IOptions<RelayOptions>>().Value) is { HasValue: true } pathBase)
        {
            app.UsePathBase(pathBase);
        }

        app.UsePathBase(RelayRoutes.VersionPrefix);
        app.UseAccessLog();
        app.UseRouting();
        app.UseRequestGuards();
        app.UseResponseCompression();
        app.UseWebSockets();
        app.UseAuthentication();
        app.UseAuthorization();

        app.MapHealth();
        app.MapPayloads();
        app.MapChannels();
        app.MapUsage();
        app.MapConsole();
        if (app.Services.GetRequiredService<IOptions<RelayOptions>>().Value.Telemetry.Prometheus)
        {
            app.MapPrometheusScrapingEndpoint("/metrics").AllowAnonymous();
        }

        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            Log.Listening(app.Logger, string.Join(", ", addresses), app.Services.GetRequiredService<StorageDescription>().Engine);
            if (app.Services.GetRequiredService<IOptions<RelayOptions>>().Value.Open is { Enabled: true } open)
            {
                Log.OpenMode(app.Logger, open.Workspace, open.Plan, string.Join(", ", addresses));
            }
        });
        return app;
    }

    /// <summary>
    /// Behind trusted reverse proxies, the client's address, scheme, host and path prefix come from their
    /// X-Forwarded-* headers, so returned URLs and per-address throttling are right; nobody else's are believed.
    /// </summary>
    private static void UseTrustedProxies(WebApplication app, List<string> proxies)
    {
        if (proxies.Count == 0)
        {
            return;
        }

        var forwarded = new ForwardedHeadersOptions
        {
            ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto | ForwardedHeaders.XForwardedHost | ForwardedHeaders.XForwardedPrefix,
            ForwardLimit = null,
        };
        forwarded.KnownProxies.Clear();
        forwarded.KnownIPNetworks.Clear();
        foreach (var proxy in proxies)
        {
            if (System.Net.IPNetwork.TryParse(proxy, out var network))
            {
                forwarded.KnownIPNetworks.Add(network);
            }
            else if (System.Net.IPAddress.TryParse(proxy, out var address))
            {
                forwarded.KnownProxies.Add(address);
            }
            else
            {
                throw new InvalidOperationException($"Relay:TrustedProxies has '{proxy}', which is neither an IP address nor a network (10.0.0.0/8).");
            }
        }

        app.UseForwardedHeaders(forwarded);
    }

    internal static void AddRelay(IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RelayOptions>().BindConfiguration(RelayOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.Section);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(sp => new StorageDescription(sp.GetRequiredService<IOptions<StorageOptions>>().Value.Engine));
        services.AddSingleton<RelayTelemetry>();
        services.AddSingleton<IRelayStore>(sp => new InstrumentedRelayStore(
            StoreFactory.Create(
                sp.GetRequiredService<IOptions<StorageOptions>>().Value,
                sp.GetRequiredService<IOptions<RelayOptions>>().Value,
                sp.GetRequiredService<ILoggerFactory>(),
                serving: true),
            sp.GetRequiredService<RelayTelemetry>(),
            sp.GetRequiredService<StorageDescription>().Engine));
        AddTelemetry(services, configuration);
        services.AddSingleton<StoreInitializer>();
        services.AddHostedService(sp => sp.GetRequiredService<StoreInitializer>());
        services.AddHostedService<Sweeper>();
        services.AddSingleton<AccessControl>();
        services.AddHostedService(sp => sp.GetRequiredService<AccessControl>());
        services.AddSingleton<FailedAuthThrottle>();
        services.AddSingleton<Metering>();
        services.AddHostedService(sp => sp.GetRequiredService<Metering>());
        // No cookies or tokens here: data protection (registered by authentication) keeps its keys in memory, never
        // on disk. Configured before AddDataProtection, so its default setup never looks for a key folder.
        services.Configure<Microsoft.AspNetCore.DataProtection.KeyManagement.KeyManagementOptions>(o =>
        {
            o.XmlRepository = new InMemoryXmlRepository();
            o.XmlEncryptor = new Microsoft.AspNetCore.DataProtection.XmlEncryption.NullXmlEncryptor();
        });
        services.AddDataProtection().UseEphemeralDataProtectionProvider();
        services.AddProblemDetails(problems => problems.CustomizeProblemDetails = context =>
        {
            // Only exceptions meant for callers show their message; anything else stays a bare 500.
            if (context.ProblemDetails.Status == StatusCodes.Status404NotFound && context.HttpContext.GetEndpoint() is null)
            {
                context.ProblemDetails.Type = "https://contextrelay.dev/problems/no-such-route";
                context.ProblemDetails.Detail = RelayRoutes.NoSuchRoute(context.HttpContext.Request);
            }

            if (context.Exception is { } full && StorageFull.Is(full))
            {
                context.ProblemDetails.Type = "https://contextrelay.dev/problems/storage-full";
                context.ProblemDetails.Title = "Insufficient storage";
                context.ProblemDetails.Detail = "The relay's storage is full, so nothing was stored. Retry later, push less, or ask the operator to free space.";
                context.HttpContext.Response.Headers.RetryAfter = "30";
            }

            if (context.Exception is StorageUnavailableException unavailable)
            {
                context.ProblemDetails.Type = "https://contextrelay.dev/problems/storage-unavailable";
                context.ProblemDetails.Title = "Storage unavailable";
                context.ProblemDetails.Detail = unavailable.Message;
                context.HttpContext.Response.Headers.RetryAfter = "2";
            }
        });

        services.AddAuthentication(ApiKeyAuthentication.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthentication>(ApiKeyAuthentication.SchemeName, null);
        services.AddAuthorizationBuilder()
            .AddPolicy(ApiKeyAuthentication.WritePolicy, policy => policy
                .RequireAuthenticatedUser()
                .RequireClaim(ApiKeyAuthentication.ScopeClaim, nameof(KeyScope.ReadWrite), nameof(KeyScope.PushOnly)))
            .AddPolicy(ApiKeyAuthentication.ReadPolicy, policy => policy
                .RequireAuthenticatedUser()
                .RequireClaim(ApiKeyAuthentication.ScopeClaim, nameof(KeyScope.ReadWrite), nameof(KeyScope.ReadOnly)));

        services.AddResponseCompression(compression =>
        {
            compression.Providers.Add<BrotliCompressionProvider>();
            compression.Providers.Add<GzipCompressionProvider>();
            compression.MimeTypes = ["text/plain", "text/markdown", "application/octet-stream", "application/json"];
        });
        services.Configure<BrotliCompressionProviderOptions>(o => o.Level = CompressionLevel.Fastest);
        services.Configure<GzipCompressionProviderOptions>(o => o.Level = CompressionLevel.Fastest);
    }

    /// <summary>
    /// OpenTelemetry: the relay's metrics and spans with ASP.NET Core's, to Prometheus (<c>/metrics</c>, when
    /// <c>Relay:Telemetry:Prometheus</c>) and over OTLP (when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set).
    /// </summary>
    private static void AddTelemetry(IServiceCollection services, IConfiguration configuration)
    {
        var prometheus = configuration.GetValue<bool>($"{RelayOptions.Section}:Telemetry:Prometheus");
        var otlp = !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        if (!prometheus && !otlp)
        {
            return; // nothing would export them: no collection cost at all
        }

        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("contextrelay-relay", serviceVersion: typeof(RelayApp).Assembly.GetName().Version?.ToString(3)))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(RelayTelemetry.Name).AddAspNetCoreInstrumentation();
                if (prometheus)
                {
                    metrics.AddPrometheusExporter();
                }

                if (otlp)
                {
                    metrics.AddOtlpExporter();
                }
            });

        // Spans only when they go somewhere: a listener makes hosting create an Activity per request, which every
        // WebSocket subscriber would keep for its whole connection.
        if (otlp)
        {
            services.AddOpenTelemetry().WithTracing(tracing => tracing
                .AddSource(RelayTelemetry.Name)
                .AddAspNetCoreInstrumentation(o => o.Filter = http => !http.Request.Path.StartsWithSegments("/metrics"))
                .AddOtlpExporter());
        }
    }

    /// <summary>Creates the schema / checks the connection once, before the relay takes requests.</summary>
    internal sealed class StoreInitializer(IRelayStore store) : IHostedService
    {
        private readonly Lazy<Task> _initialized = new(() => store.InitializeAsync(CancellationToken.None));

        /// <summary>Initializes the store the first time; later calls wait for that same initialization.</summary>
        public Task EnsureAsync(CancellationToken cancellationToken) => _initialized.Value.WaitAsync(cancellationToken);

        public Task StartAsync(CancellationToken cancellationToken) => EnsureAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

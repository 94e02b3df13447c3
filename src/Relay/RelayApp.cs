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
using Microsoft.AspNetCore.ResponseCompression;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.Options;

namespace CtxRelay.Relay;

/// <summary>The composition root: services, then one Map call per feature.</summary>
public static class RelayApp
{
    public const string DefaultUrl = "http://127.0.0.1:8787";

    /// <summary>Builds the relay from host-style arguments (<c>--urls</c>, <c>--Relay:DataDirectory=…</c>).</summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, ApplicationName = typeof(RelayApp).Assembly.GetName().Name });
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

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestHeadersTotalSize = 64 * 1024;
        });
        configure?.Invoke(builder);
        OpenMode.EnsureAllowed(builder.Configuration, builder.Configuration.GetSection(RelayOptions.Section).Get<RelayOptions>()?.Open ?? new());
        AddRelay(builder.Services, builder.Configuration);

        var app = builder.Build();
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            StatusCodeSelector = ex => ex switch
            {
                BadHttpRequestException bad => bad.StatusCode,
                StorageUnavailableException => StatusCodes.Status503ServiceUnavailable,
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
        app.UseRouting();
        app.UseResponseCompression();
        app.UseWebSockets();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter();

        app.MapHealth();
        app.MapPayloads();
        app.MapChannels();

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

    internal static void AddRelay(IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RelayOptions>().BindConfiguration(RelayOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.Section);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(sp => new StorageDescription(sp.GetRequiredService<IOptions<StorageOptions>>().Value.Engine));
        services.AddSingleton(sp => StoreFactory.Create(
            sp.GetRequiredService<IOptions<StorageOptions>>().Value,
            sp.GetRequiredService<IOptions<RelayOptions>>().Value,
            sp.GetRequiredService<ILoggerFactory>()));
        services.AddSingleton<StoreInitializer>();
        services.AddHostedService(sp => sp.GetRequiredService<StoreInitializer>());
        services.AddHostedService<Sweeper>();
        services.AddMemoryCache();
        services.AddDataProtection().UseEphemeralDataProtectionProvider(); // no cookies here: keep no key files
        services.AddProblemDetails(problems => problems.CustomizeProblemDetails = context =>
        {
            // Only exceptions meant for callers show their message; anything else stays a bare 500.
            if (context.ProblemDetails.Status == StatusCodes.Status404NotFound && context.HttpContext.GetEndpoint() is null)
            {
                context.ProblemDetails.Type = "https://contextrelay.dev/problems/no-such-route";
                context.ProblemDetails.Detail = RelayRoutes.NoSuchRoute(context.HttpContext.Request);
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
                .RequireClaim(ApiKeyAuthentication.ScopeClaim, nameof(KeyScope.ReadWrite)));
        services.AddWorkspaceRateLimits();

        services.AddResponseCompression(compression =>
        {
            compression.Providers.Add<BrotliCompressionProvider>();
            compression.Providers.Add<GzipCompressionProvider>();
            compression.MimeTypes = ["text/plain", "text/markdown", "application/octet-stream", "application/json"];
        });
        services.Configure<BrotliCompressionProviderOptions>(o => o.Level = CompressionLevel.Fastest);
        services.Configure<GzipCompressionProviderOptions>(o => o.Level = CompressionLevel.Fastest);
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

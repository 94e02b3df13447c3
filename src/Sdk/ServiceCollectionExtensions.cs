using Microsoft.Extensions.DependencyInjection;

namespace CtxRelay;

/// <summary>Registers <see cref="ContextRelay"/> with dependency injection.</summary>
public static class ContextRelayServiceCollectionExtensions
{
    /// <summary>
    /// Adds a <see cref="ContextRelay"/> client on a factory-managed <see cref="HttpClient"/>, configured
    /// from <c>CONTEXTRELAY_URL</c> / <c>CONTEXTRELAY_API_KEY</c> when <paramref name="configure"/> is
    /// null, else by <paramref name="configure"/> starting from <see cref="ContextRelayOptions.Default"/>:
    /// <code>services.AddContextRelay(o => o with { BaseUrl = new("http://relay:8787"), ApiKey = key });</code>
    /// The options are built when the client is first resolved.
    /// </summary>
    public static IHttpClientBuilder AddContextRelay(this IServiceCollection services, Func<ContextRelayOptions, ContextRelayOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton(_ => configure is null ? ContextRelayOptions.FromEnvironment() : configure(ContextRelayOptions.Default));
        return services.AddHttpClient<ContextRelay>(http => http.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                AutomaticDecompression = System.Net.DecompressionMethods.All,
            });
    }
}

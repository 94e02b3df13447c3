using Microsoft.Extensions.DependencyInjection;

namespace CtxRelay;

/// <summary>Registers <see cref="ContextRelay"/> with dependency injection.</summary>
public static class ContextRelayServiceCollectionExtensions
{
    /// <summary>
    /// Adds a <see cref="ContextRelay"/> client on a factory-managed <see cref="HttpClient"/>.
    /// <code>services.AddContextRelay(o => o with { BaseUrl = new("http://relay:8787"), ApiKey = key });</code>
    /// </summary>
    public static IHttpClientBuilder AddContextRelay(this IServiceCollection services, Func<ContextRelayOptions, ContextRelayOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = configure?.Invoke(ContextRelayOptions.FromEnvironment()) ?? ContextRelayOptions.FromEnvironment();
        services.AddSingleton(options);
        return services.AddHttpClient<ContextRelay>(http => http.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                AutomaticDecompression = System.Net.DecompressionMethods.All,
            });
    }
}

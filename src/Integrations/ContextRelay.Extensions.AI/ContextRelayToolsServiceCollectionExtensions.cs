using CtxRelay.Extensions.AI;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="ContextRelayTools"/> with dependency injection.</summary>
public static class ContextRelayToolsServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="ContextRelayTools"/> as a singleton over the <see cref="CtxRelay.ContextRelay"/> client that
    /// <c>services.AddContextRelay(…)</c> registers:
    /// <code>services.AddContextRelay(o => o with { BaseUrl = new("http://relay:8787"), ApiKey = key });
    /// services.AddContextRelayTools(o => o with { Channel = "crew" });</code>
    /// </summary>
    public static IServiceCollection AddContextRelayTools(
        this IServiceCollection services, Func<ContextRelayToolsOptions, ContextRelayToolsOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton(provider => new ContextRelayTools(
            provider.GetService<CtxRelay.ContextRelay>()
                ?? throw new InvalidOperationException("ContextRelayTools needs a ContextRelay client: call services.AddContextRelay(…) as well."),
            configure is null ? ContextRelayToolsOptions.Default : configure(ContextRelayToolsOptions.Default)));
        return services;
    }
}

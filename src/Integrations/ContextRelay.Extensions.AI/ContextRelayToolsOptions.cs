namespace CtxRelay.Extensions.AI;

/// <summary>
/// How <see cref="ContextRelayTools"/> behaves: <c>ContextRelayToolsOptions.Default with { Channel = "crew" }</c>.
/// </summary>
public sealed record ContextRelayToolsOptions
{
    public static ContextRelayToolsOptions Default { get; } = new();

    /// <summary>
    /// Binds the tools to one channel: every push_context goes to it and wait_for_context waits on it, and neither
    /// tool offers the model a channel parameter. Null (the default) lets the model name channels itself.
    /// </summary>
    public string? Channel { get; init; }

    /// <summary>
    /// False (the default): a failed call returns its explanation (what happened, what to do next) as the tool's
    /// result, so the model reads it and the conversation goes on. True: it throws <see cref="ContextRelayToolException"/>
    /// with that text instead, for hosts that report tool errors themselves (the MCP server does).
    /// </summary>
    public bool ThrowOnError { get; init; }

    /// <summary>Results as a list of <c>TextContent</c> parts (the answer, then its note) instead of one string.</summary>
    internal bool ResultAsContentList { get; init; }

    /// <summary>The names the error texts use for the relay's settings.</summary>
    internal RelaySetup Setup { get; init; } = RelaySetup.Default;
}

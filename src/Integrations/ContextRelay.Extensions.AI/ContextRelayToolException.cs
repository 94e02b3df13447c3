namespace CtxRelay.Extensions.AI;

/// <summary>
/// A ContextRelay tool call failed. The message is written for the model: what happened and what to do next.
/// Thrown only with <see cref="ContextRelayToolsOptions.ThrowOnError"/>; otherwise the tools return that text as
/// their result so the conversation carries on.
/// </summary>
public sealed class ContextRelayToolException : Exception
{
    public ContextRelayToolException()
    {
    }

    public ContextRelayToolException(string message)
        : base(message)
    {
    }

    public ContextRelayToolException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

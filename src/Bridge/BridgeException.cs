namespace CtxRelay.Bridge;

/// <summary>
/// A failure the user can fix (tmux missing, no such pane, a bridge already running…). The message is
/// one line that names the fix; the CLI prints it as is.
/// </summary>
public sealed class BridgeException : Exception
{
    public BridgeException(string message)
        : base(message)
    {
    }

    public BridgeException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

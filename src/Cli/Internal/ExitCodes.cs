namespace CtxRelay.Cli.Internal;

/// <summary>The exit codes of <c>contextrelay</c> (documented in src/Cli/README.md).</summary>
internal static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>The relay failed or could not be reached, or a file could not be read or written.</summary>
    public const int Error = 1;

    /// <summary>Unknown command or option, a missing or malformed argument, bad configuration.</summary>
    public const int Usage = Shared.UsageErrors.ExitCode;

    /// <summary>No such payload: unknown, expired, deleted, or another workspace's.</summary>
    public const int NotFound = 3;

    /// <summary>The key is missing, unknown or revoked (401), or may not do this (403).</summary>
    public const int Auth = 4;

    /// <summary>An encrypted payload could not be decrypted: no <c>#key=</c>, or the wrong one.</summary>
    public const int Decryption = 5;

    /// <summary>Over a limit: the payload is too large (413) or the workspace is over its quota (429).</summary>
    public const int Limit = 6;

    /// <summary><c>subscribe --timeout</c> passed before any event came.</summary>
    public const int Timeout = 7;

    /// <summary>Interrupted (Ctrl+C) before the command finished.</summary>
    public const int Interrupted = 130;
}

/// <summary>A mistake on the command line or in the configuration: one line on stderr, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>A failure the user can fix (a missing file, …): one line on stderr, exit code 1.</summary>
internal sealed class CliException(string message) : Exception(message);

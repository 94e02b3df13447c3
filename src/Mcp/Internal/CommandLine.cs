using System.Reflection;

namespace CtxRelay.Mcp.Internal;

/// <summary>
/// The server takes no arguments — MCP clients start it and talk over stdio — except <c>--help</c> and
/// <c>--version</c>, and host configuration (<c>--Logging:LogLevel:Default=Debug</c>). Anything else is a
/// one-line error (exit 2) instead of a server silently waiting on stdin.
/// </summary>
internal static class CommandLine
{
    private const string Usage = """
        contextrelay-mcp: the ContextRelay MCP server (stdio). MCP clients start it; it is not run by hand.
        Tools: push_context, peek_context, pull_context, wait_for_context.

        Configuration (environment):
          CONTEXTRELAY_URL      the relay, e.g. http://127.0.0.1:8787 (default)
          CONTEXTRELAY_API_KEY  a key of your workspace (cr_live_…); leave it unset for a relay in open mode

        Register it, e.g. with Claude Code:
          claude mcp add contextrelay -e CONTEXTRELAY_API_KEY=cr_live_… -- contextrelay-mcp

        Options: --help, --version.
        """;

    /// <summary>Null to start the server, or the exit code after answering the command line.</summary>
    public static int? Handle(string[] args, TextWriter output, TextWriter error)
    {
        foreach (var arg in args)
        {
            switch (arg)
            {
                case "--help" or "-h" or "-?":
                    output.WriteLine(Usage);
                    return 0;
                case "--version":
                    output.WriteLine(typeof(CommandLine).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0");
                    return 0;
                case var setting when setting.Contains(':', StringComparison.Ordinal) || setting.Contains("__", StringComparison.Ordinal):
                    continue; // host configuration
                default:
                    var hint = arg.TrimStart('-') is var bare && (bare.StartsWith('h') || bare.StartsWith('v'))
                        ? $"; did you mean '--{(bare.StartsWith('h') ? "help" : "version")}'?"
                        : string.Empty;
                    error.WriteLine($"contextrelay-mcp: unknown argument '{arg}'{hint} It takes none: configure it with CONTEXTRELAY_URL and CONTEXTRELAY_API_KEY (see --help).");
                    return 2;
            }
        }

        return null;
    }
}

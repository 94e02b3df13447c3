using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;

namespace CtxRelay.Shared;

/// <summary>
/// Parse errors as one line: what was wrong and, for an unknown command or option, the nearest valid one —
/// instead of System.CommandLine's default of several lines plus the whole help text. One source file, compiled
/// into every program (contextrelay, contextrelay-relay, contextrelay-bridge), so they all answer alike.
/// </summary>
internal static class UsageErrors
{
    /// <summary>Exit code of a command line that is wrong.</summary>
    public const int ExitCode = 2;

    /// <summary>
    /// Writes the one-line error for a command line System.CommandLine rejected (or one with a mistyped option
    /// taken as a value) and returns <see cref="ExitCode"/>; null when the command line is fine.
    /// </summary>
    public static int? Report(ParseResult parseResult, string program, TextWriter error)
    {
        var optionLike = parseResult.Action is ParseErrorAction || parseResult.Action == parseResult.CommandResult.Command.Action
            ? OptionLikeArgument(parseResult)
            : null;
        if ((parseResult.Errors.Count > 0 && parseResult.Action is ParseErrorAction) || optionLike is not null)
        {
            error.WriteLine($"{program}: {Describe(parseResult, program, optionLike)}");
            return ExitCode;
        }

        return null;
    }

    /// <summary>
    /// An argument that looks like an option (<c>--chanel</c>) before any <c>--</c>: System.CommandLine
    /// takes it as a value, so <c>push --chanel x</c> would push a file named "--chanel". A mistyped
    /// option is far likelier; values that start with a dash go after <c>--</c>.
    /// </summary>
    public static string? OptionLikeArgument(ParseResult parseResult)
    {
        if (!parseResult.CommandResult.Command.TreatUnmatchedTokensAsErrors)
        {
            return null; // the command takes unmatched tokens itself (the relay: --Section:Key=value settings)
        }

        foreach (var token in parseResult.Tokens)
        {
            if (token.Type == TokenType.DoubleDash)
            {
                return null;
            }

            if (token.Type == TokenType.Argument && token.Value.Length > 1 && token.Value[0] == '-' && !char.IsAsciiDigit(token.Value[1]))
            {
                return token.Value;
            }
        }

        return null;
    }

    public static string Describe(ParseResult parseResult, string program, string? unknownOption = null)
    {
        var command = parseResult.CommandResult.Command;
        var path = CommandPath(parseResult.CommandResult, program);
        var help = $"See '{path} --help'.";
        if ((unknownOption ?? (parseResult.UnmatchedTokens.Count > 0 ? parseResult.UnmatchedTokens[0] : null)) is { } unknown)
        {
            var isOption = unknown.StartsWith('-');
            var candidates = isOption ? OptionNames(parseResult.CommandResult) : command.Subcommands.SelectMany(Names).ToList();
            var what = isOption ? "option" : command.Subcommands.Count > 0 ? "command" : "argument";
            var nearest = candidates.MinBy(name => Distance(name, unknown));
            var suggestion = nearest is not null && Distance(nearest, unknown) <= Math.Max(2, unknown.Length / 3)
                ? $"; did you mean '{nearest}'?"
                : command.Subcommands.Count > 0 && !isOption
                    ? $"; the commands are {string.Join(", ", command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name))}."
                    : ".";
            return $"unknown {what} '{unknown}' for '{path}'{suggestion} {help}";
        }

        var message = string.Join(' ', parseResult.Errors[0].Message.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)); // one line, no tabs
        return $"{message.TrimEnd('.')}. {help}";
    }

    private static string CommandPath(CommandResult result, string program)
    {
        var names = new List<string>();
        for (SymbolResult? r = result; r is CommandResult c; r = c.Parent)
        {
            names.Insert(0, c.Command is RootCommand ? program : c.Command.Name); // the root is named after the host process
        }

        return string.Join(' ', names);
    }

    /// <summary>The option names (and aliases) valid where <paramref name="result"/> stands, including recursive ones of its parents.</summary>
    public static List<string> OptionNames(CommandResult result)
    {
        var names = new List<string>(result.Command.Options.SelectMany(Names));
        for (var parent = result.Parent as CommandResult; parent is not null; parent = parent.Parent as CommandResult)
        {
            names.AddRange(parent.Command.Options.Where(o => o.Recursive).SelectMany(Names));
        }

        return names;
    }

    private static IEnumerable<string> Names(Symbol symbol)
        => symbol.Hidden ? [] : symbol switch
        {
            Option option => option.Aliases.Prepend(option.Name),
            Command command => command.Aliases.Prepend(command.Name),
            _ => [symbol.Name],
        };

    /// <summary>
    /// Edit distance for "did you mean", counting a swap of two neighbouring letters as one edit
    /// (optimal string alignment), so <c>subscirbe</c> is one typo away from <c>subscribe</c>, not two.
    /// </summary>
    public static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), substitution);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }
}

using System.CommandLine.Parsing;

namespace CtxRelay.Cli.Internal;

/// <summary>
/// The relay's rule for channel and group names (docs/protocol.md), checked while parsing so a bad name is
/// a usage error naming the rule, not a failed WebSocket handshake.
/// </summary>
internal static class ChannelNames
{
    private const string Rule = "1–200 characters: letters, digits and . _ - : @, starting with a letter or digit";

    public static bool IsValid(string name)
        => name.Length is > 0 and <= 200
           && char.IsAsciiLetterOrDigit(name[0])
           && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or ':' or '@');

    /// <summary>A validator for an argument or option whose value is a channel (or group) name.</summary>
    public static Action<SymbolResult> Validator(string what) => result =>
    {
        foreach (var token in result.Tokens)
        {
            if (!IsValid(token.Value))
            {
                result.AddError($"'{token.Value}' is not a valid {what} name ({Rule})");
            }
        }
    };
}

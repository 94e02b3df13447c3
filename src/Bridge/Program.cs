using CtxRelay.Bridge;
using CtxRelay.Shared;

var parseResult = BridgeCli.CreateRootCommand().Parse(args);
if (UsageErrors.Report(parseResult, "contextrelay-bridge", Console.Error) is { } usage)
{
    return usage; // one line naming the nearest valid command or option, exit code 2
}

return await parseResult.InvokeAsync().ConfigureAwait(false);

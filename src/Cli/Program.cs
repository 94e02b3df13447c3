using CtxRelay.Cli;

return await RelayCli.InvokeAsync(args).ConfigureAwait(false);

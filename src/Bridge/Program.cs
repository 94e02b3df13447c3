using CtxRelay.Bridge;

return await BridgeCli.CreateRootCommand().Parse(args).InvokeAsync().ConfigureAwait(false);

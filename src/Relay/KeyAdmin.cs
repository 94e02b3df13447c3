using CtxRelay.Relay.Auth;
using CtxRelay.Relay.Storage;

namespace CtxRelay.Relay;

/// <summary>What the <c>keys</c> commands and the first start of <c>serve</c> do.</summary>
internal static class KeyAdmin
{
    public const string DevWorkspace = "dev";

    public static async Task<string> CreateAsync(IRelayStore store, string workspace, string plan, bool readOnly, CancellationToken cancellationToken)
    {
        if (!ApiKeys.IsValidWorkspaceName(workspace))
        {
            throw new ArgumentException($"'{workspace}' is not a valid workspace name: use 1–64 letters, digits, '-', '_' or '.'.", nameof(workspace));
        }

        var key = ApiKeys.Generate();
        await store.CreateKeyAsync(ApiKeys.CreateRecord(key, workspace, plan, readOnly ? KeyScope.ReadOnly : KeyScope.ReadWrite, DateTimeOffset.UtcNow), cancellationToken).ConfigureAwait(false);
        return key;
    }

    /// <summary>
    /// With no keys in the store yet, creates the <c>dev</c> workspace — with <c>CONTEXTRELAY_API_KEY</c>
    /// as its key when that is set — and returns the key to print; null when keys exist already.
    /// </summary>
    public static async Task<(string Key, bool FromEnvironment)?> BootstrapAsync(IRelayStore store, string? environmentKey, CancellationToken cancellationToken)
    {
        if ((await store.ListKeysAsync(cancellationToken).ConfigureAwait(false)).Count > 0)
        {
            return null;
        }

        if (!string.IsNullOrWhiteSpace(environmentKey))
        {
            environmentKey = environmentKey.Trim();
            if (!ApiKeys.IsWellFormed(environmentKey))
            {
                throw new ArgumentException("CONTEXTRELAY_API_KEY is set but is not a valid key: it must be cr_live_ followed by at least 32 letters and digits. Unset it to have one generated.");
            }

            var record = ApiKeys.CreateRecord(environmentKey, DevWorkspace, "default", KeyScope.ReadWrite, DateTimeOffset.UtcNow);
            try
            {
                await store.CreateKeyAsync(record, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception) when (cancellationToken.IsCancellationRequested is false)
            {
                if (await store.FindKeyAsync(record.Hash, cancellationToken).ConfigureAwait(false) is null)
                {
                    throw;
                }

                return null; // another relay sharing this store bootstrapped the same key first
            }

            return (environmentKey, true);
        }

        return (await CreateAsync(store, DevWorkspace, "default", readOnly: false, cancellationToken).ConfigureAwait(false), false);
    }
}

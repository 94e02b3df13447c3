namespace CtxRelay;

/// <summary>Reads payloads for pull_context and the <c>contextrelay://</c> resources.</summary>
internal sealed class PayloadReader(ContextRelay relay, ToolErrors errors, PayloadCache cache)
{
    /// <summary>
    /// The whole text behind <paramref name="url"/>, decrypted when the URL has a key. Paging asks for the
    /// same payload once per page; the cache makes that one download instead of one per page.
    /// </summary>
    public Task<string> ReadTextAsync(string url, CancellationToken cancellationToken)
        => errors.GuardAsync(url, async () =>
        {
            if (cache.TryGet(url.Trim(), out var cached))
            {
                return cached;
            }

            // Without its #key= fragment an encrypted payload raises RelayDecryptionException in the SDK.
            var text = await relay.PullAsync(url, progress: null, cancellationToken).ConfigureAwait(false);
            cache.Add(url.Trim(), text);
            return text;
        });

    /// <summary>
    /// Writes the whole payload, exactly as stored (decrypted when the URL has a key), to <paramref name="path"/>
    /// and returns the number of bytes written. The file appears only once complete: the download goes to a
    /// temporary file next to it, which then replaces it.
    /// </summary>
    public Task<long> SaveAsync(string url, string path, CancellationToken cancellationToken)
        => errors.GuardAsync(url, async () =>
        {
            var temporary = $"{path}.{Guid.NewGuid():N}.partial";
            try
            {
                long written;
                var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous);
                await using (file.ConfigureAwait(false))
                {
                    written = await relay.PullToStreamAsync(url, file, progress: null, cancellationToken).ConfigureAwait(false);
                }

                File.Move(temporary, path, overwrite: true);
                return written;
            }
            catch
            {
                TryDelete(temporary);
                throw;
            }
        });

    /// <summary>Whether a URL carries a decryption key in its <c>#key=</c> fragment.</summary>
    public static bool HasKey(string url)
    {
        var hash = url.IndexOf('#', StringComparison.Ordinal);
        if (hash < 0)
        {
            return false;
        }

        foreach (var part in url[(hash + 1)..].Split('&', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (part.StartsWith("key=", StringComparison.Ordinal) && part.Length > "key=".Length)
            {
                return true;
            }
        }

        return false;
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

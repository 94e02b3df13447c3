namespace CtxRelay.Internal;

/// <summary>A payload reference as callers pass it: a full URL (with or without <c>#key=</c>) or a bare id.</summary>
internal readonly record struct RelayAddress(string Id, string? Key)
{
    public static RelayAddress Parse(string urlOrId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(urlOrId);
        var text = urlOrId.Trim();
        string? key = null;
        var hash = text.IndexOf('#', StringComparison.Ordinal);
        if (hash >= 0)
        {
            key = ParseFragmentKey(text[(hash + 1)..]);
            text = text[..hash];
        }

        var query = text.IndexOf('?', StringComparison.Ordinal);
        if (query >= 0)
        {
            text = text[..query];
        }

        text = text.TrimEnd('/');
        var slash = text.LastIndexOf('/');
        var id = slash >= 0 ? text[(slash + 1)..] : text;
        if (id.Length == 0 || !IsIdCharacters(id))
        {
            throw new ArgumentException($"'{urlOrId}' is neither a ContextRelay URL (…/pull/<id>) nor a payload id.", nameof(urlOrId));
        }

        return new RelayAddress(id, key);
    }

    private static string? ParseFragmentKey(string fragment)
    {
        foreach (var part in fragment.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part.StartsWith("key=", StringComparison.Ordinal))
            {
                var value = Uri.UnescapeDataString(part[4..]);
                return value.Length == 0 ? null : value;
            }
        }

        return null;
    }

    private static bool IsIdCharacters(string id)
    {
        foreach (var c in id)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                return false;
            }
        }

        return true;
    }
}

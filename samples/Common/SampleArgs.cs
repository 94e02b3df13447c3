using System.Globalization;

namespace CtxRelay.Samples;

/// <summary>
/// The few <c>--name value</c> options a sample takes. Unknown options are usage errors, so a typo never
/// silently runs against the default channel.
/// </summary>
public sealed class SampleArgs
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    private SampleArgs()
    {
    }

    /// <summary>Parses <paramref name="args"/>, accepting only the option names in <paramref name="known"/>.</summary>
    public static SampleArgs Parse(IReadOnlyList<string> args, params string[] known)
    {
        ArgumentNullException.ThrowIfNull(args);
        var parsed = new SampleArgs();
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            if (!known.Contains(name, StringComparer.Ordinal))
            {
                throw new SampleUsageException($"unknown option '{name}'. Options: {string.Join(", ", known)}.");
            }

            if (i + 1 >= args.Count)
            {
                throw new SampleUsageException($"{name} needs a value.");
            }

            parsed._values[name] = args[++i];
        }

        return parsed;
    }

    public string Get(string name, string fallback) => _values.GetValueOrDefault(name, fallback);

    public string? Get(string name) => _values.GetValueOrDefault(name);

    public int GetInt(string name, int fallback)
    {
        if (!_values.TryGetValue(name, out var text))
        {
            return fallback;
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0
            ? value
            : throw new SampleUsageException($"{name} must be a positive whole number, not '{text}'.");
    }
}

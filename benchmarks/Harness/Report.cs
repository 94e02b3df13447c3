using System.Globalization;

namespace CtxRelay.Harness;

/// <summary>One line of the table: a figure, its reference from the same run, the ratio and the target.</summary>
internal sealed record Row(string Engine, string Measurement, string Value, string Reference, double? Ratio, string Target, bool? Met);

/// <summary>Collects rows and prints them as the one markdown table.</summary>
internal sealed class Report
{
    private readonly List<Row> _rows = [];

    public void Add(Row row)
    {
        _rows.Add(row);
        Log.Line($"  {row.Measurement}: {row.Value} | ref {row.Reference} | {Format.Ratio(row.Ratio)} | {row.Target} {Format.Met(row.Met)}");
    }

    public void Print(TextWriter output)
    {
        output.WriteLine("| engine | measurement | relay / SDK | reference (same run) | ratio | target | met |");
        output.WriteLine("| --- | --- | --- | --- | --- | --- | --- |");
        foreach (var row in _rows)
        {
            output.WriteLine($"| {row.Engine} | {row.Measurement} | {row.Value} | {row.Reference} | {Format.Ratio(row.Ratio)} | {row.Target} | {Format.Met(row.Met)} |");
        }
    }
}

/// <summary>Progress goes to stderr, so stdout is only the table.</summary>
internal static class Log
{
    public static void Line(string text) => Console.Error.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] {text}");
}

internal static class Format
{
    public static string Ratio(double? ratio) => ratio is { } r ? r.ToString("0.00", CultureInfo.InvariantCulture) + "×" : "—";

    public static string Met(bool? met) => met switch { true => "yes", false => "**no**", null => "—" };

    public static string Ms(double ms) => ms.ToString(ms < 10 ? "0.00" : "0.0", CultureInfo.InvariantCulture) + " ms";

    public static string PerSecond(double value) => value.ToString("#,0", CultureInfo.InvariantCulture) + "/s";

    public static string MiB(double bytes) => (bytes / 1024 / 1024).ToString("0.0", CultureInfo.InvariantCulture) + " MiB";

    public static string MBps(double bytesPerSecond) => (bytesPerSecond / 1e6).ToString("#,0", CultureInfo.InvariantCulture) + " MB/s";

    public static string Times(double value) => value.ToString("0.00", CultureInfo.InvariantCulture) + "×";
}

internal static class Stats
{
    public static double Median(IEnumerable<double> values) => Percentile(values, 50);

    /// <summary>Nearest-rank percentile.</summary>
    public static double Percentile(IEnumerable<double> values, double percent)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            throw new InvalidOperationException("no samples");
        }

        var rank = (int)Math.Ceiling(percent / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}

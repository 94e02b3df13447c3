using System.Globalization;

namespace CtxRelay.Harness;

/// <summary>Resident memory of a process from /proc/PID/status; the peak (VmHWM) can be reset per phase.</summary>
internal static class ProcessMemory
{
    public static long Rss(int pid) => Read(pid, "VmRSS:");

    public static long Peak(int pid) => Read(pid, "VmHWM:");

    /// <summary>The part of the RSS that is mapped files (e.g. the SQLite database read through mmap): page cache, not heap.</summary>
    public static long FileBacked(int pid) => Read(pid, "RssFile:");

    /// <summary>Resets VmHWM to the current RSS (Linux ≥ 4.0: "5" into clear_refs), so a phase's peak is its own.</summary>
    public static void ResetPeak(int pid) => File.WriteAllText($"/proc/{pid}/clear_refs", "5");

    /// <summary>The soft limit of open files of this process (children inherit it).</summary>
    public static long OpenFilesLimit()
    {
        var line = File.ReadLines("/proc/self/limits").First(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        var soft = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
        return soft == "unlimited" ? long.MaxValue : long.Parse(soft, CultureInfo.InvariantCulture);
    }

    private static long Read(int pid, string field)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith(field, StringComparison.Ordinal));
        return long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
    }
}

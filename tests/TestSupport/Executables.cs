namespace CtxRelay.Testing;

/// <summary>Finding the real programs (redis-server, nginx, wrk, …) that tests and benchmarks drive.</summary>
public static class Executables
{
    /// <summary>The full path of <paramref name="name"/> on PATH (and the sbin folders, where nginx lives), or null.</summary>
    public static string? Find(string name)
        => (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/usr/local/sbin", "/sbin"])
            .Select(directory => Path.Combine(directory, name))
            .FirstOrDefault(File.Exists);

    /// <summary>Like <see cref="Find"/>, but fails with how to install it.</summary>
    public static string Require(string name, string debianPackage)
        => Find(name) ?? throw new InvalidOperationException(
            $"{name} is not on PATH. Install it: `apt-get install -y {debianPackage}` (Debian/Ubuntu).");
}

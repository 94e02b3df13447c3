using System.IO.Compression;
using System.Xml.Linq;
using CtxRelay.Testing;

namespace CtxRelay.Packaging.Tests;

/// <summary>
/// What <c>bash eng/pack-local.sh FEED TOOLS</c> leaves behind, run once per test class into temporary folders:
/// the packages in the feed and the tools installed from it.
/// </summary>
public sealed class LocalFeed : IAsyncLifetime
{
    /// <summary>Packing the whole solution from scratch on a busy 2-core CI machine.</summary>
    private static readonly TimeSpan PackTimeout = TimeSpan.FromMinutes(12);

    private readonly TemporaryDirectory _root = new("pack");

    public string FeedDirectory => Path.Combine(_root.Path, "feed");

    public string ToolDirectory => Path.Combine(_root.Path, "tools");

    /// <summary>A scratch folder under this fixture's temporary folder, removed with it.</summary>
    public string Scratch(string name) => Directory.CreateDirectory(Path.Combine(_root.Path, "scratch", name)).FullName;

    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>eng/tools.txt: the tools the script installs, one line each.</summary>
    public static IReadOnlyList<ToolEntry> ListedTools { get; } = File.ReadAllLines(Path.Combine(RepositoryRoot, "eng", "tools.txt"))
        .Select(line => line.Trim())
        .Where(line => line.Length > 0 && !line.StartsWith('#'))
        .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        .Select(parts => new ToolEntry(parts[0], parts[1]))
        .ToList();

    public string ScriptOutput { get; private set; } = string.Empty;

    public IReadOnlyList<Package> Packages { get; private set; } = [];

    public string CommandPath(ToolEntry tool) => Path.Combine(ToolDirectory, tool.Command);

    public Package PackageOf(ToolEntry tool) => Packages.Single(p => p.Id == tool.PackageId);

    public async Task InitializeAsync()
    {
        var run = await ChildProcess.RunAsync(
            "bash",
            [Path.Combine(RepositoryRoot, "eng", "pack-local.sh"), FeedDirectory, ToolDirectory],
            PackTimeout,
            ScriptEnvironment());
        ScriptOutput = run.Output;
        Assert.True(run.ExitCode == 0, $"eng/pack-local.sh failed with exit code {run.ExitCode}:\n{run.Output}");
        Packages = Directory.GetFiles(FeedDirectory, "*.nupkg").Select(Package.Read).ToList();
    }

    private Dictionary<string, string?> ScriptEnvironment()
    {
        var environment = ChildProcess.DotnetEnvironment();
        environment["PACK_ARTIFACTS_PATH"] = Path.Combine(_root.Path, "artifacts"); // never the working tree's bin/ and obj/ (other tests use them)
        return environment;
    }

    public Task DisposeAsync()
    {
        _root.Dispose();
        return Task.CompletedTask;
    }

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "ContextRelay.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No ContextRelay.sln above {AppContext.BaseDirectory}.");
    }
}

public sealed record ToolEntry(string PackageId, string Command)
{
    public override string ToString() => Command;
}

/// <summary>A .nupkg's nuspec metadata and file list.</summary>
public sealed record Package(string FileName, XElement Metadata, IReadOnlySet<string> Entries, string? ToolCommand)
{
    public string Id => Value("id");

    public string Version => Value("version");

    public IEnumerable<string> PackageTypes => Metadata.Elements().Where(e => e.Name.LocalName == "packageTypes")
        .Elements().Select(e => (string?)e.Attribute("name") ?? string.Empty);

    public string Value(string name) => Element(name)?.Value ?? string.Empty;

    public XElement? Element(string name) => Metadata.Elements().FirstOrDefault(e => e.Name.LocalName == name);

    public static Package Read(string path)
    {
        using var zip = ZipFile.OpenRead(path);
        var nuspec = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal) && !e.FullName.Contains('/', StringComparison.Ordinal));
        XElement metadata;
        using (var stream = nuspec.Open())
        {
            metadata = XDocument.Load(stream).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        }

        // A tool package names its command in tools/<tfm>/any/DotnetToolSettings.xml.
        string? command = null;
        if (zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("/DotnetToolSettings.xml", StringComparison.Ordinal)) is { } settings)
        {
            using var stream = settings.Open();
            command = (string?)XDocument.Load(stream).Descendants("Command").Single().Attribute("Name");
        }

        return new Package(Path.GetFileName(path), metadata, zip.Entries.Select(e => e.FullName).ToHashSet(), command);
    }
}

namespace CtxRelay.Console.Tests;

/// <summary>
/// The console imports a committed copy of the JavaScript SDK's build (src/Relay/Console/sdk). Where clients/js has
/// been built (CI runs its npm tests before these), the copy must be that build: eng/build-console.sh refreshes it.
/// </summary>
public class SdkCopyTests
{
    [Fact]
    public void The_console_carries_the_current_build_of_the_javascript_sdk()
    {
        var root = RepositoryRoot();
        var copy = Path.Combine(root, "src", "Relay", "Console", "sdk");
        var copied = Directory.GetFiles(copy, "*.js").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Contains("index.js", copied);

        var built = Path.Combine(root, "clients", "js", "dist", "src");
        if (!Directory.Exists(built))
        {
            return; // clients/js is not built here (no node): the committed copy is all there is to serve
        }

        Assert.Equal(Directory.GetFiles(built, "*.js").Select(Path.GetFileName).Order(StringComparer.Ordinal), copied);
        foreach (var name in copied)
        {
            var fresh = File.ReadAllText(Path.Combine(built, name!));
            var stale = File.ReadAllText(Path.Combine(copy, name!));
            Assert.True(fresh == stale, $"src/Relay/Console/sdk/{name} differs from clients/js's build: run eng/build-console.sh and commit the result.");
        }
    }

    private static string RepositoryRoot()
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

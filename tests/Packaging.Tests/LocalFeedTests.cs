using System.Diagnostics;
using System.Text.Json;
using CtxRelay.Testing;

namespace CtxRelay.Packaging.Tests;

/// <summary>
/// `bash eng/pack-local.sh` as a user runs it: every package lands in the feed with complete metadata, and
/// every tool installed from it runs from the tool folder.
/// </summary>
public sealed class LocalFeedTests(LocalFeed feed) : IClassFixture<LocalFeed>
{
    /// <summary>The library packages; the tool packages are the ones eng/tools.txt lists.</summary>
    private static readonly string[] Libraries = ["ContextRelay.Sdk", "ContextRelay.Extensions.AI"];

    private static readonly TimeSpan ToolTimeout = TimeSpan.FromSeconds(60);

    /// <summary>A restore and build of a small project on a busy 2-core CI machine.</summary>
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(5);

    [Fact]
    public void The_feed_holds_every_tool_and_library_and_nothing_else()
    {
        var expected = LocalFeed.ListedTools.Select(t => t.PackageId).Concat(Libraries).ToHashSet();
        var packed = feed.Packages.Select(p => p.Id).ToHashSet();
        var missing = expected.Except(packed).ToList();
        Assert.True(missing.Count == 0, $"Not packed: {string.Join(", ", missing)}.\n{feed.ScriptOutput}");
        var unexpected = feed.Packages.Where(p => !expected.Contains(p.Id)).Select(p => p.ToolCommand is { } command ? $"{p.Id} (a tool: add the line '{p.Id} {command}' to eng/tools.txt)" : p.Id).ToList();
        Assert.True(unexpected.Count == 0, $"Packed but not expected: {string.Join(", ", unexpected)}. Tests, samples and benchmarks set IsPackable=false.");
        Assert.DoesNotContain("warning", feed.ScriptOutput, StringComparison.OrdinalIgnoreCase);
        Assert.Contains($"export PATH=\"{feed.ToolDirectory}:$PATH\"", feed.ScriptOutput, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_package_carries_license_readme_and_repository_metadata()
    {
        Assert.NotEmpty(feed.Packages);
        foreach (var package in feed.Packages)
        {
            var what = $"{package.FileName}: ";
            var license = package.Element("license");
            Assert.True(license is not null, what + "no <license>");
            Assert.Equal("expression", (string?)license.Attribute("type"));
            Assert.Equal("MIT", license.Value);

            Assert.Equal("README.md", package.Value("readme"));
            Assert.Contains("README.md", package.Entries);

            var repository = package.Element("repository");
            Assert.True(repository is not null, what + "no <repository>");
            Assert.Equal("git", (string?)repository.Attribute("type"));
            Assert.StartsWith("https://", (string?)repository.Attribute("url"), StringComparison.Ordinal);
            Assert.StartsWith("https://", package.Value("projectUrl"), StringComparison.Ordinal);

            Assert.False(string.IsNullOrWhiteSpace(package.Value("description")), what + "no description");
            Assert.False(string.IsNullOrWhiteSpace(package.Value("authors")), what + "no authors");
            Assert.False(string.IsNullOrWhiteSpace(package.Value("tags")), what + "no tags");
        }
    }

    [Fact]
    public void Every_listed_tool_is_a_tool_package_installed_under_its_command()
    {
        foreach (var tool in LocalFeed.ListedTools)
        {
            var package = feed.PackageOf(tool);
            Assert.Contains("DotnetTool", package.PackageTypes);
            Assert.Equal(tool.Command, package.ToolCommand);
            Assert.True(File.Exists(feed.CommandPath(tool)), $"{tool.Command} is not in {feed.ToolDirectory}.\n{feed.ScriptOutput}");
        }

        foreach (var library in Libraries)
        {
            var package = feed.Packages.Single(p => p.Id == library);
            Assert.DoesNotContain("DotnetTool", package.PackageTypes);
            Assert.Contains($"lib/net10.0/{library}.dll", package.Entries);
        }
    }

    [Fact]
    public async Task A_project_restores_builds_and_runs_against_the_library_packages_from_the_feed()
    {
        var project = feed.Scratch("consumer");
        var packages = feed.Scratch("consumer-packages"); // a fresh NuGet cache: the packages must come from this feed
        var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } folder
            ? folder
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

        // ContextRelay.* only from the feed; their dependencies from the machine's NuGet cache (which restoring the
        // repository filled), so the test needs no network.
        await File.WriteAllTextAsync(Path.Combine(project, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="contextrelay-local" value="{feed.FeedDirectory}" />
                <add key="cache" value="{cache}" />
              </packageSources>
              <packageSourceMapping>
                <packageSource key="contextrelay-local"><package pattern="ContextRelay.*" /></packageSource>
                <packageSource key="cache"><package pattern="*" /></packageSource>
              </packageSourceMapping>
            </configuration>
            """);
        await File.WriteAllTextAsync(Path.Combine(project, "consumer.csproj"), """
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
              </PropertyGroup>
            </Project>
            """);
        await File.WriteAllTextAsync(Path.Combine(project, "Program.cs"), """
            using CtxRelay;
            using CtxRelay.Extensions.AI;

            using var relay = new ContextRelay(ContextRelayOptions.Default with { BaseUrl = new Uri("http://127.0.0.1:9") });
            var tools = new ContextRelayTools(relay);
            Console.WriteLine($"{typeof(ContextRelay).Assembly.GetName().Name} {typeof(ContextRelay).Assembly.GetName().Version}, {tools.GetType().Assembly.GetName().Name}");
            """);

        var environment = ChildProcess.DotnetEnvironment();
        environment["NUGET_PACKAGES"] = packages;
        var add = await ChildProcess.RunAsync("dotnet", ["add", "package", "ContextRelay.Extensions.AI"], BuildTimeout, environment, project);
        Assert.True(add.ExitCode == 0, $"dotnet add package ContextRelay.Extensions.AI failed:\n{add.Output}");
        Assert.True(Directory.Exists(Path.Combine(packages, "contextrelay.sdk")), "ContextRelay.Sdk did not come along as the dependency of ContextRelay.Extensions.AI.");

        var run = await ChildProcess.RunAsync("dotnet", ["run"], BuildTimeout, environment, project);
        Assert.True(run.ExitCode == 0, $"dotnet run of a project using the packages failed:\n{run.Output}");
        Assert.Contains($"ContextRelay.Sdk {feed.Packages.Single(p => p.Id == "ContextRelay.Sdk").Version}.0, ContextRelay.Extensions.AI", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Each_command_line_tool_answers_help_and_version_from_the_tool_folder()
    {
        // The MCP server speaks only MCP on stdio (it has no --help); Mcp_tool_answers_the_initialize_handshake covers it.
        var tools = LocalFeed.ListedTools.Where(t => !feed.PackageOf(t).PackageTypes.Contains("McpServer")).ToList();
        Assert.NotEmpty(tools);
        foreach (var tool in tools)
        {
            var help = await ChildProcess.RunAsync(feed.CommandPath(tool), ["--help"], ToolTimeout);
            Assert.True(help.ExitCode == 0, $"{tool} --help exited with {help.ExitCode}:\n{help.Output}");
            Assert.Contains(tool.Command, help.Output, StringComparison.Ordinal);

            if (help.Output.Contains("--version", StringComparison.Ordinal))
            {
                var version = await ChildProcess.RunAsync(feed.CommandPath(tool), ["--version"], ToolTimeout);
                Assert.True(version.ExitCode == 0, $"{tool} --version exited with {version.ExitCode}:\n{version.Output}");
                Assert.StartsWith(feed.PackageOf(tool).Version, version.Output.Trim(), StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public async Task Relay_tool_serves_from_the_tool_store_with_its_appsettings()
    {
        var relay = LocalFeed.ListedTools.Single(t => t.Command == "contextrelay-relay");

        // The relay's content root is its own folder: appsettings.json must be installed next to the dll.
        var dll = Directory.GetFiles(Path.Combine(feed.ToolDirectory, ".store"), "contextrelay-relay.dll", SearchOption.AllDirectories);
        Assert.Single(dll);
        Assert.True(File.Exists(Path.Combine(Path.GetDirectoryName(dll[0])!, "appsettings.json")), $"No appsettings.json next to {dll[0]}.");

        var url = $"http://127.0.0.1:{RelayProcess.FreePort()}";
        var start = ChildProcess.Start(
            feed.CommandPath(relay),
            ["serve", "--urls", url, "--data", feed.Scratch("relay-data")],
            new Dictionary<string, string?> { ["CONTEXTRELAY_API_KEY"] = null });
        using var process = Process.Start(start)!;
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var devKey = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }

            output.Enqueue(line);
            if (line.Contains("export CONTEXTRELAY_API_KEY=cr_live_", StringComparison.Ordinal))
            {
                devKey.TrySetResult(line.Trim());
            }
        }

        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            Assert.StartsWith("export CONTEXTRELAY_API_KEY=cr_live_", await Wait.For(devKey.Task, "the first start's dev key line", ToolTimeout), StringComparison.Ordinal);

            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            string? health = null;
            await Wait.Until(
                async () =>
                {
                    Assert.False(process.HasExited, "The relay exited:\n" + string.Join('\n', output));
                    try
                    {
                        health = await http.GetStringAsync(new Uri(url + "/healthz"));
                        return true;
                    }
                    catch (HttpRequestException)
                    {
                        return false;
                    }
                },
                "the installed relay's /healthz",
                ToolTimeout);
            using var json = JsonDocument.Parse(health!);
            Assert.Equal("ok", json.RootElement.GetProperty("status").GetString());
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task Mcp_tool_answers_the_initialize_handshake_and_lists_push_context()
    {
        var mcp = LocalFeed.ListedTools.Single(t => t.Command == "contextrelay-mcp");
        Assert.Contains("McpServer", feed.PackageOf(mcp).PackageTypes);

        // No relay is needed for the handshake: the server starts whatever its settings, and tools report them when called.
        var start = ChildProcess.Start(
            feed.CommandPath(mcp),
            [],
            new Dictionary<string, string?>
            {
                ["CONTEXTRELAY_URL"] = "http://127.0.0.1:9",
                ["CONTEXTRELAY_API_KEY"] = null,
            });
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.StandardInput.WriteLineAsync("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"packaging-test","version":"1"}}}""");
            await process.StandardInput.FlushAsync();
            using (var initialize = await ReadResponseAsync(process, 1, stderr))
            {
                var result = initialize.RootElement.GetProperty("result");
                Assert.Contains("contextrelay", result.GetProperty("serverInfo").GetProperty("name").GetString(), StringComparison.OrdinalIgnoreCase);
                Assert.True(result.GetProperty("capabilities").TryGetProperty("tools", out _), "The server does not announce tools.");
            }

            await process.StandardInput.WriteLineAsync("""{"jsonrpc":"2.0","method":"notifications/initialized"}""");
            await process.StandardInput.WriteLineAsync("""{"jsonrpc":"2.0","id":2,"method":"tools/list"}""");
            await process.StandardInput.FlushAsync();
            using var list = await ReadResponseAsync(process, 2, stderr);
            var names = list.RootElement.GetProperty("result").GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("name").GetString()).ToList();
            Assert.Contains("push_context", names);

            process.StandardInput.Close(); // the client going away ends the server
            await Wait.For(process.WaitForExitAsync().ContinueWith(_ => true, TaskScheduler.Default), "the MCP server to exit once its stdin closes", ToolTimeout);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    /// <summary>Reads stdout lines (every one must be JSON-RPC) until the response with <paramref name="id"/>.</summary>
    private static async Task<JsonDocument> ReadResponseAsync(Process process, int id, Task<string> stderr)
    {
        while (true)
        {
            var line = await Wait.For(process.StandardOutput.ReadLineAsync(), $"the MCP server's response {id}", ToolTimeout);
            Assert.True(line is not null, $"The MCP server closed stdout before response {id}. stderr:\n{(stderr.IsCompleted ? await stderr : string.Empty)}");
            var message = JsonDocument.Parse(line);
            if (message.RootElement.TryGetProperty("id", out var got) && got.GetInt32() == id)
            {
                return message;
            }

            message.Dispose();
        }
    }
}

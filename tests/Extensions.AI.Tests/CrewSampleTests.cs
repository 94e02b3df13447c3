using System.Diagnostics;
using System.Text.RegularExpressions;
using CtxRelay.Testing;

namespace CtxRelay.Extensions.AI.Tests;

/// <summary>samples/Crew runs as a user runs it: one command, with its own relay or against a configured one.</summary>
public sealed class CrewSampleTests(RelayFixture relay) : IClassFixture<RelayFixture>
{
    private const string Unsupported = "\"Payloads are kept forever, so a URL can be handed on years later.\"";

    [Fact]
    public async Task With_nothing_configured_it_starts_a_relay_and_the_crew_finishes()
    {
        var (exitCode, output) = await RunAsync(url: null, apiKey: null);

        Assert.True(exitCode == 0, output);
        Assert.Contains("(in-process)", output);
        AssertCrewFinished(output);
    }

    [Fact]
    public async Task Against_a_configured_relay_the_payloads_are_stored_there()
    {
        var (exitCode, output) = await RunAsync(relay.BaseUrl, relay.ApiKey);

        Assert.True(exitCode == 0, output);
        Assert.DoesNotContain("(in-process)", output);
        AssertCrewFinished(output);
        var draftUrl = Regex.Match(output, @"^writer: Draft pushed .*: (?<url>\S+)$", RegexOptions.Multiline).Groups["url"].Value;
        Assert.StartsWith(relay.BaseUrl + "/pull/", draftUrl);
        using var client = relay.CreateClient();
        Assert.Contains("Claim 9. Payloads are kept forever", await client.PullAsync(draftUrl));
    }

    private static void AssertCrewFinished(string output)
    {
        Assert.Matches(@"(?m)^researcher: Research pushed \(43,372 characters\): http\S+/pull/\S+$", output);
        Assert.Matches(@"(?m)^writer: Draft pushed \(9 claims from 43,372 characters of research\): http\S+/pull/\S+$", output);
        Assert.Contains($"fact-checker: Fact check: 8 of 9 claims are supported by the research; unsupported: {Unsupported}", output);

        // The report is more than two pages: the writer read it in three, following the notes.
        Assert.Equal(3, Regex.Count(output, @"writer -> pull_context\("));
        Assert.Contains("offset: 40000)", output);
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string? url, string? apiKey)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "contextrelay-sample-crew.dll"));
        start.Environment["CONTEXTRELAY_URL"] = url;
        start.Environment["CONTEXTRELAY_API_KEY"] = apiKey;
        start.Environment["OPENAI_API_KEY"] = null; // the scripted stand-in, never a real model

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await Wait.For(process.WaitForExitAsync().ContinueWith(_ => true, TaskScheduler.Default), "the crew sample to finish", TimeSpan.FromSeconds(120));
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        return (process.ExitCode, await stdout + await stderr);
    }
}

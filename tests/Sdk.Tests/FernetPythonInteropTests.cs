using System.ComponentModel;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace CtxRelay.Sdk.Tests;

/// <summary>
/// Round trips through a real <c>python3</c> child process running <c>cryptography.fernet</c>.
/// These tests fail, not skip, when python3 or the cryptography package is missing.
/// </summary>
public sealed class FernetPythonInteropTests
{
    private static readonly TimeSpan ProcessTimeout = TimeSpan.FromSeconds(60);

    private static readonly Lazy<Task> PythonReady = new(CheckPythonAsync);

    // argv[1] = key; stdin = token; stdout = plaintext bytes.
    private const string PythonDecrypt = """
        import sys
        from cryptography.fernet import Fernet
        token = sys.stdin.buffer.read()
        sys.stdout.buffer.write(Fernet(sys.argv[1].encode("ascii")).decrypt(token))
        """;

    // stdin = plaintext bytes; stdout = a fresh key, a newline, then the token.
    private const string PythonEncrypt = """
        import sys
        from cryptography.fernet import Fernet
        key = Fernet.generate_key()
        token = Fernet(key).encrypt(sys.stdin.buffer.read())
        sys.stdout.buffer.write(key + b"\n" + token)
        """;

    public static TheoryData<string, int> Sizes => new()
    {
        { "empty", 0 },
        { "one byte", 1 },
        { "one block minus one", 15 },
        { "one block", 16 },
        { "4 KiB", 4096 },
        { "~1 MB", 1_000_003 },
    };

    [Theory]
    [MemberData(nameof(Sizes))]
    public async Task CSharp_encrypts_python_decrypts(string label, int size)
    {
        await PythonReady.Value;
        string key = Fernet.GenerateKey();
        byte[] plaintext = RandomNumberGenerator.GetBytes(size);

        string token = Fernet.Encrypt(key, plaintext);
        byte[] decrypted = await RunPythonAsync(PythonDecrypt, Encoding.ASCII.GetBytes(token), key);

        Assert.True(plaintext.AsSpan().SequenceEqual(decrypted), $"{label}: Python decrypted different bytes");
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public async Task Python_encrypts_csharp_decrypts(string label, int size)
    {
        await PythonReady.Value;
        byte[] plaintext = RandomNumberGenerator.GetBytes(size);

        var (key, token) = await PythonEncryptAsync(plaintext);

        Assert.True(plaintext.AsSpan().SequenceEqual(Fernet.Decrypt(key, token, TimeSpan.FromMinutes(5))), $"{label}: C# decrypted different bytes");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(20_000)] // ~1 MB of multi-byte UTF-8
    public async Task Non_ascii_text_round_trips_both_ways(int repeat)
    {
        await PythonReady.Value;
        string text = string.Concat(Enumerable.Repeat("Grüße 日本語 한국어 🔐 👍🏽 👨‍👩‍👧\r\n", repeat));
        byte[] utf8 = Encoding.UTF8.GetBytes(text);

        string key = Fernet.GenerateKey();
        byte[] fromPython = await RunPythonAsync(PythonDecrypt, Encoding.ASCII.GetBytes(Fernet.Encrypt(key, text)), key);
        Assert.Equal(text, Encoding.UTF8.GetString(fromPython));

        var (pythonKey, pythonToken) = await PythonEncryptAsync(utf8);
        Assert.Equal(text, Fernet.DecryptString(pythonKey, pythonToken));
    }

    [Fact]
    public async Task Python_rejects_a_token_made_with_another_key()
    {
        await PythonReady.Value;
        string token = Fernet.Encrypt(Fernet.GenerateKey(), "secret");

        var result = await TryRunPythonAsync(PythonDecrypt, Encoding.ASCII.GetBytes(token), Fernet.GenerateKey());

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("InvalidToken", result.Stderr, StringComparison.Ordinal);
    }

    private static async Task<(string Key, string Token)> PythonEncryptAsync(byte[] plaintext)
    {
        string output = Encoding.ASCII.GetString(await RunPythonAsync(PythonEncrypt, plaintext));
        int newline = output.IndexOf('\n', StringComparison.Ordinal);
        Assert.True(newline > 0, $"unexpected output from python3: {output[..Math.Min(output.Length, 200)]}");
        return (output[..newline], output[(newline + 1)..]);
    }

    private static async Task<byte[]> RunPythonAsync(string script, byte[] stdin, params string[] args)
    {
        var result = await TryRunPythonAsync(script, stdin, args);
        Assert.True(result.ExitCode == 0, $"python3 exited with code {result.ExitCode}:\n{result.Stderr}");
        return result.Stdout;
    }

    private static async Task<(int ExitCode, byte[] Stdout, string Stderr)> TryRunPythonAsync(string script, byte[] stdin, params string[] args)
    {
        var startInfo = new ProcessStartInfo("python3")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        startInfo.ArgumentList.Add("-c");
        startInfo.ArgumentList.Add(script);
        foreach (string arg in args)
        {
            startInfo.ArgumentList.Add(arg);
        }

        using var process = new Process { StartInfo = startInfo };
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            Assert.Fail($"Cannot start python3 ({ex.Message}). The Fernet interop tests need python3 on PATH with the "
                + "'cryptography' package (pip install cryptography); they do not skip.");
        }

        using var timeout = new CancellationTokenSource(ProcessTimeout);
        using var stdout = new MemoryStream();
        Task readStdout = process.StandardOutput.BaseStream.CopyToAsync(stdout, timeout.Token);
        Task<string> readStderr = process.StandardError.ReadToEndAsync(timeout.Token);
        Task writeStdin = WriteAndCloseAsync(process.StandardInput, stdin, timeout.Token);

        try
        {
            await Task.WhenAll(writeStdin, readStdout, readStderr, process.WaitForExitAsync(timeout.Token));
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"python3 did not finish within {ProcessTimeout.TotalSeconds:0} s.");
        }

        return (process.ExitCode, stdout.ToArray(), await readStderr);
    }

    private static async Task WriteAndCloseAsync(StreamWriter stdin, byte[] data, CancellationToken cancellationToken)
    {
        try
        {
            await stdin.BaseStream.WriteAsync(data, cancellationToken);
            await stdin.BaseStream.FlushAsync(cancellationToken);
        }
        catch (IOException)
        {
            // The child closed its stdin early (it crashed); its exit code and stderr tell why.
        }
        finally
        {
            stdin.Close();
        }
    }

    private static async Task CheckPythonAsync()
    {
        var result = await TryRunPythonAsync("import cryptography.fernet", []);
        Assert.True(result.ExitCode == 0,
            "The Fernet interop tests need the Python 'cryptography' package (pip install cryptography); "
            + $"they do not skip. 'python3 -c \"import cryptography.fernet\"' failed:\n{result.Stderr}");
    }
}

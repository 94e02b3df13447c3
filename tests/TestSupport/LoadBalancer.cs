using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace CtxRelay.Testing;

/// <summary>
/// A TCP load balancer on loopback, like the one in front of a fleet of relays: each new connection goes
/// to the next backend in round-robin order, skipping backends that refuse it (a dead relay), and bytes
/// are copied both ways until either side closes — then the other side is closed too, so the clients of
/// a relay that dies are dropped and reconnect, through here, to a live one.
/// </summary>
public sealed class LoadBalancer : IAsyncDisposable
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(2);

    private readonly TcpListener _listener;
    private readonly IPEndPoint[] _backends;
    private readonly int[] _routed;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<Task, bool> _connections = new();
    private readonly Task _accepting;
    private int _next = -1;

    private LoadBalancer(IPEndPoint[] backends)
    {
        _backends = backends;
        _routed = new int[backends.Length];
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        BaseUrl = $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";
        _accepting = AcceptAsync();
    }

    /// <summary>The balancer's address (http://127.0.0.1:PORT), to use as a relay base URL.</summary>
    public string BaseUrl { get; }

    /// <summary>Starts balancing over the backends' base URLs (only host and port are used).</summary>
    public static LoadBalancer Start(params string[] backendUrls)
    {
        ArgumentOutOfRangeException.ThrowIfZero(backendUrls.Length);
        return new LoadBalancer([.. backendUrls.Select(url => new Uri(url)).Select(uri => new IPEndPoint(IPAddress.Parse(uri.Host), uri.Port))]);
    }

    /// <summary>How many connections went to the backend at <paramref name="index"/> so far.</summary>
    public int RoutedTo(int index) => Volatile.Read(ref _routed[index]);

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        await _accepting;
        await Task.WhenAll(_connections.Keys);
        _stopping.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stopping.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            var connection = ServeAsync(client);
            _connections[connection] = true;
            _ = connection.ContinueWith(done => _connections.TryRemove(done, out _), TaskScheduler.Default);
        }
    }

    private async Task ServeAsync(Socket client)
    {
        using (client)
        {
            var start = Interlocked.Increment(ref _next);
            Socket? backend = null;
            for (var attempt = 0; attempt < _backends.Length && backend is null; attempt++)
            {
                var index = (int)((uint)(start + attempt) % (uint)_backends.Length);
                backend = await ConnectAsync(_backends[index]);
                if (backend is not null)
                {
                    Interlocked.Increment(ref _routed[index]);
                }
            }

            if (backend is null)
            {
                return; // nobody is up: close, as a balancer with no healthy backend does
            }

            using (backend)
            {
                using var closing = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
                var up = CopyAsync(client, backend, closing.Token);
                var down = CopyAsync(backend, client, closing.Token);
                await Task.WhenAny(up, down);

                // One side is gone: drop the other one as well.
                await closing.CancelAsync();
                await Task.WhenAll(up, down);
            }
        }
    }

    private async Task<Socket?> ConnectAsync(IPEndPoint endpoint)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        timeout.CancelAfter(ConnectTimeout);
        try
        {
            await socket.ConnectAsync(endpoint, timeout.Token);
            return socket;
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            socket.Dispose();
            return null;
        }
    }

    private static async Task CopyAsync(Socket from, Socket to, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
                if (read == 0)
                {
                    return;
                }

                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, cancellationToken);
            }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }
}

using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using OmgServers.Contracts;
using OmgServers.Contracts.Interchange;
using OmgServers.Security;

namespace OmgServers.Benchmarks;

/// <summary>
/// The floor of the interchange benchmark: a bare Kestrel minimal API in its own process (this program started again
/// with <c>bare-echo-server</c>, so it has the service's runtime settings: server GC, concurrent GC) that reads the
/// player interchange body into the service's own <see cref="PlayerInterchangeRequest"/> with the service's JSON
/// options and answers a <see cref="PlayerInterchangeResponse"/> with no messages, as the service answers a player
/// who has acknowledged everything. <c>/echo</c> ignores the bearer token; <c>/echo-rs256</c> verifies it first
/// (RS256, as the service does on every call), to show what the signature check alone costs.
/// </summary>
internal static class BareEchoServer
{
    public const string Mode = "bare-echo-server";

    /// <summary>Entry point of the child process: <c>bare-echo-server PORT PUBLIC_KEY_PEM_FILE</c>.</summary>
    public static async Task RunAsync(int port, string publicKeyFile)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        using var key = RSA.Create();
        key.ImportFromPem(File.ReadAllText(publicKeyFile));
        using var validator = new JwtValidator(key);
        var empty = new PlayerInterchangeResponse([]);

        async Task Echo(HttpContext http)
        {
            var request = await JsonSerializer.DeserializeAsync<PlayerInterchangeRequest>(http.Request.Body, WireJson.Options, http.RequestAborted);
            if (request?.ClientId is null || request.OutgoingMessages is null || request.ConsumedMessages is null)
            {
                http.Response.StatusCode = 400;
                return;
            }
            http.Response.StatusCode = 200;
            http.Response.ContentType = "application/json";
            await JsonSerializer.SerializeAsync(http.Response.Body, empty, WireJson.Options, http.RequestAborted);
        }

        app.MapPost("/echo", Echo);
        app.MapPost("/echo-rs256", async http =>
        {
            var header = http.Request.Headers.Authorization.ToString();
            if (!header.StartsWith("Bearer ", StringComparison.Ordinal) || !validator.Validate(header.AsSpan(7)).IsValid)
            {
                http.Response.StatusCode = 401;
                return;
            }
            await Echo(http);
        });
        await app.RunAsync();
    }

    /// <summary>Starts the child process and waits until it answers.</summary>
    public static async Task<Process> StartAsync(int port, string publicKeyFile)
    {
        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "OmgServers.Benchmarks.dll"));
        info.ArgumentList.Add(Mode);
        info.ArgumentList.Add(port.ToString());
        info.ArgumentList.Add(publicKeyFile);
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                using var response = await http.PostAsync("/echo", new StringContent("""{"client_id":"1","outgoing_messages":[],"consumed_messages":[]}""", System.Text.Encoding.UTF8, "application/json"));
                if (response.StatusCode == HttpStatusCode.OK) return process;
            }
            catch (HttpRequestException) { }
            if (process.HasExited || DateTime.UtcNow > deadline) throw new InvalidOperationException("the bare echo server did not start");
            await Task.Delay(100);
        }
    }
}

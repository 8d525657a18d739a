using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;

namespace OmgServers.Security;

/// <summary>
/// A quick single-thread measurement of the security hot paths, for the repository's benchmark command; compare
/// with <c>baselines.md</c> 2 and 3 (RS256 sign 4.41k/s, full-token verify 56k/s, bcrypt cost 10 22/s per core).
/// </summary>
/// <remarks>
/// Each item warms up for as long as it is measured (at most 3 s). When the process is pinned to one core
/// (<c>taskset -c 0</c>) the runtime's background tier-up competes with the measuring thread and can take ~5 s;
/// run such a measurement with <c>DOTNET_TC_CallCountingDelayMs=0</c> (or <c>DOTNET_TieredCompilation=0</c>) so that
/// it reports steady-state code.
/// </remarks>
public static class SecurityBench
{
    /// <summary>Runs each item for about <paramref name="duration"/> on the calling thread and prints one line per item.</summary>
    public static void Run(TimeSpan duration, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(duration, TimeSpan.Zero);

        using var key = RSA.Create(RsaKeys.GeneratedKeySizeBits);
        using var issuer = new JwtIssuer(key);
        using var validator = new JwtValidator(key);
        string token = issuer.IssueUserToken(226870983437451264, OmgRoles.Player);

        Report(output, "RS256 sign (issue user token)", Measure(duration, () => issuer.IssueUserToken(226870983437451264, OmgRoles.Player)));
        Report(output, "RS256 verify (full token path)", Measure(duration, () =>
        {
            if (!validator.Validate(token).IsValid)
                throw new InvalidOperationException("benchmark token did not validate");
        }));

        // The bare signature check on the same input, to show what the token path adds on this machine.
        int lastDot = token.LastIndexOf('.');
        byte[] signingInput = System.Text.Encoding.ASCII.GetBytes(token[..lastDot]);
        byte[] signature = System.Buffers.Text.Base64Url.DecodeFromChars(token.AsSpan(lastDot + 1));
        Report(output, "RS256 verify (VerifyData only)", Measure(duration, () =>
        {
            if (!key.VerifyData(signingInput, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1))
                throw new InvalidOperationException("benchmark signature did not verify");
        }));

        string password = PasswordGenerator.Generate();
        string bcrypt = Bcrypt.Hash(password, Bcrypt.DefaultCost);
        Report(output, "bcrypt cost 10 verify", Measure(duration, () =>
        {
            if (!PasswordHashing.Verify(password, bcrypt))
                throw new InvalidOperationException("benchmark bcrypt hash did not verify");
        }));

        string fast = PasswordHashing.HashGenerated(password);
        Report(output, "fast hash verify ($omgs1$)", Measure(duration, () =>
        {
            if (!PasswordHashing.Verify(password, fast))
                throw new InvalidOperationException("benchmark fast hash did not verify");
        }));

        var ids = new SnowflakeIds(0);
        long last = 0;
        Report(output, "snowflake ids", Measure(duration, () =>
        {
            long id = ids.Next();
            if (id <= last)
                throw new InvalidOperationException("ids went backwards");
            last = id;
        }));
    }

    private static (long Operations, TimeSpan Elapsed) Measure(TimeSpan duration, Action operation)
    {
        // Warm-up as long as the measurement, capped at 3 s, at least one call: the per-thread RSA instance, caches
        // and, above all, tiered JIT. The validator's framework helpers (base64url, UTF-8, JSON) start as
        // unvectorised tier-0 code and are recompiled after about 2 s of load on an unpinned 2-core machine; the
        // full-token verify measures ~20% slow before that.
        var warmUpTime = TimeSpan.FromTicks(Math.Min(duration.Ticks, 3 * TimeSpan.TicksPerSecond));
        long warmUpCount = 0;
        var warmUp = Stopwatch.StartNew();
        do
        {
            operation();
            warmUpCount++;
        } while (warmUp.Elapsed < warmUpTime);

        // Cheap operations are timed in batches of 64 so that reading the clock does not dominate them.
        int batch = warmUp.Elapsed.TotalMicroseconds / warmUpCount < 100 ? 64 : 1;
        long count = 0;
        var watch = Stopwatch.StartNew();
        do
        {
            for (int i = 0; i < batch; i++)
                operation();
            count += batch;
        } while (watch.Elapsed < duration);
        return (count, watch.Elapsed);
    }

    private static void Report(TextWriter output, string name, (long Operations, TimeSpan Elapsed) result)
    {
        double perSecond = result.Operations / result.Elapsed.TotalSeconds;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name,-34} {perSecond,14:N1} ops/s  ({result.Operations} ops in {result.Elapsed.TotalSeconds:F2} s, 1 thread)"));
    }
}

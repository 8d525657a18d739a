using FluentAssertions;

namespace OmgServers.Actors.Tests;

/// <summary>Real processes, SIGKILLed in the middle of a stream of acknowledged writes.</summary>
public sealed class KillTests(PostgresFixture pg, ITestOutputHelper output)
{
    [Fact]
    public async Task After_a_SIGKILL_every_acknowledged_write_is_there_nothing_is_half_applied_and_due_reminders_fire()
    {
        var schema = PostgresFixture.NewSchema();
        const int entities = 40;
        var timeout = TimeSpan.FromSeconds(60);

        var acked = new List<(string Id, int N)>();
        await using (var first = HostProcess.Start(pg.ConnectionString, schema, "kill-a"))
        {
            await first.WaitForLineAsync(l => l == "ready", timeout, "first host ready");
            first.Send("remind k1 wake 2500");
            await first.WaitForLineAsync(l => l == "reminded k1 wake", timeout, "reminder set");
            first.Send($"load {entities} 1000000 64");
            await Eventually.HoldsAsync(() => first.Lines.Count(l => l.StartsWith("ack ")) >= 3000, timeout, "3000 acknowledged writes");
            first.Kill();
            // Everything the host printed before it died: each "ack" was sent only after the commit returned.
            acked.AddRange(first.Lines.Where(l => l.StartsWith("ack ")).Select(l => l.Split(' ')).Select(p => (p[1], int.Parse(p[2]))));
        }

        await using var second = HostProcess.Start(pg.ConnectionString, schema, "kill-b");
        await second.WaitForLineAsync(l => l == "ready", timeout, "second host ready (after the dead node's leases expired)");

        var missing = 0;
        var halfApplied = 0;
        var unacknowledgedButDurable = 0;
        for (var e = 0; e < entities; e++)
        {
            var id = "k" + e;
            second.Send($"get {id}");
            var line = await second.WaitForLineAsync(l => l.StartsWith($"state {id} ") || l == $"state {id}", timeout, $"state of {id}");
            var fields = line.Split(' ');
            var values = fields.Length > 2 && fields[2].Length > 0 ? fields[2].Split(',').Select(int.Parse).ToList() : new List<int>();
            var counts = values.GroupBy(v => v).ToDictionary(g => g.Key, g => g.Count());
            halfApplied += counts.Count(c => c.Value != 2);
            var ackedHere = acked.Where(a => a.Id == id).Select(a => a.N).ToHashSet();
            missing += ackedHere.Count(n => !counts.ContainsKey(n));
            unacknowledgedButDurable += counts.Keys.Count(n => !ackedHere.Contains(n));
        }
        output.WriteLine($"acknowledged before the kill: {acked.Count}; durable but not acknowledged: {unacknowledgedButDurable}");
        acked.Count.Should().BeGreaterThanOrEqualTo(3000);
        missing.Should().Be(0, "every acknowledged write survives the crash");
        halfApplied.Should().Be(0, "each write's two events are both there or both absent");

        await second.WaitForLineAsync(l => l == "fired k1 wake", timeout, "reminder that fell due while the node was down fired after the restart");
        var journalGaps = await pg.ScalarAsync<long>($"""
            SELECT count(*) FROM (SELECT persistence_id, sequence_nr, row_number() OVER (PARTITION BY persistence_id ORDER BY sequence_nr) rn FROM {schema}.journal) x
            WHERE sequence_nr <> rn
            """);
        journalGaps.Should().Be(0);
    }
}

using FluentAssertions;

namespace OmgServers.Actors.Tests;

public sealed class ReminderAndDeliveryTests(PostgresFixture pg)
{
    private static EntityAddress Cnt(string id) => new("counter", id);

    [Fact]
    public async Task A_reminder_activates_a_passivated_entity_and_is_cleared_after_handling()
    {
        await using var f = new RuntimeFactory(pg);
        var rt = await f.StartAsync(passivateAfter: TimeSpan.FromMilliseconds(100));
        await rt.AskAsync<CounterState>(Cnt("rem"), new RemindMe("wake", 700));
        await Eventually.HoldsAsync(() => rt.ActiveEntityCount == 0, TimeSpan.FromSeconds(5), "entity passivated before the reminder");
        await Eventually.HoldsAsync(() => f.Probe.Reminders.Contains((Cnt("rem"), "wake")), TimeSpan.FromSeconds(5), "reminder fired");
        await Eventually.HoldsAsync(async () => await pg.ScalarAsync<long>($"SELECT count(*) FROM {f.Schema}.reminders") == 0, TimeSpan.FromSeconds(5), "reminder row cleared");
        (await rt.AskAsync<CounterState>(Cnt("rem"), new GetState())).Reminders.Should().Equal("wake");
    }

    [Fact]
    public async Task A_reminder_due_while_no_node_ran_fires_on_the_next_start()
    {
        await using var f = new RuntimeFactory(pg);
        var first = await f.StartAsync();
        await first.AskAsync<CounterState>(Cnt("later"), new RemindMe("due", 300));
        await first.StopAsync();
        // Make sure it is overdue while nothing runs.
        await Eventually.HoldsAsync(async () => await pg.ScalarAsync<long>($"SELECT count(*) FROM {f.Schema}.reminders WHERE due_at < clock_timestamp()") == 1,
            TimeSpan.FromSeconds(5), "reminder overdue");
        var second = await f.StartAsync();
        await Eventually.HoldsAsync(() => f.Probe.Reminders.Contains((Cnt("later"), "due")), TimeSpan.FromSeconds(5), "overdue reminder fired after restart");
        (await second.AskAsync<CounterState>(Cnt("later"), new GetState())).Reminders.Should().Equal("due");
    }

    [Fact]
    public async Task Setting_a_reminder_again_moves_it()
    {
        await using var f = new RuntimeFactory(pg);
        var rt = await f.StartAsync();
        await rt.AskAsync<CounterState>(Cnt("move"), new RemindMe("x", 600_000));
        await rt.AskAsync<CounterState>(Cnt("move"), new RemindMe("x", 200));
        await Eventually.HoldsAsync(() => f.Probe.Reminders.Contains((Cnt("move"), "x")), TimeSpan.FromSeconds(5), "moved reminder fired");
        (await pg.ScalarAsync<long>($"SELECT count(*) FROM {f.Schema}.reminders")).Should().Be(0);
    }

    [Fact]
    public async Task Reliable_delivery_reaches_the_receiver_exactly_once_in_effect()
    {
        await using var f = new RuntimeFactory(pg);
        var rt = await f.StartAsync();
        for (var i = 1; i <= 20; i++)
            await rt.AskAsync<CounterState>(Cnt("sender"), new SendReliably("receiver", i));
        await Eventually.HoldsAsync(async () => (await rt.AskAsync<CounterState>(Cnt("receiver"), new GetState())).Values.Count == 20,
            TimeSpan.FromSeconds(10), "all deliveries arrived");
        (await rt.AskAsync<CounterState>(Cnt("receiver"), new GetState())).Values.Should().Equal(Enumerable.Range(1, 20), "in order, no duplicates");
        await Eventually.HoldsAsync(async () => await pg.ScalarAsync<long>($"SELECT count(*) FROM {f.Schema}.journal WHERE persistence_id = 'counter-sender' AND manifest = 'omg.actors.outbox-confirmed'") == 20,
            TimeSpan.FromSeconds(10), "sender recorded every confirmation");
    }

    [Fact]
    public async Task Deliveries_survive_a_restart_of_the_sender_and_duplicates_are_dropped_by_the_receiver()
    {
        await using var f = new RuntimeFactory(pg);
        var first = await f.StartAsync();
        await first.AskAsync<CounterState>(Cnt("s2"), new SendReliably("r2", 7));
        await Eventually.HoldsAsync(async () => (await first.AskAsync<CounterState>(Cnt("r2"), new GetState())).Values.SequenceEqual([7]),
            TimeSpan.FromSeconds(10), "first delivery arrived");
        await first.StopAsync();

        // Make the sender forget the confirmation (as if it crashed before writing it): it must send again,
        // and the receiver must recognise the duplicate.
        await pg.ExecAsync($"DELETE FROM {f.Schema}.journal WHERE persistence_id = 'counter-s2' AND manifest = 'omg.actors.outbox-confirmed'");
        await pg.ExecAsync($"DELETE FROM {f.Schema}.snapshots");
        var second = await f.StartAsync();
        await second.AskAsync<CounterState>(Cnt("s2"), new GetState()); // activates the sender, which resends
        await Eventually.HoldsAsync(async () => await pg.ScalarAsync<long>($"SELECT count(*) FROM {f.Schema}.journal WHERE persistence_id = 'counter-s2' AND manifest = 'omg.actors.outbox-confirmed'") == 1,
            TimeSpan.FromSeconds(10), "resent delivery confirmed");
        (await second.AskAsync<CounterState>(Cnt("r2"), new GetState())).Values.Should().Equal(7);
        second.Metrics.Redeliveries.Value.Should().Be(0, "the resend after recovery is a first send of this incarnation");
    }

    [Fact]
    public async Task A_sender_whose_outbox_is_not_empty_is_reactivated_by_its_reminder_after_a_crash()
    {
        await using var f = new RuntimeFactory(pg);
        var first = await f.StartAsync();
        // The receiver's shard is not available: deliveries stay unconfirmed.
        var receiver = Cnt("r3");
        await first.AskAsync<CounterState>(Cnt("s3"), new SendReliably("r3", 9));
        await first.StopAsync();
        await pg.ExecAsync($"DELETE FROM {f.Schema}.journal WHERE persistence_id = 'counter-s3' AND manifest = 'omg.actors.outbox-confirmed'");
        await pg.ExecAsync($"DELETE FROM {f.Schema}.journal WHERE persistence_id = 'counter-r3'");
        (await pg.ScalarAsync<long>($"SELECT count(*) FROM {f.Schema}.reminders WHERE name = 'omg.actors.outbox'")).Should().Be(1);

        var second = await f.StartAsync();
        // Nobody sends the sender a message: only its reminder can bring the delivery back.
        await Eventually.HoldsAsync(async () => (await second.AskAsync<CounterState>(receiver, new GetState())).Values.SequenceEqual([9]),
            TimeSpan.FromSeconds(10), "delivery made after the sender was woken by its reminder");
    }

    [Fact]
    public async Task A_deferred_delivery_comes_back_until_the_receiver_takes_it_and_an_unrecorded_one_leaves_no_inbox_entry()
    {
        await using var f = new RuntimeFactory(pg);
        var rt = await f.StartAsync(o => o with { RedeliveryInterval = TimeSpan.FromMilliseconds(200) });
        var gate = new EntityAddress("gate", "g1");
        await rt.AskAsync<GateState>(new EntityAddress("gate", "sender"), new SendToGate("g1", 1, Recorded: true));
        await rt.AskAsync<GateState>(new EntityAddress("gate", "sender2"), new SendToGate("g1", 2, Recorded: false));

        // Closed: both are deferred, again and again, and nothing of them is written.
        await Eventually.HoldsAsync(async () => await rt.AskAsync<int>(gate, new CountDeferrals()) >= 4, TimeSpan.FromSeconds(10), "the deferred deliveries were sent again");
        (await rt.AskAsync<GateState>(gate, new GetState())).Values.Should().BeEmpty();
        (await pg.ScalarAsync<long>($"SELECT count(*) FROM {f.Schema}.journal WHERE persistence_id = 'gate-g1'")).Should().Be(0, "a deferral writes no receipt");

        await rt.AskAsync<GateState>(gate, new OpenGate());
        await Eventually.HoldsAsync(async () => (await rt.AskAsync<GateState>(gate, new GetState())).Values.Order().SequenceEqual([1, 2]),
            TimeSpan.FromSeconds(10), "both taken once the gate is open");
        await Eventually.HoldsAsync(async () => await pg.ScalarAsync<long>($"SELECT count(*) FROM {f.Schema}.journal WHERE persistence_id LIKE 'gate-sender%' AND manifest = 'omg.actors.outbox-confirmed'") == 2,
            TimeSpan.FromSeconds(10), "both senders wrote their confirmation");
        (await pg.ScalarAsync<long>($"SELECT count(*) FROM {f.Schema}.journal WHERE persistence_id = 'gate-g1' AND manifest = 'omg.actors.inbox-marked'"))
            .Should().Be(1, "only the recorded delivery left an inbox entry");
        (await rt.AskAsync<GateState>(gate, new GetState())).Values.Should().HaveCount(2, "no duplicates");
    }
}

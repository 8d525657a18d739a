using FluentAssertions;

namespace OmgServers.Actors.Tests;

public sealed class MailboxTests(PostgresFixture pg)
{
    private static EntityAddress Rec(string id) => new("recorder", id);
    private static EntityAddress Cnt(string id) => new("counter", id);

    [Fact]
    public async Task Messages_to_one_entity_are_handled_in_send_order()
    {
        await using var f = new RuntimeFactory(pg);
        var rt = await f.StartAsync();
        for (var i = 0; i < 500; i++)
            rt.Tell(Rec("a"), i).Should().BeTrue();
        var received = await rt.AskAsync<object[]>(Rec("a"), new GetState());
        received.Should().Equal(Enumerable.Range(0, 500).Cast<object>());
    }

    [Fact]
    public async Task One_entity_handles_one_message_at_a_time_and_different_entities_run_concurrently()
    {
        await using var f = new RuntimeFactory(pg);
        var rt = await f.StartAsync();
        var sameEntity = Enumerable.Range(0, 5).Select(i => rt.AskAsync<int>(Rec("one"), new SlowAdd(i, 50))).ToArray();
        await Task.WhenAll(sameEntity);
        f.Probe.MaxConcurrent.Should().Be(1, "one mailbox never runs two handlers at once");

        var started = DateTime.UtcNow;
        var manyEntities = Enumerable.Range(0, 20).Select(i => rt.AskAsync<int>(Rec("e" + i), new SlowAdd(i, 300))).ToArray();
        await Task.WhenAll(manyEntities);
        f.Probe.MaxConcurrent.Should().BeGreaterThan(1, "separate mailboxes run side by side");
        (DateTime.UtcNow - started).Should().BeLessThan(TimeSpan.FromSeconds(20 * 0.3), "twenty 300 ms handlers did not run one after another");
    }

    [Fact]
    public async Task Ask_past_its_deadline_fails_with_a_timeout_and_the_expired_message_is_not_handled()
    {
        await using var f = new RuntimeFactory(pg);
        var rt = await f.StartAsync();
        var blocker = rt.AskAsync<int>(Rec("slow"), new SlowAdd(1, 600));
        var act = () => rt.AskAsync<int>(Rec("slow"), new SlowAdd(2, 1), TimeSpan.FromMilliseconds(100));
        await act.Should().ThrowAsync<AskTimeoutException>();
        (await blocker).Should().Be(1);
        var received = await rt.AskAsync<object[]>(Rec("slow"), new GetState());
        received.Should().Equal(1);

        var zero = () => rt.AskAsync<int>(Rec("slow"), new GetState(), TimeSpan.Zero);
        await zero.Should().ThrowAsync<ArgumentOutOfRangeException>();
    }

    [Fact]
    public async Task Cancelled_ask_throws_operation_cancelled()
    {
        await using var f = new RuntimeFactory(pg);
        var rt = await f.StartAsync();
        using var cts = new CancellationTokenSource(100);
        var act = () => rt.AskAsync<int>(Rec("c"), new SlowAdd(1, 1000), TimeSpan.FromSeconds(5), cts.Token);
        await act.Should().ThrowAsync<OperationCanceledException>();
    }

    [Fact]
    public async Task A_full_mailbox_refuses_new_messages_at_once_and_keeps_the_accepted_ones()
    {
        await using var f = new RuntimeFactory(pg);
        var rt = await f.StartAsync(mailbox: 10);
        var busy = rt.AskAsync<int>(Rec("full"), new SlowAdd(0, 500));
        await Eventually.HoldsAsync(() => f.Probe.MaxConcurrent == 1, TimeSpan.FromSeconds(5), "first handler runs");
        var accepted = 0;
        for (var i = 1; i <= 15; i++)
            if (rt.Tell(Rec("full"), i)) accepted++;
        accepted.Should().Be(10);
        var act = () => rt.AskAsync<int>(Rec("full"), new GetState(), TimeSpan.FromSeconds(2));
        await act.Should().ThrowAsync<MailboxFullException>();
        rt.Metrics.MailboxRejections.Value.Should().Be(6);
        await busy;
        var received = await rt.AskAsync<object[]>(Rec("full"), new GetState());
        received.Should().Equal(new object[] { 0 }.Concat(Enumerable.Range(1, 10).Cast<object>()));
    }

    [Fact]
    public async Task An_exception_fails_the_ask_and_restarts_the_entity_from_its_journal()
    {
        await using var f = new RuntimeFactory(pg);
        var rt = await f.StartAsync();
        await rt.AskAsync<CounterState>(Cnt("r"), new Add(5));
        await rt.AskAsync<CounterState>(Cnt("r"), new Add(7));
        var act = () => rt.AskAsync<CounterState>(Cnt("r"), new Fail("boom"));
        (await act.Should().ThrowAsync<EntityFailedException>()).Which.Message.Should().Contain("boom");
        var state = await rt.AskAsync<CounterState>(Cnt("r"), new GetState());
        state.Total.Should().Be(12);
        state.Values.Should().Equal(5, 7);
        f.Probe.Activations.Count(a => a == Cnt("r")).Should().Be(2, "the entity was activated again after the failure");
        rt.Metrics.Restarts.Value.Should().Be(1);

        // The in-memory state of a plain entity is lost on restart: it starts afresh.
        rt.Tell(Rec("p"), "before").Should().BeTrue();
        await ((Func<Task>)(() => rt.AskAsync<object>(Rec("p"), new Fail("x")))).Should().ThrowAsync<EntityFailedException>();
        (await rt.AskAsync<object[]>(Rec("p"), new GetState())).Should().BeEmpty();
    }

    [Fact]
    public async Task Idle_entities_are_passivated_and_come_back_with_their_state()
    {
        await using var f = new RuntimeFactory(pg);
        var rt = await f.StartAsync(passivateAfter: TimeSpan.FromMilliseconds(300));
        await rt.AskAsync<CounterState>(Cnt("idle"), new Add(3));
        await rt.AskAsync<CounterState>(Cnt("idle"), new Add(4));
        rt.ActiveEntityCount.Should().Be(1);
        await Eventually.HoldsAsync(() => rt.ActiveEntityCount == 0, TimeSpan.FromSeconds(5), "idle entity passivated");
        rt.Metrics.Passivations.Value.Should().BeGreaterThanOrEqualTo(1);
        var state = await rt.AskAsync<CounterState>(Cnt("idle"), new GetState());
        state.Values.Should().Equal(3, 4);
        f.Probe.Activations.Count(a => a == Cnt("idle")).Should().Be(2);

        // An entity may also ask to stop itself after the current message.
        await rt.AskAsync<CounterState>(Cnt("self"), new PassivateNow());
        await Eventually.HoldsAsync(() => rt.ActiveEntityCount == 0, TimeSpan.FromSeconds(5), "self-passivated entity gone");
    }

    [Fact]
    public async Task Messages_sent_while_an_entity_passivates_are_not_lost()
    {
        await using var f = new RuntimeFactory(pg);
        var rt = await f.StartAsync(passivateAfter: TimeSpan.FromMilliseconds(50));
        var total = 0;
        for (var round = 0; round < 30; round++)
        {
            // Vary the gap so that sends land before, during and after passivation; every fourth gap is long enough
            // (idle time plus one sweep) for a passivation to happen for sure.
            await Task.Delay(round % 4 == 3 ? 250 : round % 4 * 15);
            var state = await rt.AskAsync<CounterState>(Cnt("flap"), new Add(1));
            total++;
            state.Total.Should().Be(total);
        }
        rt.Metrics.Passivations.Value.Should().BeGreaterThan(0, "the test must actually cross passivations");
    }

    [Fact]
    public async Task Timers_deliver_to_self_and_can_be_cancelled()
    {
        await using var f = new RuntimeFactory(pg);
        var rt = await f.StartAsync();
        await rt.AskAsync<object?>(Rec("t"), new StartTimer("once", 50, false));
        await Eventually.HoldsAsync(() => f.Probe.Ticks.Count == 1, TimeSpan.FromSeconds(5), "single timer fired");
        await rt.AskAsync<object?>(Rec("t"), new StartTimer("tick", 40, true));
        await Eventually.HoldsAsync(() => f.Probe.Ticks.Count >= 4, TimeSpan.FromSeconds(5), "periodic timer fired repeatedly");
        await rt.AskAsync<object?>(Rec("t"), new StopTimer("tick"));
        var afterCancel = (await rt.AskAsync<object[]>(Rec("t"), new GetState())).Count(x => x is -1);
        // A single 250 ms marker timer: by the time it fired, a still-running 40 ms periodic timer would have ticked several times.
        await rt.AskAsync<object?>(Rec("t"), new StartTimer("marker", 250, false));
        await Eventually.HoldsAsync(() => f.Probe.Ticks.Count >= afterCancel + 1, TimeSpan.FromSeconds(5), "marker timer fired");
        (await rt.AskAsync<object[]>(Rec("t"), new GetState())).Count(x => x is -1).Should().Be(afterCancel + 1, "the cancelled periodic timer never ticked again");
    }

    [Fact]
    public async Task Unknown_entity_types_and_stopped_runtimes_are_refused()
    {
        await using var f = new RuntimeFactory(pg);
        var rt = await f.StartAsync();
        var unknown = () => rt.AskAsync<object>(new EntityAddress("nope", "1"), new GetState());
        await unknown.Should().ThrowAsync<UnknownEntityTypeException>();
        rt.Tell(new EntityAddress("nope", "1"), 1).Should().BeFalse();
        await rt.StopAsync();
        rt.Tell(Rec("x"), 1).Should().BeFalse();
        var stopped = () => rt.AskAsync<object>(Rec("x"), new GetState(), TimeSpan.FromMilliseconds(200));
        await stopped.Should().ThrowAsync<ShardUnavailableException>();
    }

    [Fact]
    public async Task Queued_messages_that_batch_are_handled_and_written_together_and_every_ask_gets_its_reply_after_the_write()
    {
        await using var f = new RuntimeFactory(pg);
        var rt = await f.StartAsync();
        var batcher = new EntityAddress("batcher", "b1");
        await rt.AskAsync<Appended>(batcher, new GetState());
        var replies = await Task.WhenAll(Enumerable.Range(1, 500).Select(n => rt.AskAsync<int>(batcher, new Append(n))));

        replies.Should().OnlyContain(r => r >= 1 && r <= 500, "each reply is the count after its write");
        var state = await rt.AskAsync<Appended>(batcher, new GetState());
        state.Values.Order().Should().Equal(Enumerable.Range(1, 500), "every message handled once");
        (await rt.AskAsync<int>(batcher, new CountBatches())).Should().BeGreaterThan(0, "500 concurrent asks queue up behind a write");
        var rows = await pg.ScalarAsync<long>($"SELECT count(*) FROM {f.Schema}.journal WHERE persistence_id = 'batcher-b1'");
        rows.Should().BeLessThan(500, "a batch is one event, so one row, for many messages");

        await rt.StopAsync();
        var again = await f.StartAsync();
        (await again.AskAsync<Appended>(batcher, new GetState())).Values.Order().Should().Equal(Enumerable.Range(1, 500), "and all of it is durable");
    }
}

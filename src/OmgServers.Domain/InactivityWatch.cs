using OmgServers.Actors;

namespace OmgServers.Domain;

/// <summary>
/// Inactivity as clients and runtimes need it (contract 5.7), without a write per call: the last activity lives in
/// memory and a durable reminder checks it. When the reminder finds recent activity it moves itself to last activity +
/// interval; otherwise the owner is inactive. A new watch starts at its entity's activation, so after a restart or a
/// shard move (activity lost) the owner gets one more interval, never a false kill. This relies on the entity staying
/// in memory longer than the interval (<see cref="GameOptions.MinPassivation"/>): a reminder that wakes a passivated
/// entity would otherwise only ever see that wake-up as activity.
/// </summary>
internal sealed class InactivityWatch(TimeSpan interval)
{
    public const string Reminder = "inactivity";

    public DateTimeOffset LastActivity { get; private set; } = DateTimeOffset.UtcNow;

    public void Touch() => LastActivity = DateTimeOffset.UtcNow;

    /// <summary>Counts now as activity and arms the reminder (before the owner's first write: it finds nothing if that fails).</summary>
    public Task StartAsync(IEntityContext context)
    {
        Touch();
        return context.SetReminderAsync(Reminder, LastActivity + interval);
    }

    /// <summary>On the reminder: true when the owner has been inactive for the interval; else the reminder is moved.</summary>
    public async Task<bool> IsInactiveAsync(IEntityContext context)
    {
        var due = LastActivity + interval;
        if (due <= DateTimeOffset.UtcNow) return true;
        await context.SetReminderAsync(Reminder, due);
        return false;
    }

    public Task StopAsync(IEntityContext context) => context.CancelReminderAsync(Reminder);
}

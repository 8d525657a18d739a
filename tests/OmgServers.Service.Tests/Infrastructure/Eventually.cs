using System.Diagnostics;
using Xunit;

namespace OmgServers.Service.Tests.Infrastructure;

/// <summary>Waits for a condition with a deadline instead of sleeping a fixed time.</summary>
public static class Eventually
{
    public static async Task<bool> TrueAsync(Func<Task<bool>> condition, TimeSpan timeout, TimeSpan? poll = null)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            if (await condition())
            {
                return true;
            }

            if (watch.Elapsed > timeout)
            {
                return false;
            }

            await Task.Delay(poll ?? TimeSpan.FromMilliseconds(50), TestContext.Current.CancellationToken);
        }
    }

    public static Task<bool> TrueAsync(Func<bool> condition, TimeSpan timeout, TimeSpan? poll = null) =>
        TrueAsync(() => Task.FromResult(condition()), timeout, poll);
}

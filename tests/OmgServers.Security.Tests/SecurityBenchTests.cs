namespace OmgServers.Security.Tests;

public sealed class SecurityBenchTests
{
    [Fact]
    public void Run_prints_a_positive_rate_for_every_item()
    {
        var output = new StringWriter();

        SecurityBench.Run(TimeSpan.FromMilliseconds(60), output);

        string[] lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().HaveCount(6);
        lines.Select(l => l[..34].Trim()).Should().Equal(
            "RS256 sign (issue user token)", "RS256 verify (full token path)", "RS256 verify (VerifyData only)", "bcrypt cost 10 verify",
            "fast hash verify ($omgs1$)", "snowflake ids");
        foreach (string line in lines)
        {
            double rate = double.Parse(line[34..].Trim().Split(' ')[0].Replace(",", ""), System.Globalization.CultureInfo.InvariantCulture);
            rate.Should().BeGreaterThan(0, line);
        }
    }
}

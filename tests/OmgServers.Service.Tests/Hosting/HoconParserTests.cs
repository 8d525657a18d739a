using FluentAssertions;
using OmgServers.Hosting.Configuration;
using Xunit;

namespace OmgServers.Service.Tests.Hosting;

public sealed class HoconParserTests
{
    [Fact]
    public void Reads_objects_dotted_keys_separators_and_comments()
    {
        var root = HoconParser.Parse("""
            # a comment
            a {
              b = 1          // trailing comment
              c : "two words"
              d = three words # unquoted, up to the comment
              "quoted-key" = x, e = y
            }
            a.f.g = 7
            """, "test.conf");

        Text(root, "a.b").Should().Be("1");
        Text(root, "a.c").Should().Be("two words");
        Text(root, "a.d").Should().Be("three words");
        Text(root, "a.quoted-key").Should().Be("x");
        Text(root, "a.e").Should().Be("y");
        Text(root, "a.f.g").Should().Be("7");
    }

    [Fact]
    public void Later_values_win_and_objects_merge()
    {
        var root = HoconParser.Parse("""
            a { x = 1, y = 2 }
            a { y = 3 }
            a.z = 4
            b = 1
            b = 2
            """);

        Text(root, "a.x").Should().Be("1");
        Text(root, "a.y").Should().Be("3");
        Text(root, "a.z").Should().Be("4");
        Text(root, "b").Should().Be("2");
        root.Find("a.y")!.Origin.Should().Be("<string>:2");
    }

    [Fact]
    public void Reads_lists_on_one_line_and_across_lines()
    {
        var root = HoconParser.Parse("""
            one = [a, "b c", 3]
            many = [
              "http://x:8080"   # comment inside
              "http://y:8080",
            ]
            objects = [ { k = 1 }, { k = 2 } ]
            empty = []
            """);

        ((HoconList)root.Find("one")!).Items.Select(i => ((HoconScalar)i).Text).Should().Equal("a", "b c", "3");
        ((HoconList)root.Find("many")!).Items.Select(i => ((HoconScalar)i).Text).Should().Equal("http://x:8080", "http://y:8080");
        ((HoconList)root.Find("objects")!).Items.Should().HaveCount(2).And.AllBeOfType<HoconObject>();
        ((HoconList)root.Find("empty")!).Items.Should().BeEmpty();
    }

    [Fact]
    public void Reads_escapes_and_a_braced_root()
    {
        var root = HoconParser.Parse("""{ s = "tab\there \"q\" \u0041" }""");
        Text(root, "s").Should().Be("tab\there \"q\" A");
    }

    [Fact]
    public void Unquoted_urls_stop_at_the_double_slash_comment_so_they_must_be_quoted()
    {
        var root = HoconParser.Parse("u = \"http://h:1/p\"\nv = http://h");
        Text(root, "u").Should().Be("http://h:1/p");
        Text(root, "v").Should().Be("http:");
    }

    [Theory]
    [InlineData("a = ", "test.conf:1: missing value")]
    [InlineData("a { b = 1", "test.conf:1: missing '}'")]
    [InlineData("a = [1, 2", "test.conf:1: missing ']'")]
    [InlineData("a = \"open", "test.conf:1: unterminated string")]
    [InlineData("\n\na = ${HOME}", "test.conf:3: ${...} substitutions are not supported*")]
    [InlineData("include \"other.conf\"", "test.conf:1: expected '=', ':' or '{' after the key 'include'")]
    [InlineData("a b = 1", "test.conf:1: expected '=', ':' or '{' after the key 'a'")]
    [InlineData("a = 1 }", "test.conf:1: unexpected '}'*")]
    [InlineData("a += 1", "test.conf:1: '+=' is not supported")]
    [InlineData("a = \"x\" y", "test.conf:1: unexpected 'y' after a value*")]
    public void Syntax_errors_name_the_line_and_the_problem(string text, string expected)
    {
        var parse = () => HoconParser.Parse(text, "test.conf");
        parse.Should().Throw<HoconParseException>().WithMessage(expected);
    }

    [Fact]
    public void The_shipped_defaults_file_parses()
    {
        var root = OmgServersSettingsLoader.ParseDefaults();
        Text(root, "omgservers.actors.shard-count").Should().Be("256");
        Text(root, "omgservers.server.uri").Should().Be("http://localhost:8080");
    }

    private static string Text(HoconObject root, string path) =>
        root.Find(path).Should().BeOfType<HoconScalar>().Subject.Text;
}

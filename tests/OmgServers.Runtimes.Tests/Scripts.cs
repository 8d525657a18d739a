namespace OmgServers.Runtimes.Tests;

/// <summary>The /bin/sh "images" the tests run.</summary>
public static class Scripts
{
    /// <summary>Prints its environment (never the password), then waits; leaves on SIGTERM saying so.</summary>
    public const string Sleeper = """
        trap 'echo got-term; exit 0' TERM
        env | grep -E '^(OMGSERVERS_|GAME_|BACKEND_)' | grep -v '^OMGSERVERS_PASSWORD=' | sort
        echo "cwd=$(pwd)"
        echo ready
        while :; do sleep 1 & wait $!; done
        """;

    /// <summary>Exits with code 3 at once.</summary>
    public const string Crash = """
        echo crashing
        exit 3
        """;

    /// <summary>Ignores SIGTERM (and so do the sleeps it starts).</summary>
    public const string Stubborn = """
        trap '' TERM
        echo ready
        while :; do sleep 1; done
        """;

    /// <summary>Starts a child and waits for it.</summary>
    public const string Parent = """
        sleep 300 &
        echo "child-pid=$!"
        echo ready
        wait
        """;

    /// <summary>Starts a child, then exits with 7 leaving it behind.</summary>
    public const string Orphaner = """
        sleep 300 &
        echo "child-pid=$!"
        exit 7
        """;

    /// <summary>Writes about 2 MB, a marker, then waits.</summary>
    public const string Chatty = """
        i=0
        while [ $i -lt 20 ]; do head -c 100000 /dev/zero | tr '\0' 'a'; echo; i=$((i+1)); done
        echo END-MARKER
        exec sleep 300
        """;

    /// <summary>Waits for $EXIT_FILE to appear, then exits 5.</summary>
    public const string ExitOnFile = """
        echo ready
        while [ ! -e "$EXIT_FILE" ]; do sleep 0.05; done
        exit 5
        """;

    /// <summary>Tries to hold 100 MB in a shell variable, then reports and waits.</summary>
    public const string MemoryHog = """
        x=$(head -c 100000000 /dev/zero | tr '\0' x)
        echo "allocated ${#x}"
        exec sleep 300
        """;

    /// <summary>Waits quietly.</summary>
    public const string Quiet = """
        echo ready
        exec sleep 300
        """;
}

namespace Orion.Pmd.Reactors;

/// <summary>
/// The <see cref="IdlePolicy.Yield"/> escalation. Thread.Yield returns at once when no other thread wants the
/// core, so a long idle streak would still burn it; after a while the reactor drops to Sleep(0) and then to
/// Sleep(1) (about 1 ms), which costs at most that much latency on the first message after a quiet spell.
/// </summary>
internal struct IdleBackoff
{
    /// <summary>Idle iterations answered with Thread.Yield: enough to ride out short gaps between requests.</summary>
    private const int YieldStreak = 64;

    /// <summary>Idle iterations (in total) before sleeping a whole millisecond.</summary>
    private const int SleepZeroStreak = 256;

    private int _streak;

    public void Reset() => _streak = 0;

    public void Idle()
    {
        if (_streak < SleepZeroStreak) _streak++;
        if (_streak <= YieldStreak) Thread.Yield();
        else if (_streak < SleepZeroStreak) Thread.Sleep(0);
        else Thread.Sleep(1);
    }
}

using Orion.Pmd.Linux;

namespace Orion.Pmd.Engine;

/// <summary>
/// Where each thread runs: reactors and device threads on distinct cores from the process's allowed set when there
/// are enough of them, otherwise unpinned (and then they yield when idle rather than spin against each other).
/// </summary>
internal sealed record CorePlan(int?[] Reactors, int[]? Device, bool Pinned)
{
    /// <param name="options">The engine's options (cores given there win).</param>
    /// <param name="deviceThreads">Device threads to place beside the reactors.</param>
    /// <param name="preferredReactorCpus">CPUs to take first for the reactors, e.g. those that take the disk's interrupts.</param>
    public static CorePlan Make(EngineOptions options, int deviceThreads, IReadOnlyCollection<int>? preferredReactorCpus = null)
    {
        var unpinned = new CorePlan(new int?[options.Queues], null, false);
        if (!options.Pin || options.Threading == EngineThreading.Manual) return unpinned;
        var allowed = CpuAffinity.GetAllowedCpus();
        if (options.ReactorCores is { } rc)
        {
            if (rc.Count < options.Queues)
                throw new ArgumentException($"{options.Queues} queues need {options.Queues} reactor cores; {rc.Count} were given");
            foreach (var c in rc.Concat(options.DeviceCores ?? []))
                if (!allowed.Contains(c))
                    throw new ArgumentException($"core {c} is not in this process's allowed set ({string.Join(",", allowed)})");
            var dev = options.DeviceCores?.ToArray() ?? allowed.Except(rc).Take(deviceThreads).ToArray();
            return new CorePlan(rc.Take(options.Queues).Select(c => (int?)c).ToArray(), dev.Length > 0 ? dev : null, true);
        }
        if (allowed.Length < options.Queues + deviceThreads) return unpinned;
        if (preferredReactorCpus is { Count: > 0 })
            allowed = [.. allowed.Where(preferredReactorCpus.Contains), .. allowed.Where(c => !preferredReactorCpus.Contains(c))];
        var reactors = allowed.Take(options.Queues).Select(c => (int?)c).ToArray();
        var device = options.DeviceCores?.ToArray() ?? allowed.Skip(options.Queues).Take(deviceThreads).ToArray();
        return new CorePlan(reactors, device, true);
    }
}

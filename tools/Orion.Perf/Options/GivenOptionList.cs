namespace Orion.Perf.Options;

/// <summary>The options of a job as given (<see cref="JobOptions.GivenOptions"/>), kept in the order given.</summary>
internal static class GivenOptionList
{
    /// <summary>
    /// <paramref name="list"/> with <paramref name="name"/> set to <paramref name="value"/>: an option given again
    /// moves to the end with its new value, so the report has each name once (JSON keys must be unique).
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, string?>> With(IReadOnlyList<KeyValuePair<string, string?>>? list, string name, string? value)
    {
        var result = new List<KeyValuePair<string, string?>>(list?.Count + 1 ?? 1);
        if (list is not null) result.AddRange(list.Where(kv => kv.Key != name));
        result.Add(KeyValuePair.Create(name, value));
        return result;
    }
}

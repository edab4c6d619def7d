namespace Orion.Pmd.Reactors;

/// <summary>A posted callback and its state: a struct, so posting through the ring allocates nothing.</summary>
internal readonly struct ReactorMessage(Action<object?> action, object? state)
{
    public readonly Action<object?> Action = action;
    public readonly object? State = state;
}

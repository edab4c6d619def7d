using System.Runtime.CompilerServices;

namespace Orion.Pmd.Engine;

/// <summary>
/// The portable durable write, shared by <see cref="BlockDevice"/> (where the device does not promise that a flush
/// covers a write made available before it) and the storage layer's default <c>IBlockStorage.WriteDurableAsync</c>:
/// the write, and the flush only once the write completed, so the flush surely covers it.
/// </summary>
internal static class WriteThenFlush
{
    /// <summary>Awaits <paramref name="write"/>, then <paramref name="flush"/>(<paramref name="state"/>); a failed write sends no flush.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public static async ValueTask Run<TState>(ValueTask write, TState state, Func<TState, ValueTask> flush)
    {
        await write.ConfigureAwait(false);
        await flush(state).ConfigureAwait(false);
    }
}

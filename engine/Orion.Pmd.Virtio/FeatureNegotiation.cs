namespace Orion.Pmd.Virtio;

/// <summary>The outcome of feature negotiation: what the driver will write back, or why it cannot proceed.</summary>
/// <param name="Accepted">The features both sides support that the driver wants; the driver uses nothing else.</param>
/// <param name="MissingRequired">Required features the device did not offer (empty on success).</param>
public readonly record struct NegotiatedFeatures(VirtioFeatures Accepted, VirtioFeatures MissingRequired)
{
    /// <summary>True when every required feature was offered.</summary>
    public bool Succeeded => MissingRequired == VirtioFeatures.None;

    /// <summary>Whether a feature was negotiated.</summary>
    public bool Has(VirtioFeatures feature) => (Accepted & feature) == feature;
}

/// <summary>Feature negotiation (VirtIO 1.1 §3.1.1 step 4): intersect what the device offers with what the driver understands.</summary>
public static class FeatureNegotiation
{
    /// <summary>Negotiates: accepted = offered ∩ wanted; fails when something in <paramref name="required"/> is not offered.</summary>
    public static NegotiatedFeatures Negotiate(VirtioFeatures offered, VirtioFeatures wanted, VirtioFeatures required)
    {
        var accepted = offered & (wanted | required);
        return new NegotiatedFeatures(accepted, required & ~offered);
    }
}

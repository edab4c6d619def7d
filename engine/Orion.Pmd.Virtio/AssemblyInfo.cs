namespace Orion.Pmd.Virtio;

namespace Orion.Pmd.Device;

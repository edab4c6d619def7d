namespace Orion.Pmd.Engine;

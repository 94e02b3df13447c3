using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace CtxRelay.Relay.Internal;

/// <summary>
/// Data-protection keys kept in memory only. The relay issues no cookies or tokens, but ASP.NET Core's
/// authentication registers data protection, which would otherwise write a key ring to
/// <c>~/.aspnet/DataProtection-Keys</c> on the first start.
/// </summary>
internal sealed class InMemoryXmlRepository : IXmlRepository
{
    private readonly List<XElement> _elements = [];

    public IReadOnlyCollection<XElement> GetAllElements()
    {
        lock (_elements)
        {
            return [.. _elements.Select(e => new XElement(e))];
        }
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        lock (_elements)
        {
            _elements.Add(new XElement(element));
        }
    }
}

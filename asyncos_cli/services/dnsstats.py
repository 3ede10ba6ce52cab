"""How many DNS requests of the gateway are in flight (the SNMP outstandingDNSRequests gauge).

Every resolver call of the daemon (delivery's MX and address lookups,
reputation lists) goes through :func:`lookup`. An asyncio resolver sends a
query as soon as it is asked, so nothing waits unsent: pendingDNSRequests
is always 0 here, a true reading rather than a missing one.
"""

from __future__ import annotations

in_flight = 0


async def lookup(resolver, name: str, rdtype: str, lifetime: float):
    global in_flight
    in_flight += 1
    try:
        return await resolver.resolve(name, rdtype, lifetime=lifetime)
    finally:
        in_flight -= 1

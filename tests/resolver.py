"""A resolver for test crawls: IP literals and ``localhost`` only.

Test webs live on loopback addresses, so no name needs the DNS; any other
name fails at once with the DNS lookup error a crawl would see on the web,
and no query ever leaves the machine.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from twisted.internet import defer
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import IResolverSimple
from zope.interface import implementer


@implementer(IResolverSimple)
class LoopbackOnlyResolver:
    def __init__(self, reactor: Any) -> None:
        self.reactor = reactor

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: Any) -> LoopbackOnlyResolver:
        return cls(reactor)

    def install_on_reactor(self) -> None:
        self.reactor.installResolver(self)

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> defer.Deferred[str]:
        if name == "localhost" or name.endswith(".localhost"):
            return defer.succeed("127.0.0.1")
        try:
            ipaddress.ip_address(name)
        except ValueError:
            return defer.fail(DNSLookupError(f"{name} is not a loopback name"))
        return defer.succeed(name)

"""Make read-only mappings picklable, so frozen results can be cached and sent to workers.

The result objects of this package keep their mappings in ``MappingProxyType``
(read-only views), which the standard library cannot pickle. Registering a
reducer that rebuilds the proxy around a copied ``dict`` keeps them read-only
after a round trip.
"""

from __future__ import annotations

import copyreg
from types import MappingProxyType
from typing import Any


def _rebuild_mappingproxy(data: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType(data)


def _reduce_mappingproxy(proxy: MappingProxyType[Any, Any]) -> tuple[Any, tuple[dict[Any, Any]]]:
    return _rebuild_mappingproxy, (dict(proxy),)


copyreg.pickle(MappingProxyType, _reduce_mappingproxy)

"""The claims ledger's entries, one module per topic (each claim keeps its ``source`` as a field).

- :mod:`.lowrank`: rank-d fits and their bounds (``seed.ls-bound``, ``seed.wls-bound``,
  ``draft.theorem-ls``, ``draft.theorem-wls``, ``draft.lemma-taylor``, ``draft.lemma-wls``,
  ``draft.cor-permutation``);
- :mod:`.lookup`: look-up tables (``seed.lookup-bound``, ``draft.lookup-theorem``, ``paper.theorem2``);
- :mod:`.exact`: exact values of the best rank-d divergence (``seed.zero-divergence``,
  ``seed.no-quantity-limit``, ``paper.prop2``, ``paper.prop3``, ``paper.lemma1``);
- :mod:`.aot`: the AoT and the construction of ``T*`` (``draft.prop1``, ``paper.prop1``,
  ``paper.lemma2``, ``draft.lemma-rank``, ``paper.theorem1``, ``seed.theorem-aot``,
  ``paper.theorem3``, ``draft.cor-autoregressive``);
- :mod:`.capacity`: memorisation capacity (``paper.cor1``, ``paper.cor2``, ``paper.table1``);
- :mod:`.assoc`: associative memory (``seed.assoc-memory``).

Importing this package registers every claim (:func:`aotmem.verify.ledger.registry.register`), then adds
to each claim the counterexample the search kept for it (:data:`.kept.KEPT`,
:func:`aotmem.verify.ledger.registry.add_examples`), so every run replays it first.
"""

from aotmem.verify.ledger.registry import add_examples
from . import lowrank, lookup, exact, aot, capacity, assoc  # noqa: F401  in this order: the ledger lists claims by
# source, then by topic (written out, not a loop of importlib calls, so that tools following imports see them)
from .kept import KEPT

TOPICS = ("lowrank", "lookup", "exact", "aot", "capacity", "assoc")

for _key, _example in KEPT.items():
    add_examples(_key, _example)

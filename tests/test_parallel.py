"""aotmem.verify.ledger.parallel: the same verdicts whatever the number of workers, locally and on Dask."""

import json

import pytest

from aotmem.verify.ledger.registry import select
from aotmem.verify.ledger.runner import run_claims

# Cheap claims of different kinds: an identity and a bound searched with families and
# optimisation, a construction searched by sampling only, and one that fails.
CLAIMS = "draft.lemma-taylor[identity],paper.prop3[rate-upper],seed.zero-divergence[if],seed.lookup-bound[as-written]"


def _fingerprint(results):
    """What must not depend on where a claim ran: verdicts, counts, margins, counterexamples."""
    out = []
    for r in results:
        d = r.as_dict()
        out.append((d["key"], d["verdict"], d["instances"], d["outside"],
                    json.dumps(d["tightest"], sort_keys=True),
                    json.dumps((d["counterexample"] or {}).get("recipe"), sort_keys=True),
                    json.dumps(d["evidence"]["methods"], sort_keys=True)))
    return out


@pytest.fixture(scope="module")
def serial():
    res, interrupted = run_claims(select(CLAIMS), profile="quick", seed=3, workers=1)
    assert not interrupted
    return _fingerprint(res)


def test_workers_do_not_change_verdicts(serial):
    res, interrupted = run_claims(select(CLAIMS), profile="quick", seed=3, workers=2)
    assert not interrupted
    assert _fingerprint(res) == serial
    assert [f[1] for f in serial] == ["holds", "holds", "holds", "fails"]


def test_dask_local_cluster_gives_the_same_verdicts(serial):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        res, interrupted = run_claims(select(CLAIMS), profile="quick", seed=3, scheduler=client)
        assert not interrupted
        assert _fingerprint(res) == serial
        res2, _ = run_claims(select(CLAIMS), profile="quick", seed=3, scheduler=cluster.scheduler_address)
        assert _fingerprint(res2) == serial


def test_bad_scheduler_is_one_clear_error():
    pytest.importorskip("distributed")
    with pytest.raises(ValueError, match="`--scheduler`"):
        run_claims(select("paper.prop3[rate-upper]"), scheduler="not-an-address")

"""Claims of your own (verify/ledger/userclaims.py): a claims file outside the repository, run by the CLI, check,
assert_holds; the 50-digit re-check through aotmem.precision; the regime; bad input."""

import contextlib
import io
import json
import textwrap

import mpmath
import numpy as np
import pytest

import aotmem
from aotmem.theory import divergence as dv
from aotmem.theory import lowrank, spectra
from aotmem.theory import precise as pr
from aotmem.verify.cli import main
from aotmem.verify.ledger.userclaims import Regime, load_claims

# Public names only (``import aotmem``): what a user writes in a file of their own.
CLAIMS = textwrap.dedent('''
    import numpy as np
    import aotmem


    @aotmem.claim("mine.ls-bound", regime="1 <= d <= N - 2", tasks="full-support")
    def ls_bound(task, d):
        """dKL(pi, f_ls) <= seed.ls-bound (uniform-centred sigma, global max): true."""
        fit = aotmem.f_ls(task.prior, task.cond, d)
        return fit.divergence(task.prior, task.cond), aotmem.seed_ls_bound(task.prior, task.cond, d)


    @aotmem.claim("mine.ls-eighth", regime="1 <= d <= N - 2", tasks="full-support")
    def ls_eighth(task, d):
        """dKL(pi, f_ls) <= sigma_{d+1}^2 / 8: false."""
        fit = aotmem.f_ls(task.prior, task.cond, d)
        sigma = aotmem.sigma(task.prior, task.cond, d + 1)
        return aotmem.kl(task.prior, task.cond, fit.E @ fit.W.T), sigma * sigma / 8


    @aotmem.claim("mine.float64-only", regime="1 <= d <= N - 2", tasks="full-support")
    def float64_only(task, d):
        """Computed with np.log / np.linalg: cannot be re-evaluated at 50 digits."""
        fit = aotmem.f_ls(task.prior, task.cond, d)
        s = np.linalg.svd(np.log(task.cond), compute_uv=False)[d]
        return aotmem.kl(task.prior, task.cond, fit.F), s * s / 100


    @aotmem.claim("mine.params", sense=">=", eps=(0.0, 1.0), C=aotmem.log_range(1e-6, 0.5), tasks=("dirichlet", "lookup"))
    def params(task, eps, C):
        """(1 - eps) KL(pi, 0) + C >= 0 for every eps in [0, 1] and C > 0: true."""
        return (1 - eps) * aotmem.kl(task.prior, task.cond, np.zeros(task.cond.shape)) + C, 0
''')
FALSE = ("mine.ls-eighth", "mine.float64-only")


@pytest.fixture(scope="module")
def claims_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("outside") / "my_claims.py"
    path.write_text(CLAIMS)
    return path


@pytest.fixture(scope="module")
def cli_run(claims_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("json") / "out.json"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
        rc = main(["verify", "--claims-from", str(claims_file), "--claims", "seed.zero-divergence", "--json", str(out),
                   "--seed", "3", "--workers", "1"])
    assert rc == 0
    doc = json.loads(out.read_text())
    doc["_table"] = buf.getvalue()
    return doc, {r["key"]: r for r in doc["results"]}


def test_cli_runs_a_claims_file_from_outside_the_repository_beside_a_built_in_claim(cli_run):
    doc, res = cli_run
    mine = {"mine.ls-bound", "mine.ls-eighth", "mine.float64-only", "mine.params"}
    assert mine < set(res) and all(k.startswith("seed.zero-divergence") for k in set(res) - mine)
    assert sum(r["verdict"] == "fails" for k, r in res.items() if k in mine) == 2
    builtin = res[next(k for k in res if k.startswith("seed."))]
    for key in res:  # the same JSON schema as the built-in claims: the same keys, the same nesting
        assert set(res[key]) == set(builtin), key
        assert res[key]["source"] == ("user" if key.startswith("mine.") else "seed")


def test_a_true_claim_holds_with_its_evidence(cli_run):
    _, res = cli_run
    for key in ("mine.ls-bound", "mine.params"):
        r = res[key]
        assert r["verdict"] == "holds", r["reason"]
        m = r["evidence"]["methods"]
        assert m["sampling"] > 0 and m["families"] > 0 and m["optimisation"] > 0, m  # all three phases ran
        assert r["tightest"]["evaluation"]["violated"] is False and r["counterexample"] is None
    # the declared parameters are drawn over their ranges and searched by the optimiser
    tight = res["mine.params"]["tightest"]["recipe"]
    assert 0.0 <= tight["eps"] <= 1.0 and 1e-6 <= tight["C"] <= 0.5


def test_a_false_claim_fails_with_a_shrunk_50_digit_confirmed_counterexample(cli_run, claims_file):
    _, res = cli_run
    r = res["mine.ls-eighth"]
    assert r["verdict"] == "fails"
    cx = r["counterexample"]
    assert cx["recipe"]["kind"] == "explicit" and cx["evaluation"]["violated"]
    assert cx["recheck"]["confirmed"] is True and cx["recheck"]["dps"] == 50 and cx["recheck"]["method"] == "mpmath"
    assert "confirmed in 50-digit arithmetic" in r["reason"]
    # replayable: the recorded recipe violates the claim again, and both sides agree with the dps=50 evaluations
    (entry,) = [e for e in load_claims(claims_file) if e.key == "mine.ls-eighth"]
    ev = entry.evaluate(cx["recipe"])
    assert ev.violated and ev.lhs == cx["evaluation"]["lhs"]
    from aotmem.verify.ledger.recipes import task_from
    t = task_from(cx["recipe"])
    d = cx["recipe"]["d"]
    with mpmath.workdps(50):
        lhs = dv.kl(t.prior, t.cond, lowrank.f_ls(t.prior, t.cond, d, dps=pr.DPS).F, dps=pr.DPS)
        s = spectra.singular_values(t.prior, t.cond, dps=pr.DPS)[d]
        assert lhs > s * s / 8
        assert mpmath.nstr(lhs, 15) == mpmath.nstr(mpmath.mpf(cx["recheck"]["lhs"]), 15)
    # shrunk: no larger than the instance it was found as
    found = cx["found_as"]
    if found.get("kind") == "explicit":
        assert len(cx["recipe"]["logits"]) * cx["recipe"]["N"] <= len(found["logits"]) * found["N"]


def test_a_claim_that_cannot_be_re_evaluated_says_so(cli_run, capsys):
    _, res = cli_run
    r = res["mine.float64-only"]
    rc = r["counterexample"]["recheck"]
    assert r["verdict"] == "fails" and rc["confirmed"] is None and rc["unavailable"] is True
    assert rc["note"].startswith("float64 only, not re-checked:")
    assert "NOT re-checked in extended precision" in r["reason"]


def test_the_table_says_float64_only(cli_run):
    out = cli_run[0]["_table"]
    line = next(ln for ln in out.splitlines() if ln.startswith("mine.float64-only"))
    assert "fails (float64 only, not re-checked)" in line and "float64" in line
    line = next(ln for ln in out.splitlines() if ln.startswith("mine.ls-eighth"))
    assert "mp50" in line


def test_nothing_is_registered_inside_the_package(claims_file):
    from aotmem.verify.ledger.registry import all_claims

    load_claims(claims_file)
    assert not any(c.key.startswith("mine.") for c in all_claims())


def test_check_and_assert_holds_give_the_cli_verdicts_for_the_same_seed(cli_run, claims_file):
    _, res = cli_run
    entries = {e.key: e for e in load_claims(claims_file)}
    r = aotmem.check(entries["mine.params"], seed=3)
    assert (r.verdict, r.instances) == (res["mine.params"]["verdict"], res["mine.params"]["instances"])
    r = aotmem.assert_holds(entries["mine.ls-bound"], seed=3)  # returns the result when it holds
    assert (r.verdict, r.instances) == ("holds", res["mine.ls-bound"]["instances"])
    assert r.tightest["recipe"] == res["mine.ls-bound"]["tightest"]["recipe"]
    with pytest.raises(AssertionError) as info:
        aotmem.assert_holds(entries["mine.ls-eighth"], seed=3)
    msg = str(info.value)
    assert "mine.ls-eighth: fails" in msg and "Falsifying example" in msg and "confirmed at 50 digits" in msg
    assert json.dumps(res["mine.ls-eighth"]["counterexample"]["recipe"], sort_keys=True) in msg


def test_decorated_functions_are_checked_in_process_and_stay_callable():
    @aotmem.claim("mine.entropy", tasks="full-support")
    def entropy_bound(task):
        """h(pi_t) <= log N for every row."""
        return max(aotmem.entropy(task.cond)), mpmath.log(task.N)

    task = aotmem.dirichlet_task(3, 1, seed=0)
    lhs, rhs = entropy_bound(task)
    assert lhs <= rhs
    res = aotmem.check(entropy_bound)
    assert res.verdict == "holds" and res.instances > 100 and res.source == "user"


def test_workers_load_the_users_file(cli_run, tmp_path):
    path = tmp_path / "two.py"  # two cheap claims of the file: each worker process imports it
    path.write_text(CLAIMS.split("@aotmem.claim")[0] + "@aotmem.claim" + CLAIMS.split("@aotmem.claim")[3]
                    + "@aotmem.claim" + CLAIMS.split("@aotmem.claim")[4])
    out = tmp_path / "w.json"
    assert main(["verify", "--claims-from", str(path), "--json", str(out), "--workers", "2", "--seed", "3"]) == 0
    got = {r["key"]: r for r in json.loads(out.read_text())["results"]}
    assert set(got) == {"mine.float64-only", "mine.params"}
    for key, r in got.items():  # the verdicts do not depend on the number of workers
        assert (r["verdict"], r["instances"]) == (cli_run[1][key]["verdict"], cli_run[1][key]["instances"])


def test_readings_are_claims_of_their_own():
    @aotmem.claim("mine.sv-readings", regime="1 <= d <= min(N - 2, T - 1)", tasks="full-support",
                  readings={"uniform": {"reading": "uniform"}, "pi": {"reading": "pi"}})
    def sv(task, d, reading):
        return aotmem.sigma(task.prior, task.cond, d + 1, reading), aotmem.sigma(task.prior, task.cond, d, reading)

    results = aotmem.check(sv)
    assert [r.key for r in results] == ["mine.sv-readings[uniform]", "mine.sv-readings[pi]"]
    assert all(r.verdict == "holds" for r in results)  # sigma_{d+1} <= sigma_d, each reading


# ---------------------------------------------------------------- the regime --


def test_regime_filters_and_bounds_d():
    r = Regime("1 <= d <= min(N - 2, T), eps < 1/2", {"N", "T", "S", "d", "eps"})
    assert r.bounds_of("d", {"N": 5, "T": 2, "S": 1}) == (1, 2)
    assert r.outside({"N": 5, "T": 4, "S": 1, "d": 3, "eps": 0.1}) is None
    assert "eps < 1/2 fails" in r.outside({"N": 5, "T": 4, "S": 1, "d": 3, "eps": 0.7})
    assert "fails" in r.outside({"N": 5, "T": 4, "S": 1, "d": 4, "eps": 0.1})
    assert Regime("d > 1 and d < N", {"N", "d"}).bounds_of("d", {"N": 6}) == (2, 5)


@pytest.mark.parametrize("kwargs, match", [
    ({"regime": "1 <= k"}, "unknown name 'k'"),
    ({"regime": "d"}, "not a comparison"),
    ({"regime": "__import__('os') < 1"}, "unknown name|may be called"),
    ({"tasks": "nonsense"}, "`tasks`"),
    ({"sense": "<"}, "`sense`"),
    ({"eps": (1.0, 0.0)}, "`lo` must be <="),
    ({"eps": "wide"}, "parameter `eps`"),
])
def test_bad_declarations_are_refused_with_a_clear_error(kwargs, match):
    kwargs = {"eps": (0.0, 1.0), **kwargs}
    with pytest.raises(ValueError, match=match):
        @aotmem.claim("mine.bad", **kwargs)
        def f(task, d, eps):
            return 0, 1


def test_undeclared_parameters_and_bad_files_are_refused(tmp_path, capsys):
    with pytest.raises(ValueError, match="parameter 'eps' has no range"):
        @aotmem.claim("mine.bad")
        def f(task, eps):
            return 0, 1
    assert main(["verify", "--claims-from", str(tmp_path / "missing.py")]) == 2
    assert "does not exist" in capsys.readouterr().err
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    assert main(["verify", "--claims-from", str(empty)]) == 2
    assert "defines no claim" in capsys.readouterr().err
    clash = tmp_path / "clash.py"
    clash.write_text("import aotmem\n\n@aotmem.claim('seed.zero-divergence')\ndef f(task):\n    return 0, 1\n")
    assert main(["verify", "--claims-from", str(clash)]) == 2
    assert "already defined" in capsys.readouterr().err


# ---------------------------------------------------------------- docs/own-claims.md --


def test_the_pages_claims_file_prints_the_pages_table(tmp_path, capsys, monkeypatch):
    """docs/own-claims.md's `my_claims.py`, run from a directory outside the repository, prints the table shown."""
    import doctest
    import re
    from pathlib import Path

    page = (Path(__file__).resolve().parent.parent / "docs" / "own-claims.md").read_text()
    blocks = re.findall(r"^```(\w*)\n(.*?)^```", page, re.S | re.M)
    source = next(body for lang, body in blocks if lang == "python" and "@aotmem.claim" in body)
    table = next(body for lang, body in blocks if lang == "text")
    (tmp_path / "my_claims.py").write_text(source)
    monkeypatch.chdir(tmp_path)
    assert main(["verify", "--claims-from", "my_claims.py", "--json", "out.json"]) == 0
    got = capsys.readouterr().out
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    assert doctest.OutputChecker().check_output(table, got, flags), got
    res = {r["key"]: r for r in json.loads((tmp_path / "out.json").read_text())["results"]}
    cx = res["mine.ls-eighth"]["counterexample"]
    assert cx["recipe"]["logits"] == [[0.0, -1.0, 1.0], [0.0, 0.0, -1.0]] and cx["recipe"]["weights"] == [4e-10, 1.0]
    assert cx["recheck"]["lhs"] in page and cx["recheck"]["rhs"] in page
    assert res["mine.ls-bound"]["verdict"] == "holds"


def test_own_families_and_existence_claims():
    calls = []

    def spike(rng, T, N, d):  # a family of the user's own: one large logit per row
        calls.append((T, N))
        Z = np.zeros((T, N))
        Z[np.arange(T), rng.integers(N, size=T)] = 9.0
        return Z, np.zeros(T)

    @aotmem.claim("mine.kl-nonneg", tasks=("explicit",), families={"spike": spike, "peaked": None})
    def kl_nonneg(task):
        return aotmem.kl(task.prior, task.cond, np.zeros(task.cond.shape)), 0

    res = aotmem.check(kl_nonneg)
    # sense "<=" with rhs 0: KL(pi, uniform) > 0 is a violation; found in the families or the sampling
    assert res.verdict == "fails" and res.counterexample["recheck"]["confirmed"] is True

    @aotmem.claim("mine.kl-nonneg2", sense=">=", tasks=("explicit",), families={"spike": spike, "peaked": None})
    def kl_nonneg2(task):
        return aotmem.kl(task.prior, task.cond, np.zeros(task.cond.shape)), 0

    res = aotmem.check(kl_nonneg2)
    assert res.verdict == "holds" and set(res.evidence["families"]) <= {"spike", "peaked"}
    assert res.evidence["families"].get("spike", 0) > 0 and calls

    @aotmem.claim("mine.witness", kind="construction", tasks=("dirichlet",))
    def witness(task):
        """A witness (the uniform map) reaches divergence 0.01: it misses, a finding about the witness."""
        return aotmem.kl(task.prior, task.cond, np.zeros(task.cond.shape)), 0.01

    res = aotmem.check(witness)
    assert res.verdict == "no-witness" and "finding about the witness" in res.reason


def test_assert_holds_fails_on_instances_that_raise_as_hypothesis_would():
    @aotmem.claim("mine.index", regime="1 <= d <= N - 2", tasks=("explicit",))
    def index(task, d):  # singular_values has min(T, N) entries: index d fails when T <= d
        s = aotmem.singular_values(task.prior, task.cond)
        return 0, s[d] + 1

    res = aotmem.check(index)
    assert res.verdict == "holds" and res.errors > 0  # the ledger's verdict, errors counted
    with pytest.raises(AssertionError, match=r"raised on \d+ instance\(s\)[\s\S]*IndexError"):
        aotmem.assert_holds(index)
    assert aotmem.assert_holds(index, allow_errors=True).verdict == "holds"

"""Issue 17 item 5: every public formula of the theory names its claim id and its source in a References section.

For the modules below, every public function (a name without a leading underscore defined in the module, in
``__all__`` or not) has a numpydoc ``References`` section that names at least one claim id, and every claim
named there is registered: its id (``paper.theorem1``, ``paper.theorem1+factor2``) is the id of a registered
claim and, when a reading is given in brackets (``paper.lemma2[certified]``), ``id[reading]`` is a registered key
(a reading with ``...`` in it stands for several and is not looked up). Functions that are not formulas of the
theory (file input/output, chunk sizes, text tokenisation) are listed in ``NOT_FORMULAS`` with the reason; a
stale entry there fails too.
"""

import importlib
import inspect
import re

import pytest

from aotmem.verify.ledger.registry import all_claims

MODULES = ("construct", "construct_batch", "aot", "optimal", "optimal_batch", "capacity", "assoc", "ngram",
           "targets", "task", "certify", "divergence", "spectra", "bounds", "lookup", "lowrank", "exact", "precise",
           "batch", "symbolic", "generators")

# Public methods that are formulas of the theory (the AoT's forward pass and its parameter count).
METHODS = (("aot", "AoT.logits"), ("aot", "AoT.hidden"), ("aot", "AoT.param_count"))

# module.function -> why it has no claim: not a formula of the theory.
NOT_FORMULAS = {
    "aot.forward_chunk": "a chunk size of the forward pass (memory), no formula",
    "aot.load_aot": "file input",
    "task.save_task": "file output",
    "task.load_task": "file input",
    "construct.save_target": "file output",
    "construct.load_target": "file input",
    "ngram.tokenize": "text to symbols (real-text tasks, docs/real-text.md), no claim",
    "ngram.choose_alphabet": "which symbols a text task keeps, no claim",
    "ngram.count_contexts": "counting n(t, o) in a text, no claim",
    "ngram.counts_task": "the task model of docs/theory.md#notation built from counts (its References say so); "
                         "no claim computes it",
    "ngram.text_task": "a text to a task (tokenize, count, counts_task), no claim",
    "ngram.load_counts": "file input",
    "ngram.python_docs_text": "a bundled text corpus",
    "ngram.python_docs_split": "a split of that corpus",
    "divergence.auto_chunk": "a chunk size of the streamed divergence (memory), no formula",
    "bounds.check_bound_input": "input validation (Assumption 2, d >= 1) shared by the bounds, no formula",
    "lowrank.check_fit": "input validation: a name of FITS, no formula",
    "precise.resolution": "the accuracy of the 50-digit re-check (docs/theory.md#how-a-verdict-is-searched), "
                          "no formula",
    "precise.to_float": "mpmath to float64 conversion, no formula",
    "precise.default_dps": "the digits of a dps= evaluation that names none, no formula",
    "precise.working": "the working-precision context of a dps= evaluation, no formula",
    "precise.exact_task": "float64 input converted exactly and renormalised, no formula",
    "precise.exact_rows": "float64 rows converted exactly and renormalised, no formula",
    "precise.exact_log": "log Pi with the Assumption 2 check (the formula is the caller's kernel's), no formula",
    "precise.exact_stack": "one exact instance as a stack of one, no formula",
    "precise.exact_number": "a number converted exactly to mpf, no formula",
    "precise.exact_array": "an array converted exactly to an object array of mpf, no formula",
    "precise.run_exact": "runs a caller's kernel on one instance and raises its refusal, no formula",
    "precise.float64_exactly": "an object array checked to hold float64 numbers exactly, no formula",
    "precise.decide_mp": "the verifier's 50-digit decision rule (docs/theory.md#how-a-verdict-is-searched), "
                         "not a formula of a claim",
    "batch.tasks_from_logits": "batched explicit_task: instances from logits and weights, no formula",
    "batch.recipes_from_batch": "the ledger's recipes of a batch (bookkeeping), no formula",
    "generators.make_prior": "the prior (uniform or Zipf) of every generated task, for every recipe kind; "
                             "no claim of its own",
    "generators.random_task": "dispatch to the generator named by a recipe's kind (KINDS), no formula",
}

# A numpydoc section header: a title line followed by a line of dashes.
SECTION = re.compile(r"^(\w[\w ]*)\n-+\n", re.M)
# A claim named in double back-quotes: ``source.name``, with an optional +correction and [reading].
CLAIM = re.compile(r"``((?:seed|draft|paper)\.[^`\[]+)(?:\[([^`\]]*)\])?``")


def references_section(doc: str | None) -> str | None:
    """The text of the ``References`` section of a (cleaned) docstring, or None."""
    if not doc:
        return None
    heads = list(SECTION.finditer(doc))
    for i, m in enumerate(heads):
        if m.group(1) == "References":
            end = heads[i + 1].start() if i + 1 < len(heads) else len(doc)
            return doc[m.end():end]
    return None


def claim_problems(doc: str | None, ids: set, keys: set) -> list[str]:
    """What is wrong with ``doc``'s References section: missing, no claim id, or an unregistered claim."""
    refs = references_section(doc)
    if refs is None:
        return ["no References section"]
    found = CLAIM.findall(refs)
    if not found:
        return ["its References section names no claim id"]
    bad = []
    for cid, reading in found:
        if cid not in ids:
            bad.append(f"unregistered claim id {cid!r}")
        elif reading and "..." not in reading and f"{cid}[{reading}]" not in keys:
            bad.append(f"unregistered reading {cid}[{reading}]")
    return bad


@pytest.fixture(scope="module")
def registry():
    keys = {c.key for c in all_claims()}
    return {k.split("[")[0] for k in keys}, keys


def public_functions(mod_name: str) -> dict:
    mod = importlib.import_module(f"aotmem.theory.{mod_name}")
    return {f"{mod_name}.{name}": obj for name, obj in vars(mod).items()
            if inspect.isfunction(obj) and not name.startswith("_") and obj.__module__ == mod.__name__}


def test_parser_can_fail(registry):
    ids, keys = registry
    assert claim_problems("f.\n", ids, keys) == ["no References section"]
    assert claim_problems("f.\n\nReferences\n----------\ndocs/theory.md#aot.\n", ids, keys) == [
        "its References section names no claim id"]
    assert claim_problems("f.\n\nReferences\n----------\n``paper.theorem9``.\n", ids, keys) == [
        "unregistered claim id 'paper.theorem9'"]
    assert claim_problems("f.\n\nReferences\n----------\n``paper.lemma2[nope]``.\n", ids, keys) == [
        "unregistered reading paper.lemma2[nope]"]
    # a claim named in another section does not count
    assert claim_problems("f ``paper.theorem1``.\n\nReferences\n----------\nnone.\n\nExamples\n--------\n"
                          "``paper.theorem1``\n", ids, keys) == ["its References section names no claim id"]
    assert claim_problems("f.\n\nReferences\n----------\n``paper.theorem1+factor2`` and "
                          "``paper.lemma2[certified]``, ``paper.theorem1[as-written,...]``.\n", ids, keys) == []


@pytest.mark.parametrize("mod_name", MODULES)
def test_public_functions_name_their_claim(mod_name, registry):
    ids, keys = registry
    funcs = public_functions(mod_name)
    assert funcs, f"no public function found in theory/{mod_name}.py"
    problems = {name: claim_problems(inspect.getdoc(f), ids, keys)
                for name, f in funcs.items() if name not in NOT_FORMULAS}
    problems = {k: v for k, v in problems.items() if v}
    assert not problems, f"public functions without a References section naming a registered claim: {problems}"


def test_methods_name_their_claim(registry):
    ids, keys = registry
    problems = {}
    for mod_name, qual in METHODS:
        obj = importlib.import_module(f"aotmem.theory.{mod_name}")
        for part in qual.split("."):
            obj = getattr(obj, part)
        if p := claim_problems(inspect.getdoc(obj), ids, keys):
            problems[f"{mod_name}.{qual}"] = p
    assert not problems, problems


def test_not_formulas_list_is_current():
    public = {}
    for m in MODULES:
        public.update(public_functions(m))
    stale = sorted(set(NOT_FORMULAS) - set(public))
    assert not stale, f"NOT_FORMULAS names functions that are not public functions of these modules: {stale}"

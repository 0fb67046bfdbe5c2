"""Published claims about V1 receptive fields, declared as data, and the one verdict on them.

Every published claim effcode tests is declared here once, as frozen dataclasses: the paper, each
quantity the paper makes a statement about (its *parts*), the direction of each statement and the
test that checks it.  Experiments compute the tests; :func:`verdict` turns their results into a
verdict and a sentence, so no experiment words a verdict of its own.

The claims (:data:`CLAIMS`):

* :data:`RINGACH2002`: model filters have more subfields (larger nx), are more elongated (larger
  ny) and include fewer blob-like units than V1 simple cells;
* :data:`REHN_SOMMER2007`: a hard-sparse code is closer to V1 than a soft-sparse one (distance,
  lower nx, lower ny, more blob-like units), and closer still as overcompleteness grows;
* :data:`ZYLBERBERG2011`: SAILnet's receptive fields are not distinguishable from V1's in the nx–ny
  plane, and its blob-like fraction is not lower than V1's;
* :data:`OLSHAUSEN2013`: a highly overcomplete code learns more diverse receptive fields (wider spread
  of log nx and of log ny, more blob-like units).

Results (what an experiment passes for each part)
-------------------------------------------------
A **test** is a dict:

``estimate``
    the part's statistic, signed as its comparison reads: for "A − B" a positive estimate means A
    is higher (for a test against V1, A is the model population);
``lo``, ``hi`` (optional)
    its 95% interval;
``p_value``
    the two-sided p of "no difference", unless ``alternative`` names a one-sided test; NaN when the
    test could not be made;
``alternative`` (optional)
    ``"two-sided"`` (the default), ``"greater"`` or ``"less"``: the side a one-sided ``p_value``
    tests.  The other side is then read as 1 − p (exact for a continuous statistic, approximate
    for a discrete one);
``p_holm`` (optional)
    the p already adjusted by the caller for its own family; without it Holm's correction is
    applied here, over the family the part's :class:`Test` declares;
``n`` (optional)
    seeds (a paired test) or units (a test against V1's cells) the test used;
``n_permutations`` (optional)
    B of a permutation test, whose smallest possible p is 1/(B + 1);
``constant`` (optional)
    True for a paired difference that is the same in every seed: it has no p (NaN) and is said in words;
``label`` (optional)
    what the test compares ("l0 (hard) 1x against L1 sparse coding 1x"), for the sentence.

A **bracket** is ``{"least": test, "most": test}``: the same test with the units whose class is
undetermined placed at the ends of their intervals that make the population least and most V1-like.
A part's **result** is a test, a bracket, or a list of them (one per seed, or one per condition the
part covers, such as each hard code at each size).

Verdict
-------
Every p is adjusted by Holm's step-down method within its family (the claim's paired tests
together; the elements of one per-seed part together), separately at each end of the brackets.
With α = :data:`ALPHA` and p' the adjusted p in the direction of the estimate, an element is

* for a directional part ("higher", "lower"): *holds* when p' < α and the estimate lies on the
  claimed side, *opposite* when p' < α on the other side, else *not significant*;
* for a part that forbids a side ("not lower", "not higher") or any difference ("same"): *opposite*
  when p' < α on a forbidden side, else *holds* (not distinguished: the test cannot show sameness).

A part's state at one end: a directional part holds when every element holds (an intersection-union
test), is opposite when every element is opposite, and is otherwise not significant; a part that
forbids a side is opposite when any element is, and otherwise holds.  A part is *undetermined* when
its two ends disagree, and *not tested* when it has no result with a finite p.

The claim is **reproduced** when every part holds, **contradicted** when some part is significant
the other way, **partly** reproduced when some but not all parts hold, and **not significant** when
none holds and none is reversed.  Parts not tested count as not holding.  When some parts are
undetermined the claim is judged at every combination of their ends: one verdict for all of them is
stated, otherwise the claim is **undetermined**.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from ..errors import InputError
from ..stats import holm
from .findings import BLOB_EDGE, v1_blob_count

#: significance level of every verdict (after Holm's correction within its family)
ALPHA = 0.05

#: the ends of a bracket: undetermined units placed to make the population least / most V1-like
ENDS = ("least", "most")

#: the directions a part can claim; the first two are directional, the others forbid a side
DIRECTIONS = ("higher", "lower", "not lower", "not higher", "same")

#: the states of a part, and the verdicts of a claim
STATES = ("holds", "opposite", "not significant", "undetermined", "not tested")
VERDICTS = ("reproduced", "partly", "contradicted", "not significant", "undetermined", "not tested")


@dataclass(frozen=True)
class Paper:
    """A publication: ``short`` names it in sentences, ``citation`` in full."""

    short: str
    citation: str


@dataclass(frozen=True)
class Test:
    """How a part is tested: its ``name`` in words, the ``family`` Holm's correction runs over
    (``"claim"``: every p of the claim's parts with this family; ``"part"``: the elements of one
    part, such as its seeds) and what ``n`` counts (``unit``)."""

    key: str
    name: str
    family: str
    unit: str


@dataclass(frozen=True)
class Part:
    """One statement of a claim: ``quantity`` compared as ``comparison`` ("A − B") in ``direction``,
    measured by ``statistic`` (what a result's ``estimate`` is) and tested by ``test``; ``words`` is
    the statement in a sentence."""

    key: str
    quantity: str
    comparison: str
    direction: str
    statistic: str
    test: Test
    words: str

    def __post_init__(self):
        if self.direction not in DIRECTIONS:
            raise InputError(f"direction of part {self.key!r} must be one of {DIRECTIONS}, got {self.direction!r}")


@dataclass(frozen=True)
class Claim:
    """A published claim: the ``paper``, what it reported (``statement``, ``where`` in the paper)
    and its ``parts``, every one of which must hold for the claim to be reproduced."""

    key: str
    paper: Paper
    statement: str
    where: str
    parts: tuple[Part, ...]

    def part(self, key: str) -> Part:
        for p in self.parts:
            if p.key == key:
                return p
        raise InputError(f"part must be one of {[p.key for p in self.parts]} of claim {self.key!r}, got {key!r}")


PAIRED_T = Test("paired_t", "paired t-test across seeds (same seeds, same image patches), Holm within the claim",
                family="claim", unit="seeds")
PERMUTATION = Test("permutation", "two-sample permutation test of the nx–ny histogram against Ringach's 79 cells "
                   "in each seed, Holm across seeds", family="part", unit="units")
FISHER = Test("fisher", "Fisher's exact test of the blob-like fraction against V1's in each seed, Holm across seeds",
              family="part", unit="units")
MANN_WHITNEY = Test("mann_whitney", "Mann–Whitney test on Ringach's bins against V1's 79 cells in each seed, Holm "
                    "across seeds", family="part", unit="units")

#: every test a claim uses
TESTS = {t.key: t for t in (PAIRED_T, PERMUTATION, FISHER, MANN_WHITNEY)}

_BLOB = f"blob-like fraction (nx and ny < {BLOB_EDGE:.2f})"

RINGACH2002 = Claim(
    key="ringach2002",
    paper=Paper("Ringach (2002)", "Ringach DL (2002). Spatial structure and symmetry of simple-cell receptive "
                "fields in macaque primary visual cortex. J Neurophysiol 88(1):455–463."),
    statement="the filters of ICA and sparse coding differ from V1 simple cells: more subfields, more elongated, "
              "and too few blob-like units",
    where="the figure that plots model filters over the macaque cells in the nx–ny plane",
    parts=(
        Part("more_subfields", "nx", "model − V1", "higher", "P(model > V1) − ½ of nx on Ringach's bins",
             MANN_WHITNEY, "more subfields (larger nx) than V1 cells"),
        Part("more_elongated", "ny", "model − V1", "higher", "P(model > V1) − ½ of ny on Ringach's bins",
             MANN_WHITNEY, "more elongated (larger ny) than V1 cells"),
        Part("fewer_blobs", _BLOB, "model − V1", "lower", "difference in blob-like fraction (model − V1)",
             FISHER, f"fewer blob-like units (nx and ny < {BLOB_EDGE:.2f}) than V1"),
    ))

REHN_SOMMER2007 = Claim(
    key="rehn_sommer2007",
    paper=Paper("Rehn & Sommer (2007)", "Rehn M, Sommer FT (2007). A network that uses few active neurones to code "
                "visual input predicts the diverse shapes of cortical receptive fields. J Comput Neurosci "
                "22(2):135–146."),
    statement="a hard-sparse code (few active units: sparse-set coding) has receptive fields much closer to V1's "
              "nx–ny distribution than a soft-sparse code (SparseNet's smooth penalty): fewer subfields, less "
              "elongated, blob-like fields as V1 has; and closer still as overcompleteness grows",
    where="the figure that plots sparse-set coding's and SparseNet's receptive fields over Ringach's cells in the "
          "nx–ny plane, at increasing overcompleteness",
    parts=(
        Part("closer", "nx–ny distance to V1", "hard − soft", "lower", "difference in nx–ny distance (hard − soft)",
             PAIRED_T, "hard codes closer to V1 than soft codes"),
        Part("lower_nx", "median nx", "hard − soft", "lower", "difference in median nx (hard − soft)",
             PAIRED_T, "fewer subfields (lower median nx) in hard codes"),
        Part("lower_ny", "median ny", "hard − soft", "lower", "difference in median ny (hard − soft)",
             PAIRED_T, "less elongated (lower median ny) in hard codes"),
        Part("more_blobs", _BLOB, "hard − soft", "higher", "difference in blob-like fraction (hard − soft)",
             PAIRED_T, "more blob-like units in hard codes"),
        Part("closer_with_overcompleteness", "nx–ny distance to V1", "highest overcompleteness − 1x", "lower",
             "difference in nx–ny distance (highest overcompleteness − 1x)", PAIRED_T,
             "hard codes closer to V1 as overcompleteness grows"),
    ))

ZYLBERBERG2011 = Claim(
    key="zylberberg2011",
    paper=Paper("Zylberberg, Murphy & DeWeese (2011)", "Zylberberg J, Murphy JT, DeWeese MR (2011). A sparse coding "
                "model with synaptically local plasticity and spiking neurons can account for the diverse shapes of "
                "V1 simple cell receptive fields. PLoS Comput Biol 7(10):e1002250."),
    statement="SAILnet's receptive fields span the diversity of V1 simple cells in the nx–ny plane, blob-like fields "
              "included, unlike earlier sparse codes",
    where="the figure that plots SAILnet's receptive fields in the nx–ny plane over Ringach's (2002) cells",
    parts=(
        Part("like_v1", "nx–ny histogram", "SAILnet vs V1", "same", "nx–ny distance to V1", PERMUTATION,
             "nx–ny histogram not distinguishable from V1's"),
        Part("blobs_not_fewer", _BLOB, "SAILnet − V1", "not lower", "difference in blob-like fraction (SAILnet − V1)",
             FISHER, "blob-like fraction not lower than V1's"),
    ))

OLSHAUSEN2013 = Claim(
    key="olshausen2013",
    paper=Paper("Olshausen (2013)", "Olshausen BA (2013). Highly overcomplete sparse coding. Proc SPIE 8651, Human "
                "Vision and Electronic Imaging XVIII, 86510S."),
    statement="a highly overcomplete sparse code learns a more diverse set of receptive fields",
    where="the figures of basis functions learned at increasing overcompleteness",
    parts=(
        Part("wider_nx", "spread of log10 nx", "highest overcompleteness − 1x", "higher",
             "difference in the interquartile range of log10 nx (highest overcompleteness − 1x)", PAIRED_T,
             "more diverse nx (wider spread of log nx)"),
        Part("wider_ny", "spread of log10 ny", "highest overcompleteness − 1x", "higher",
             "difference in the interquartile range of log10 ny (highest overcompleteness − 1x)", PAIRED_T,
             "more diverse ny (wider spread of log ny)"),
        Part("more_blobs", _BLOB, "highest overcompleteness − 1x", "higher",
             "difference in blob-like fraction (highest overcompleteness − 1x)", PAIRED_T, "more blob-like units"),
    ))

#: every published claim effcode tests, by key
CLAIMS = {c.key: c for c in (RINGACH2002, REHN_SOMMER2007, ZYLBERBERG2011, OLSHAUSEN2013)}


# ----------------------------------------------------------------------------- reading results


def _is_bracket(result) -> bool:
    return isinstance(result, Mapping) and set(result) >= set(ENDS) and "estimate" not in result


def _checked(test, where: str) -> dict:
    if not isinstance(test, Mapping) or "estimate" not in test or "p_value" not in test:
        raise InputError(f"{where} must be a test dict with 'estimate' and 'p_value' (or a bracket "
                         f"{{'least': test, 'most': test}}), got {test!r}")
    alternative = test.get("alternative", "two-sided")
    if alternative not in ("two-sided", "greater", "less"):
        raise InputError(f"{where}: alternative must be 'two-sided', 'greater' or 'less', got {alternative!r}")
    for key in ("p_value", "p_holm"):
        p = float(test.get(key, math.nan))
        if math.isfinite(p) and not 0.0 <= p <= 1.0:
            raise InputError(f"{where}: {key} must lie in [0, 1], got {p}")
    return dict(test)


def _at_ends(result, where: str) -> dict[str, list[dict]]:
    """The elements of a part's result at each end of its brackets (a plain test is both ends)."""
    elements = list(result) if isinstance(result, (list, tuple)) else [result]
    out: dict[str, list[dict]] = {end: [] for end in ENDS}
    for i, element in enumerate(elements):
        name = f"{where}[{i}]" if len(elements) > 1 else where
        for end in ENDS:
            test = element[end] if _is_bracket(element) else element
            out[end].append(_checked(test, f"{name}['{end}']" if _is_bracket(element) else name))
    return out


def _side_and_p(test: Mapping) -> tuple[int, float]:
    """The side the estimate lies on (+1, −1, 0) and the p of a difference toward that side."""
    estimate, p = float(test["estimate"]), float(test["p_value"])
    side = 0 if not math.isfinite(estimate) or estimate == 0 else (1 if estimate > 0 else -1)
    alternative = test.get("alternative", "two-sided")
    if alternative == "two-sided" or not math.isfinite(p):
        return side, p
    tested = 1 if alternative == "greater" else -1
    return (tested, p) if side in (0, tested) else (side, 1.0 - p)


# ----------------------------------------------------------------------------- the verdict


@dataclass(frozen=True)
class Element:
    """One test of a part at one end: the test, the side of its estimate, its p toward that side, the
    adjusted p (Holm within the family) and its state."""

    test: Mapping
    side: int
    p: float
    p_adjusted: float
    state: str


@dataclass(frozen=True)
class PartVerdict:
    """A part's ``state`` (see the module docstring), its state at each end (``ends``), its
    ``elements`` at each end, and the ``untested`` results (p NaN: too few seeds or units, or a paired
    difference that is the same in every seed) that could not enter the verdict."""

    part: Part
    state: str
    ends: Mapping[str, str]
    elements: Mapping[str, tuple[Element, ...]] = field(repr=False)
    untested: tuple[Mapping, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class Verdict:
    """The verdict on a claim: ``verdict`` (one of :data:`VERDICTS`), its ``parts``, the ``subject``
    tested (a learner or population; may be empty) and the ``sentence`` that says it all."""

    claim: Claim
    subject: str
    verdict: str
    parts: tuple[PartVerdict, ...]
    sentence: str

    def part(self, key: str) -> PartVerdict:
        return next(p for p in self.parts if p.part.key == key)


def _element_state(direction: str, side: int, p_adjusted: float, alpha: float) -> str:
    significant = math.isfinite(p_adjusted) and p_adjusted < alpha
    if direction in ("higher", "lower"):
        claimed = 1 if direction == "higher" else -1
        if not significant or side == 0:
            return "not significant"
        return "holds" if side == claimed else "opposite"
    forbidden = {"not lower": (-1,), "not higher": (1,), "same": (-1, 0, 1)}[direction]
    return "opposite" if significant and side in forbidden else "holds"


def _part_state(direction: str, states: Sequence[str]) -> str:
    if not states:
        return "not tested"
    if direction in ("higher", "lower"):
        return states[0] if all(s == states[0] for s in states) else "not significant"
    return "opposite" if "opposite" in states else "holds"


def _adjusted(tests: list[dict], sides_ps: list[tuple[int, float]]) -> list[float]:
    """Holm over the tests without a caller's ``p_holm``; a caller's value is kept."""
    own = [i for i, t in enumerate(tests) if "p_holm" not in t]
    adjusted = holm([sides_ps[i][1] for i in own])
    out = [float(t.get("p_holm", math.nan)) for t in tests]
    for i, q in zip(own, adjusted):
        out[i] = q
    return out


def _category(states: Sequence[str]) -> str:
    tested = [s for s in states if s != "not tested"]
    if not tested:
        return "not tested"
    if "opposite" in tested:
        return "contradicted"
    if all(s == "holds" for s in states):
        return "reproduced"
    return "partly" if "holds" in tested else "not significant"


def _claim_verdict(parts: Sequence[PartVerdict]) -> str:
    """The claim's category at every combination of the undetermined parts' ends: one, or "undetermined"."""
    options = [tuple(p.ends.values()) if p.state == "undetermined" else (p.state,) for p in parts]
    found = {_category(combo) for combo in itertools.product(*options)}
    return found.pop() if len(found) == 1 else "undetermined"


def verdict(claim: Claim | str, results: Mapping[str, object], *, subject: str = "", alpha: float = ALPHA) -> Verdict:
    """The verdict on ``claim`` from the ``results`` of its parts (part key -> test, bracket or list of
    them, as the module docstring describes; a part left out is "not tested"), with its sentence.

    Pure: the same results give the same verdict and sentence.
    """
    if isinstance(claim, str):
        if claim not in CLAIMS:
            raise InputError(f"claim must be one of {sorted(CLAIMS)}, got {claim!r}")
        claim = CLAIMS[claim]
    if not 0.0 < alpha < 1.0:
        raise InputError(f"alpha must lie in (0, 1), got {alpha}")
    unknown = set(results) - {p.key for p in claim.parts}
    if unknown:
        raise InputError(f"results must name parts of {claim.key!r} ({[p.key for p in claim.parts]}), "
                         f"got {sorted(unknown)}")
    by_end: dict[str, dict[str, list]] = {p.key: _at_ends(results[p.key], f"results[{p.key!r}]") if results.get(p.key) is not None
              else {end: [] for end in ENDS} for p in claim.parts}
    # tests that could not be made (p NaN) do not enter the verdict or the families; the sentence says why
    untested = {k: tuple(t for t in ends["least"] if not math.isfinite(float(t["p_value"])))
                for k, ends in by_end.items()}
    by_end = {k: {end: [t for t in tests if math.isfinite(float(t["p_value"]))] for end, tests in ends.items()}
              for k, ends in by_end.items()}
    elements: dict[str, dict[str, tuple[Element, ...]]] = {p.key: {} for p in claim.parts}
    for end in ENDS:
        families: dict[object, list[tuple[str, int]]] = {}
        for p in claim.parts:
            for i in range(len(by_end[p.key][end])):
                families.setdefault("claim" if p.test.family == "claim" else p.key, []).append((p.key, i))
        adjusted: dict[tuple[str, int], float] = {}
        for members in families.values():
            tests = [by_end[k][end][i] for k, i in members]
            adjusted.update(zip(members, _adjusted(tests, [_side_and_p(t) for t in tests])))
        for p in claim.parts:
            out = []
            for i, test in enumerate(by_end[p.key][end]):
                side, p_raw = _side_and_p(test)
                q = adjusted[(p.key, i)]
                out.append(Element(test, side, p_raw, q, _element_state(p.direction, side, q, alpha)))
            elements[p.key][end] = tuple(out)
    parts = []
    for p in claim.parts:
        ends = {end: _part_state(p.direction, [e.state for e in elements[p.key][end]]) for end in ENDS}
        state = ends["least"] if ends["least"] == ends["most"] else "undetermined"
        parts.append(PartVerdict(p, state, ends, elements[p.key], untested[p.key]))
    verdicts = tuple(parts)
    found = _claim_verdict(verdicts)
    return Verdict(claim, subject, found, verdicts, _sentence(claim, subject, found, verdicts))


# ----------------------------------------------------------------------------- words


def p_text(p: float, *, n_permutations: int | None = None, name: str = "p") -> str:
    """A p-value in a sentence: "p = 0.034", "p < 0.001", or "p < 1/201" when a permutation test with
    B = 200 draws is at its floor 1/(B + 1)."""
    if p is None or not math.isfinite(p):
        return f"{name} –"
    if n_permutations and p <= 1.0 / (n_permutations + 1) * (1 + 1e-9):
        return f"{name} < 1/{n_permutations + 1}"
    return f"{name} {_p_value(p)}" if p < 0.001 else f"{name} = {_p_value(p)}"


def _p_value(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _number(value, digits: int = 3) -> str:
    return f"{value:+.{digits}f}" if math.isfinite(value) else "–"


def _statistic(part: Part, e: Element) -> str:
    t = e.test
    lo, hi = float(t.get("lo", math.nan)), float(t.get("hi", math.nan))
    text = f"{part.statistic} {_number(float(t['estimate']))}"
    if math.isfinite(lo) and math.isfinite(hi):
        text += f" [95% CI {_number(lo)}, {_number(hi)}]"
    b = t.get("n_permutations")
    text += f", {p_text(float(t['p_value']), n_permutations=b)}"
    if t.get("alternative", "two-sided") != "two-sided":
        text += f" (one-sided, {t['alternative']})"
    text += f", {p_text(e.p_adjusted, name='Holm-adjusted p')}"
    if t.get("n") is not None and math.isfinite(float(t["n"])):
        text += f", {int(t['n'])} {part.test.unit}"
    return f"{t['label']}: {text}" if t.get("label") else text


def _seeds_summary(part: Part, elements: Sequence[Element]) -> str:
    """Unlabelled elements (one per seed): the range of the estimates and of the adjusted p, and counts."""
    estimates = [float(e.test["estimate"]) for e in elements]
    adjusted = [e.p_adjusted for e in elements]
    n = len(elements)
    holds = sum(e.state == "holds" for e in elements)
    opposite = sum(e.state == "opposite" for e in elements)
    b = next((e.test.get("n_permutations") for e in elements if e.test.get("n_permutations")), None)
    floor = (f", raw p at the floor 1/{b + 1} in {sum(e.p <= 1 / (b + 1) * (1 + 1e-9) for e in elements)}"
             if b else "")
    return (f"{n} seed{'s' * (n != 1)}: {part.statistic} {_span(estimates, _number)}, Holm-adjusted p "
            f"{_span(adjusted, _p_value)}{floor}; holds in {holds}, "
            f"{'rejected' if part.direction not in ('higher', 'lower') else 'the other way'} in {opposite}")


def _span(values: Sequence[float], show) -> str:
    """"a to b" of some values, or the one value when they are all equal."""
    lo, hi = show(min(values)), show(max(values))
    return lo if lo == hi else f"{lo} to {hi}"


def _elements_text(part: Part, elements: Sequence[Element]) -> str:
    if not elements:
        return "no test"
    if len(elements) > 1 and not all(e.test.get("label") for e in elements):
        return _seeds_summary(part, elements)
    return "; ".join(_statistic(part, e) for e in elements)


def _state_words(pv: PartVerdict) -> str:
    if pv.state == "opposite":
        forbidden = {"not lower": "lower", "not higher": "higher", "same": "different"}
        return ("significantly the other way" if pv.part.direction in ("higher", "lower")
                else f"rejected, significantly {forbidden[pv.part.direction]}")
    return {"undetermined": "undetermined, the bracket's ends disagree", "not tested": "not tested here"}.get(
        pv.state, pv.state)


def _untested_text(part: Part, test: Mapping) -> str:
    """Why a result has no p: a paired difference with no spread over seeds, or too few seeds or units."""
    label = f"{test['label']}: " if test.get("label") else ""
    if test.get("constant"):
        return (f"{label}{part.statistic} {_number(float(test['estimate']))} in every one of {test.get('n')} seeds, "
                "no spread and so no test")
    return f"{label}too few {part.test.unit} for a test"


def _part_text(pv: PartVerdict) -> str:
    if pv.state == "not tested":
        why = "; ".join(dict.fromkeys(_untested_text(pv.part, t) for t in pv.untested))
        return f"{pv.part.words}: {_state_words(pv)}" + (f" ({why})" if why else "")
    least, most = pv.elements["least"], pv.elements["most"]
    if [e.test for e in least] == [e.test for e in most]:
        detail = _elements_text(pv.part, least)
    else:
        detail = (f"least V1-like end, {pv.ends['least']}: {_elements_text(pv.part, least)}; most V1-like end, "
                  f"{pv.ends['most']}: {_elements_text(pv.part, most)}")
    return f"{pv.part.words}: {_state_words(pv)} ({detail})"


def _names(parts: Sequence[PartVerdict], state: str) -> list[str]:
    return [p.part.words for p in parts if p.state == state]


def verdict_phrase(found: str, parts: Sequence[PartVerdict]) -> str:
    """The verdict in words, naming the parts it rests on."""
    if found == "reproduced":
        return "reproduced (every part holds)"
    if found == "contradicted":
        return "contradicted (" + "; ".join(f"{p.part.words}: {_state_words(p)}" for p in parts
                                            if p.state == "opposite") + ")"
    if found == "undetermined":
        return ("undetermined (the bracket's ends disagree on " + "; ".join(_names(parts, "undetermined")) + ")")
    if found == "not tested":
        return "not tested here"
    held = _names(parts, "holds")
    others = [f"{p.part.words} ({p.state})" for p in parts if p.state != "holds"]
    if found == "partly":
        return f"partly reproduced (holds: {'; '.join(held)}; does not hold: {'; '.join(others)})"
    return "not reproduced (no part is significant either way)"


def _sentence(claim: Claim, subject: str, found: str, parts: Sequence[PartVerdict]) -> str:
    who = f"{subject}: " if subject else ""
    return (f"{who}{claim.paper.short} reported that {claim.statement}: {verdict_phrase(found, parts)}. "
            + "; ".join(_part_text(p) for p in parts) + ".")


def short_sentence(v: Verdict) -> str:
    """The verdict without statistics: the subject, the paper and the verdict phrase."""
    who = f"{v.subject}: " if v.subject else ""
    return f"{who}{v.claim.paper.short}: {verdict_phrase(v.verdict, v.parts)}."


# ----------------------------------------------------------------------------- results from effcode's tests


def from_paired_test(test: Mapping, *, label: str | None = None) -> dict:
    """A claim test from a paired test across seeds (:func:`effcode.stats.paired_test`, with
    ``difference``, ``lo``, ``hi``, ``p_value``, ``n``, ``constant``; ``p_holm`` is dropped so that Holm
    runs within the claim).  A bracket ``{"least": ..., "most": ...}`` of such tests is converted end by end."""
    if _is_bracket(test):
        return {end: from_paired_test(test[end], label=label) for end in ENDS}
    out = {"estimate": float(test["difference"]), "lo": float(test.get("lo", math.nan)),
           "hi": float(test.get("hi", math.nan)), "p_value": float(test["p_value"]), "n": test.get("n"),
           "constant": bool(test.get("constant", False))}
    return {**out, "label": label} if label else out


def from_ringach_finding(key: str, finding: Mapping) -> dict:
    """A claim test from one seed's Ringach finding (:func:`effcode.v1.findings.ringach_findings`):
    the one-sided Mann–Whitney test of nx or ny (estimate P(model > V1) − ½) or Fisher's test of fewer
    blob-like units (estimate: the fraction minus V1's).  A bracket is converted end by end."""
    if _is_bracket(finding):
        return {end: from_ringach_finding(key, finding[end]) for end in ENDS}
    n = finding.get("n_model")
    if key == "fewer_blobs":
        k, n_v1 = v1_blob_count()
        v1 = float(finding.get("v1_fraction", k / n_v1))
        return {"estimate": float(finding["fraction"]) - v1, "p_value": float(finding["p_value"]),
                "alternative": "less", "n": n}
    return {"estimate": float(finding["effect"]) - 0.5, "p_value": float(finding["p_value"]),
            "alternative": "greater", "n": n}


def ringach_results(per_seed_findings: Sequence[Mapping]) -> dict[str, list[dict]]:
    """The results of :data:`RINGACH2002` from one population's per-seed ``findings`` dicts (the
    scorer's ``metrics()["findings"]``): each part a list with one test per seed."""
    return {p.key: [from_ringach_finding(p.key, f[p.key]) for f in per_seed_findings] for p in RINGACH2002.parts}

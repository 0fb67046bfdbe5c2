"""Published claims as data, and the one verdict: hand-made results with known verdicts."""

import math

import pytest

from effcode.errors import InputError
from effcode.v1 import claims
from effcode.v1.claims import CLAIMS, verdict


def paired(estimate, p, **extra):
    """A paired test across 3 seeds with a 95% interval around ``estimate``."""
    return {"estimate": estimate, "lo": estimate - 0.01, "hi": estimate + 0.01, "p_value": p, "n": 3, **extra}


def seeds(estimate, ps, **extra):
    return [{"estimate": estimate, "p_value": p, "n": 60, **extra} for p in ps]


# -- the declarations ---------------------------------------------------------------------------

def test_every_claim_is_declared_once_with_its_paper_parts_directions_and_tests():
    assert set(CLAIMS) == {"ringach2002", "rehn_sommer2007", "zylberberg2011", "olshausen2013"}
    assert [p.key for p in CLAIMS["ringach2002"].parts] == ["more_subfields", "more_elongated", "fewer_blobs"]
    assert [(p.key, p.direction) for p in CLAIMS["rehn_sommer2007"].parts] == [
        ("closer", "lower"), ("lower_nx", "lower"), ("lower_ny", "lower"), ("more_blobs", "higher"),
        ("closer_with_overcompleteness", "lower")]
    assert [(p.key, p.direction, p.test.key) for p in CLAIMS["zylberberg2011"].parts] == [
        ("like_v1", "same", "permutation"), ("blobs_not_fewer", "not lower", "fisher")]
    assert [(p.key, p.direction) for p in CLAIMS["olshausen2013"].parts] == [
        ("wider_nx", "higher"), ("wider_ny", "higher"), ("more_blobs", "higher")]
    assert "J Neurophysiol 88(1):455" in CLAIMS["ringach2002"].paper.citation
    assert "J Comput Neurosci 22(2):135" in CLAIMS["rehn_sommer2007"].paper.citation
    assert "PLoS Comput Biol 7(10):e1002250" in CLAIMS["zylberberg2011"].paper.citation
    assert "Proc SPIE 8651" in CLAIMS["olshausen2013"].paper.citation
    with pytest.raises(Exception):                        # frozen: data, not state
        CLAIMS["ringach2002"].parts[0].direction = "lower"
    with pytest.raises(InputError, match="direction of part 'x'"):
        claims.Part("x", "nx", "a − b", "bigger", "d", claims.PAIRED_T, "w")


# -- every verdict --------------------------------------------------------------------------------

def test_reproduced_only_when_every_part_holds():
    v = verdict("olshausen2013", {"wider_nx": paired(0.10, 0.001), "wider_ny": paired(0.13, 0.002),
                                  "more_blobs": paired(0.02, 0.004)})
    assert v.verdict == "reproduced" and {p.state for p in v.parts} == {"holds"}
    # Holm within the claim: sorted p 0.001, 0.002, 0.004 -> 3·0.001, 2·0.002, 0.004 -> 0.003, 0.004, 0.004
    assert [p.elements["least"][0].p_adjusted for p in v.parts] == pytest.approx([0.003, 0.004, 0.004])
    assert v.sentence.startswith("Olshausen (2013) reported that a highly overcomplete sparse code learns a more "
                                 "diverse set of receptive fields: reproduced (every part holds).")
    assert ("more diverse ny (wider spread of log ny): holds (difference in the interquartile range of log10 ny "
            "(highest overcompleteness − 1x) +0.130 [95% CI +0.120, +0.140], p = 0.002, Holm-adjusted p = 0.004, "
            "3 seeds)") in v.sentence


def test_partly_names_the_parts_that_hold_and_those_that_do_not():
    v = verdict("olshausen2013", {"wider_nx": paired(0.007, 0.545), "wider_ny": paired(0.131, 0.002),
                                  "more_blobs": paired(0.016, 0.0001)})
    assert v.verdict == "partly"
    assert ("partly reproduced (holds: more diverse ny (wider spread of log ny); more blob-like units; does not "
            "hold: more diverse nx (wider spread of log nx) (not significant))") in v.sentence
    assert "Holm-adjusted p = 0.545" in v.sentence and "p < 0.001, Holm-adjusted p < 0.001" in v.sentence


def test_a_raw_p_below_alpha_does_not_hold_when_holm_within_the_claim_lifts_it():
    v = verdict("olshausen2013", {"wider_nx": paired(0.1, 0.03), "wider_ny": paired(0.1, 0.04),
                                  "more_blobs": paired(0.1, 0.02)})
    assert v.verdict == "not significant" and "not reproduced (no part is significant either way)" in v.sentence
    # 3·0.02 = 0.06: nothing is rejected at 5%
    assert v.part("more_blobs").elements["least"][0].p_adjusted == pytest.approx(0.06)


def test_contradicted_names_the_part_significant_the_other_way_even_when_the_headline_part_holds():
    # experiment 06's committed numbers: hard codes closer to V1 but with a higher median nx
    v = verdict("rehn_sommer2007", {"closer": paired(-0.144, 0.001), "lower_nx": paired(0.050, 0.0001),
                                    "lower_ny": paired(-0.322, 0.0001), "more_blobs": paired(0.0, 0.423)})
    assert v.verdict == "contradicted"
    assert v.part("closer").state == "holds" and v.part("lower_nx").state == "opposite"
    assert "contradicted (fewer subfields (lower median nx) in hard codes: significantly the other way)" in v.sentence
    assert v.part("more_blobs").state == "not significant"
    assert v.part("closer_with_overcompleteness").state == "not tested"
    assert "hard codes closer to V1 as overcompleteness grows: not tested here" in v.sentence


def test_undetermined_when_the_bracket_straddles_and_decided_when_both_ends_agree():
    straddles = {"least": paired(0.01, 0.6), "most": paired(0.1, 0.001)}
    v = verdict("olshausen2013", {"wider_nx": straddles, "wider_ny": paired(0.13, 0.001), "more_blobs": paired(0.1, 0.001)})
    assert v.part("wider_nx").state == "undetermined"
    assert v.part("wider_nx").ends == {"least": "not significant", "most": "holds"}
    assert v.verdict == "undetermined"        # reproduced at one end, partly at the other
    assert "undetermined (the bracket's ends disagree on more diverse nx (wider spread of log nx))" in v.sentence
    assert "least V1-like end, not significant: " in v.sentence and "most V1-like end, holds: " in v.sentence
    both = verdict("olshausen2013", {"wider_nx": {"least": paired(0.08, 0.001), "most": paired(0.1, 0.001)},
                                     "wider_ny": paired(0.13, 0.001), "more_blobs": paired(0.1, 0.001)})
    assert both.verdict == "reproduced"
    # an undetermined part that cannot change the verdict: a reversed part contradicts at both ends
    settled = verdict("olshausen2013", {"wider_nx": straddles, "wider_ny": paired(-0.13, 0.001),
                                        "more_blobs": paired(0.1, 0.001)})
    assert settled.verdict == "contradicted" and settled.part("wider_nx").state == "undetermined"


def test_holm_runs_at_each_end_of_the_brackets_separately():
    v = verdict("olshausen2013", {"wider_nx": {"least": paired(0.1, 0.02), "most": paired(0.1, 0.001)},
                                  "wider_ny": paired(0.1, 0.02), "more_blobs": paired(0.1, 0.02)})
    assert [e.p_adjusted for e in v.part("wider_ny").elements["least"]] == pytest.approx([0.06])
    assert [e.p_adjusted for e in v.part("wider_ny").elements["most"]] == pytest.approx([0.04])
    assert v.part("wider_ny").state == "undetermined"


def test_nothing_tested():
    v = verdict("olshausen2013", {"wider_nx": paired(0.1, math.nan)})
    assert v.verdict == "not tested" and "not tested here" in v.sentence


# -- each declared claim ----------------------------------------------------------------------------

def test_ringach_per_seed_parts_hold_only_in_every_seed_and_reverse_only_in_every_seed():
    results = {"more_subfields": seeds(0.2, [0.001, 0.002, 0.3], alternative="greater"),
               "more_elongated": seeds(0.4, [0.001] * 3, alternative="greater"),
               # one-sided "greater" p of 0.99 with P(model > V1) below ½: significantly smaller
               "fewer_blobs": seeds(0.15, [0.995] * 3, alternative="less")}
    v = verdict("ringach2002", results, subject="ICA")
    assert v.part("more_subfields").state == "not significant"         # holds in 2 of 3 seeds only
    assert v.part("more_elongated").state == "holds"
    assert v.part("fewer_blobs").state == "opposite"                   # 1 − 0.995 = 0.005, Holm 0.015
    assert v.verdict == "contradicted"
    assert v.sentence.startswith("ICA: Ringach (2002) reported that")
    assert "3 seeds: P(model > V1) − ½ of ny on Ringach's bins +0.400, Holm-adjusted p 0.003" in v.sentence
    assert "holds in 2, the other way in 0" in v.sentence


def test_ringach_results_read_the_scorers_findings_and_their_brackets():
    finding = {"more_subfields": {"p_value": 0.001, "effect": 0.7, "n_model": 60, "holds": True},
               "more_elongated": {"p_value": 0.99, "effect": 0.3, "n_model": 60, "holds": False},
               "fewer_blobs": {"p_value": 0.001, "fraction": 0.0, "v1_fraction": 19 / 79, "n_model": 60}}
    results = claims.ringach_results([finding, finding])
    assert results["more_subfields"][0] == {"estimate": pytest.approx(0.2), "p_value": 0.001,
                                            "alternative": "greater", "n": 60}
    assert results["fewer_blobs"][1]["estimate"] == pytest.approx(-19 / 79)
    v = verdict("ringach2002", results)
    assert [p.state for p in v.parts] == ["holds", "opposite", "holds"] and v.verdict == "contradicted"
    bracketed = claims.from_ringach_finding("fewer_blobs", {"least": finding["fewer_blobs"],
                                                            "most": {**finding["fewer_blobs"], "fraction": 0.3,
                                                                     "p_value": 0.8}})
    assert bracketed["most"]["estimate"] == pytest.approx(0.3 - 19 / 79)
    v = verdict("ringach2002", {"fewer_blobs": [bracketed] * 2})
    assert v.part("fewer_blobs").state == "undetermined"


def test_rehn_sommer_reproduced_across_sizes_and_hard_codes_and_partly_when_a_size_is_lost():
    closer = [from_paired(-0.3, 0.001, "l0 1x against L1 1x"), from_paired(-0.25, 0.002, "top-k 1x against L1 1x")]
    grows = [from_paired(-0.2, 0.001, "l0 4x against l0 1x")]
    v = verdict("rehn_sommer2007", {"closer": closer, "closer_with_overcompleteness": grows})
    # three tests in the claim's Holm family: 0.003, 0.003, 0.003
    assert v.part("closer").state == "holds" and v.part("closer_with_overcompleteness").state == "holds"
    assert v.verdict == "partly"                                 # nx, ny and blobs not tested in this experiment
    assert "l0 1x against L1 1x: difference in nx–ny distance (hard − soft) -0.300" in v.sentence
    mixed = verdict("rehn_sommer2007", {"closer": [closer[0], from_paired(0.1, 0.001, "top-k 1x against L1 1x")]})
    assert mixed.part("closer").state == "not significant"       # the hard codes disagree


def from_paired(difference, p, label):
    return claims.from_paired_test({"difference": difference, "lo": difference - 0.02, "hi": difference + 0.02,
                                    "p_value": p, "p_holm": 0.5, "n": 5}, label=label)


def test_zylberberg_holds_when_no_seed_rejects_and_is_contradicted_by_one_rejection_after_holm():
    like = verdict("zylberberg2011", {"like_v1": seeds(0.3, [0.4, 0.6, 0.3], n_permutations=200),
                                      "blobs_not_fewer": seeds(-0.05, [0.3, 0.2, 0.4], alternative="less")})
    assert like.verdict == "reproduced"
    one = verdict("zylberberg2011", {"like_v1": seeds(0.7, [0.4, 1 / 201, 0.3], n_permutations=200),
                                     "blobs_not_fewer": seeds(-0.05, [0.3, 0.2, 0.4], alternative="less")})
    assert one.verdict == "contradicted" and one.part("like_v1").state == "opposite"   # 3/201 = 0.015 after Holm
    assert "nx–ny histogram not distinguishable from V1's: rejected, significantly different" in one.sentence
    assert "raw p at the floor 1/201 in 1" in one.sentence
    # three seeds at 0.02: Holm across seeds lifts them all to 0.06
    borderline = verdict("zylberberg2011", {"like_v1": seeds(0.5, [0.02] * 3)})
    assert borderline.part("like_v1").state == "holds" and borderline.verdict == "partly"
    fewer = verdict("zylberberg2011", {"blobs_not_fewer": seeds(-0.24, [0.001] * 3, alternative="less")})
    assert fewer.part("blobs_not_fewer").state == "opposite"
    assert "blob-like fraction not lower than V1's: rejected, significantly lower" in fewer.sentence
    # more blob-like units than V1 never rejects "not lower"
    more = verdict("zylberberg2011", {"blobs_not_fewer": seeds(0.2, [0.999] * 3, alternative="less")})
    assert more.part("blobs_not_fewer").state == "holds"


# -- words and bad input -------------------------------------------------------------------------

def test_p_at_the_permutation_floor_is_written_as_below_it():
    assert claims.p_text(1 / 201, n_permutations=200) == "p < 1/201"
    assert claims.p_text(2 / 201, n_permutations=200) == "p = 0.010"
    assert claims.p_text(0.0004) == "p < 0.001" and claims.p_text(math.nan) == "p –"
    v = verdict("zylberberg2011", {"like_v1": {"estimate": 0.7, "p_value": 1 / 1001, "n_permutations": 1000}})
    assert "nx–ny distance to V1 +0.700, p < 1/1001, Holm-adjusted p < 0.001" in v.sentence


def test_a_callers_holm_adjusted_p_is_kept():
    v = verdict("olshausen2013", {"wider_nx": paired(0.1, 0.01, p_holm=0.2), "wider_ny": paired(0.1, 0.01)})
    assert v.part("wider_nx").state == "not significant" and v.part("wider_ny").state == "holds"


def test_bad_input_names_what_was_expected():
    with pytest.raises(InputError, match="claim must be one of"):
        verdict("hubel1962", {})
    with pytest.raises(InputError, match=r"results must name parts of 'olshausen2013'"):
        verdict("olshausen2013", {"wider": paired(0.1, 0.01)})
    with pytest.raises(InputError, match=r"results\['wider_nx'\] must be a test dict"):
        verdict("olshausen2013", {"wider_nx": {"difference": 0.1}})
    with pytest.raises(InputError, match="alternative must be"):
        verdict("olshausen2013", {"wider_nx": paired(0.1, 0.01, alternative="up")})
    with pytest.raises(InputError, match=r"p_value must lie in \[0, 1\]"):
        verdict("olshausen2013", {"wider_nx": paired(0.1, 1.5)})
    with pytest.raises(InputError, match="alpha"):
        verdict("olshausen2013", {}, alpha=0.0)


def test_same_results_same_sentence():
    results = {"wider_nx": paired(0.1, 0.01), "wider_ny": {"least": paired(0.1, 0.2), "most": paired(0.1, 0.001)}}
    assert verdict("olshausen2013", results).sentence == verdict("olshausen2013", results).sentence
    assert claims.short_sentence(verdict("olshausen2013", results)) == (
        "Olshausen (2013): partly reproduced (holds: more diverse nx (wider spread of log nx); does not hold: more "
        "diverse ny (wider spread of log ny) (undetermined); more blob-like units (not tested)).")


def test_ringach_findings_are_the_parts_of_the_declared_claim():
    from effcode.v1 import FINDINGS
    assert tuple(p.key for p in claims.RINGACH2002.parts) == FINDINGS

"""setdyn.prose: the words the book's numbers choose."""
import pytest

from setdyn.prose import capitalised, count, count_words, ordinal, signed


def test_ordinal():
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111)] == \
        ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st", "111th"]


@pytest.mark.parametrize("k, n, text", [(24, 24, "all 24 slow networks"), (0, 24, "none of the 24 slow networks"),
                                        (20, 24, "20 of the 24 slow networks"), (2, 2, "2 of 2 slow networks"),
                                        (0, 1, "0 of 1 slow networks")])
def test_count_words_choose_the_quantifier(k, n, text):
    assert count_words(k, n, "slow networks") == text


def test_count_agrees_noun_and_verb():
    assert count(1, "network is", "networks are") == "1 network is"
    assert count(3, "network is", "networks are") == "3 networks are"


def test_signed_writes_zero_without_a_sign():
    assert [signed(x) for x in (120.0, -120.0, 0.0, -0.2, 0.4)] == ["+120", "-120", "0", "0", "0"]
    assert signed(-0.25, 1) == "-0.2" and signed(0.04, 1) == "0.0"


def test_capitalised_only_touches_the_first_letter():
    assert capitalised("all 18 seeds of SET") == "All 18 seeds of SET" and capitalised("") == ""


def test_the_papers_values_for_the_prose_are_its_constants():
    from setdyn import paper

    v = paper.prose_values()
    assert (v["paper_amplitude"], v["paper_period_ms"], v["paper_offset"]) == (7.0, 290.0, 1.5)
    assert v["paper_period_s"] == 0.29 and v["paper_rotation_deg"] == paper.PAPER_ROTATION_DEG
    assert [v[f"paper_kick_{c}"] for c in paper.COLORS] == ["0", "+120", "-120"]

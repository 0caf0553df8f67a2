"""Text that may not have been said gets a second look and is never kept as it was (issue 23).

The pieces are those a real run of the reference event's config gave on short real clips
(``benchmarks/invention.py``): a tail after the last sentence read as the previous sentence
again, a list of glossary terms, or sampled nonsense, each timed into a fraction of a second.
"""

from dataclasses import replace

from pipeline.asr import recheck
from pipeline.asr.results import Decoded, Word
from pipeline.core.config import GuardSettings

GUARDS = GuardSettings()


def _piece(words, avg_logprob=-0.3, no_speech_prob=0.05):
    """A decoded piece from (text, start_s, end_s, probability) words."""
    listed = [Word(s, e, t, p) for t, s, e, p in words]
    return Decoded(listed[0].start_s, listed[-1].end_s, "".join(w.text for w in listed).strip(), listed,
                   avg_logprob, no_speech_prob)


SENTENCE = _piece([(" you", 3.11, 3.43, 0.9), (" can", 3.43, 3.55, 1.0), (" call", 3.55, 3.73, 1.0),
                   (" me", 3.73, 3.91, 0.98), (" Abby.", 3.91, 4.21, 0.71)])
# lhotse's AMI headset clip under configs/demo.yaml: the previous sentence again, in 0.26 s.
ECHO = _piece([(" I'm", 4.21, 4.33, 0.14), (" Abigail", 4.33, 4.33, 0.0), (" Klaifren,", 4.33, 4.47, 0.0),
               (" you", 4.47, 4.47, 0.02), (" can", 4.47, 4.47, 0.1), (" call", 4.47, 4.47, 0.02),
               (" me", 4.47, 4.47, 0.36), (" Abby.", 4.47, 4.47, 0.0)], avg_logprob=-0.89, no_speech_prob=0.63)
SPEECH = [(1.372, 2.948), (3.26, 4.516)]


def _never(language, start_s, end_s):
    raise AssertionError("no speech is left for it: nothing to decode again")


def test_an_impossible_rate_is_never_kept_as_it_is():
    assert recheck.suspicion(ECHO, "en", True, SPEECH, True, GUARDS) == recheck.DROP_IMPOSSIBLE_RATE
    counters = {}
    # The VAD's speech runs 0.3 s past "Abby.": decoded again without the prompt, it reads as
    # nothing (faster-whisper's temperature-0 reading needed its fallback), so the echo goes.
    kept = recheck.settle([("en", 0.99, SENTENCE), ("en", 0.99, ECHO)], SPEECH, [3.1], lambda *_: [], GUARDS,
                          counters)
    assert [p[2].text for p in kept] == ["you can call me Abby."]
    assert counters["dropped_impossible_rate"] == 1
    # Where the sentence's words reach the end of the speech, nothing is left to decode.
    kept = recheck.settle([("en", 0.99, SENTENCE), ("en", 0.99, ECHO)], [(1.372, 2.948), (3.26, 4.3)], [3.1],
                          _never, GUARDS, counters)
    assert [p[2].text for p in kept] == ["you can call me Abby."]


def test_a_suspect_with_speech_left_is_read_again_without_the_prompt():
    # The VAD heard speech up to 5.6 s that the sentence's words do not take: decoded again.
    asked = []

    def redecode(language, start_s, end_s):
        asked.append((language, start_s, end_s))
        return [_piece([(" Thanks,", 4.6, 4.9, 0.9), (" everyone.", 4.9, 5.4, 0.85)])]

    counters = {}
    kept = recheck.settle([("en", 0.99, SENTENCE), ("en", 0.99, _piece([(" Abigail", 4.6, 4.6, 0.1)] * 30))],
                          [(3.26, 5.6)], [], redecode, GUARDS, counters)
    assert asked == [("en", 4.21, 5.6)]
    assert [p[2].text for p in kept] == ["you can call me Abby.", "Thanks, everyone."]
    assert counters["suspect_read_again"] == 1


def test_a_second_reading_that_repeats_the_neighbour_or_is_weak_is_not_kept():
    for reading in (_piece([(" Abby.", 4.3, 4.5, 0.9)]), _piece([(" Hmm", 4.3, 4.5, 0.2)])):
        counters = {}
        kept = recheck.settle([("en", 0.99, SENTENCE), ("en", 0.99, ECHO)], [(3.26, 5.0)], [],
                              lambda *_: [reading], GUARDS, counters)
        assert [p[2].text for p in kept] == ["you can call me Abby."]
        assert counters["dropped_impossible_rate"] == 1


def test_a_weak_short_piece_at_the_edge_is_settled_but_one_inside_speech_is_not():
    # configs/demo.yaml on a Common Voice clip: 「今度は、名前を出したいです。」 after the sentence, weak.
    tail = _piece([("今度は、", 5.7, 6.1, 0.3), ("名前を", 6.1, 6.4, 0.2), ("出したいです。", 6.4, 6.8, 0.3)],
                  avg_logprob=-1.2)
    sentence = _piece([("これは", 0.7, 1.5, 0.9), ("考えました。", 1.5, 5.68, 0.9)])
    assert recheck.suspicion(tail, "ja", True, [(0.956, 5.892)], False, GUARDS) == recheck.DROP_WEAK_EDGE
    assert recheck.suspicion(tail, "ja", False, [(0.956, 5.892)], False, GUARDS) is None
    # Weak, short and at an edge, but the VAD heard it as speech: someone's unclear words stay
    # (demo symposium: 「利用し。」 at 53.9 s, its own 0.7-s stretch of speech).
    unclear = _piece([("利", 53.88, 53.96, 0.46), ("用", 53.96, 54.08, 0.2), ("し。", 54.08, 54.28, 0.57)])
    assert recheck.suspicion(unclear, "ja", True, [(53.788, 54.468)], False, GUARDS) is None
    # ... unless it repeats the text next to it.
    assert recheck.suspicion(unclear, "ja", True, [(53.788, 54.468)], True, GUARDS) == recheck.DROP_WEAK_EDGE
    counters = {}
    kept = recheck.settle([("ja", 0.99, sentence), ("ja", 0.99, tail)], [(0.956, 5.892)], [], _never, GUARDS, counters)
    assert [p[2].text for p in kept] == ["これは考えました。"]
    assert counters["dropped_weak_edge"] == 1


def test_a_weak_tail_claiming_time_past_the_speech_is_dropped():
    # katiesteve under configs/demo.yaml: 1.7 s claimed, 0.27 s of it heard by the VAD.
    said = _piece([(" I'm", 16.62, 16.78, 1.0), (" going", 16.78, 16.84, 0.55), (" to", 16.84, 16.88, 1.0),
                   (" give", 16.88, 17.0, 1.0), (" this", 17.0, 17.14, 0.95), (" a", 17.14, 17.26, 1.0),
                   (" try.", 17.26, 17.46, 1.0)])
    tail = _piece([(" Good", 17.46, 19.16, 0.0), (" morning.", 19.16, 19.16, 0.07), (" Good", 19.16, 19.16, 0.32),
                   (" morning.", 19.16, 19.16, 0.88)], avg_logprob=-0.88, no_speech_prob=0.61)
    counters = {}
    kept = recheck.settle([("en", 1.0, said), ("en", 1.0, tail)], [(16.572, 17.732)], [], lambda *_: [], GUARDS,
                          counters)
    assert [p[2].text for p in kept] == ["I'm going to give this a try."]
    assert counters["dropped_weak_edge"] == 1


def test_a_tail_is_weak_by_its_no_speech_probability_or_its_words_on_one_instant():
    # katiesteve under the symposium's config: mean word probability 0.51, log probability -0.75,
    # but no-speech probability 0.66 and five of six words at 19.16 s.
    tail = _piece([(" Good", 17.46, 19.16, 0.0), (" morning.", 19.16, 19.16, 0.07), (" Good", 19.16, 19.16, 0.32),
                   (" morning.", 19.16, 19.16, 0.88), (" Good", 19.16, 19.16, 0.83), (" morning.", 19.16, 19.16, 0.95)],
                  avg_logprob=-0.75, no_speech_prob=0.66)
    assert recheck.weak(tail, GUARDS)
    assert recheck.weak(replace(tail, no_speech_prob=0.1), GUARDS)  # the words alone
    assert not recheck.weak(SENTENCE, GUARDS)
    assert recheck.suspicion(tail, "en", True, [(16.572, 17.732)], False, GUARDS) == recheck.DROP_WEAK_EDGE


def test_the_suspects_own_words_inside_speech_are_kept_when_they_are_sure():
    # Two sure words said, then the decoder's tail squeezed past the speech.
    piece = _piece([(" Thank", 8.0, 8.3, 0.95), (" you.", 8.3, 8.6, 0.93)]
                   + [(" Tom", 9.9, 9.9, 0.05), (" Hines", 9.9, 9.9, 0.04)] * 6)
    counters = {}
    kept = recheck.settle([("en", 0.99, piece)], [(7.9, 8.7)], [], lambda *_: [], GUARDS, counters)
    assert [p[2].text for p in kept] == ["Thank you."]
    assert counters["suspect_cut_to_speech"] == 1


def test_two_suspects_side_by_side_are_not_both_read_from_the_same_speech():
    first = _piece([(" Tom", 4.6, 4.6, 0.1)] * 30)
    second = _piece([(" Hines", 4.9, 4.9, 0.1)] * 30)
    reading = [_piece([(" Thanks,", 4.5, 4.9, 0.9), (" everyone.", 4.9, 5.4, 0.85)])]
    counters = {}
    kept = recheck.settle([("en", 1.0, SENTENCE), ("en", 1.0, first), ("en", 1.0, second)], [(3.26, 5.6)], [],
                          lambda *_: reading, GUARDS, counters)
    assert [p[2].text for p in kept] == ["you can call me Abby.", "Thanks, everyone."]
    assert counters["dropped_impossible_rate"] == 1


def test_speech_left_takes_out_what_other_words_say():
    taken = [(w.start_s, w.end_s) for w in SENTENCE.words]
    assert recheck.speech_left(ECHO, SPEECH, taken, 1.5) == [(4.21, 4.516)]
    assert recheck.speech_left(ECHO, [(0.0, 1.0)], [], 1.5) == []
    # No further than reach_s beyond the suspect's own span.
    assert recheck.speech_left(ECHO, [(3.0, 9.0)], taken, 1.0) == [(4.21, 5.47)]


def test_edges_are_the_first_and_last_pieces_between_pauses():
    pieces = [("en", 1.0, _piece([(" a", s, s + 0.5, 0.9)])) for s in (0.0, 1.0, 2.0, 5.0, 6.0)]
    assert recheck.edge_flags(pieces, [4.0]) == [True, False, True, True, True]

"""The benchmark's workloads: every case can be found by its id (the memory subprocess relies on it), every
contender of the small cases runs, and the subnormal-flushing variant leaves the CPU setting as it found it.
Nothing here times anything: the benchmark is a tool, not a test."""

import pytest

import minigrad
from minigrad.bench import subnormals, workloads

pytest.importorskip("torch")


def test_case_ids_are_unique_and_found_by_id():
    main_ids = [case.id for case in workloads.all_cases()]
    assert len(main_ids) == len(set(main_ids))
    # the scaling runs repeat some main sizes under the same id; the benchmark runs each id once
    cases = workloads.all_cases() + workloads.scaling_cases()
    for case_id in {case.id for case in cases}:
        assert workloads.find_case(case_id).id == case_id
    with pytest.raises(KeyError):
        workloads.find_case("no such workload/1x1")


SMALL = ["engine overhead (per op)/1000 ops x 8 elements", "LayerNorm fwd+bwd/64x1024",
         "BatchNorm1d fwd+bwd (train)/64x1024", "separate-LN RNN train step/T=50",
         "separate-LN RNN train step, subnormals flushed/T=50", "conv2d fwd+bwd (3x3, padding 1)/32x16x28x28->32"]


@pytest.mark.parametrize("case_id", SMALL)
def test_every_contender_of_a_small_case_runs(case_id):
    case = workloads.find_case(case_id)
    assert "minigrad" in case.contenders and "torch" in case.contenders
    flushing_before = minigrad.get_flush_denormal()
    for name, setup in case.contenders.items():
        call = setup()
        call()
        call()  # twice: each call clears the gradients it made, as the timed repetitions require
        assert minigrad.get_flush_denormal() == flushing_before, name


def test_the_subnormal_count_sees_none_on_a_short_sequence():
    gradients = subnormals.hidden_state_gradients(10, trained_steps=1)
    assert len(gradients) == 10 and gradients[0].shape == (workloads.RNN_BATCH, workloads.RNN_HIDDEN)
    assert subnormals.subnormal_counts(gradients) == (0.0, 0.0)
    import numpy
    tiny = numpy.finfo(numpy.float32).tiny
    with_one = [numpy.array([[tiny / 4, 1.0, 0.0, 2.0]], dtype=numpy.float32), numpy.ones((1, 4), numpy.float32)]
    assert subnormals.subnormal_counts(with_one) == (0.5, 1 / 8)


@pytest.mark.parametrize("flushing_before", [False, True])
def test_the_flushed_variant_flushes_during_the_call_and_restores_the_setting(flushing_before):
    seen = []
    call = workloads._flushing_subnormals(lambda: seen.append(minigrad.get_flush_denormal()),
                                          minigrad.set_flush_denormal)
    minigrad.set_flush_denormal(flushing_before)
    try:
        call()
        assert minigrad.get_flush_denormal() == flushing_before
    finally:
        minigrad.set_flush_denormal(False)
    if minigrad.set_flush_denormal(False):  # where the platform supports the setting at all
        assert seen == [True]


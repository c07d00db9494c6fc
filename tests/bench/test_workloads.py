"""The benchmark's workloads: every case can be found by its id (the memory subprocess relies on it), every
contender of the small cases runs, the subnormal-flushing variant leaves the CPU setting as it found it, the
accumulating cases add up gradients in both engines alike, and the loaded cases' helper processes start and
always stop. Nothing here times anything: the benchmark is a tool, not a test."""

import numpy
import pytest

import minigrad
from minigrad.bench import __main__ as main_module
from minigrad.bench import load, subnormals, workloads

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
         "separate-LN RNN train step, subnormals flushed/T=50", "conv2d fwd+bwd (3x3, padding 1)/32x16x28x28->32",
         "digits convnet epoch (lesson 13, BN, batch 32)/8x8 conv 8-16-32",
         "causal attention fwd+bwd/B=8 heads=4 T=128 d=64",
         "CharTransformer train step (pre-LN, Adam)/B=32 T=64 C=128 4 blocks"]


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



# --- accumulating gradients --------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["layernorm", "batchnorm"])
def test_the_accumulating_cases_add_up_gradients_alike_in_both_engines(kind):
    (case,) = workloads.normalization_cases(kind, quick=True, sizes=[(16, 32)], accumulate=True)
    assert "accumulating" in case.workload and set(case.contenders) == {"minigrad", "torch"}
    def gradients(name, call):  # copies of x.grad, weight.grad, bias.grad (one engine may update them in place)
        return [(t.grad.detach().numpy() if name == "torch" else t.grad.data).copy()
                for t in (call.tensors[0], call.tensors[2], call.tensors[3])]
    grads = {}
    for name, setup in case.contenders.items():
        call = setup()
        call()
        once = gradients(name, call)
        call()
        call()
        thrice = gradients(name, call)
        for single, accumulated in zip(once, thrice):
            assert numpy.abs(single).max() > 0
            numpy.testing.assert_allclose(accumulated, 3 * single, rtol=1e-5, atol=1e-6)
        grads[name] = thrice
    for mine, theirs in zip(grads["minigrad"], grads["torch"]):
        numpy.testing.assert_allclose(mine, theirs, rtol=1e-4, atol=1e-4)


def test_the_clearing_cases_do_not_accumulate():
    (case,) = workloads.normalization_cases("layernorm", quick=True, sizes=[(16, 32)])
    call = case.contenders["minigrad"]()
    call()
    once = call.tensors[0].grad.data.copy()
    call()
    numpy.testing.assert_array_equal(call.tensors[0].grad.data, once)


# --- the loaded machine ----------------------------------------------------------------------------------------

def test_every_loaded_case_has_its_idle_case_earlier_in_the_run_and_two_engines():
    ids = [case.id for case in workloads.all_cases()]
    loaded = [case for case in workloads.all_cases() if case.loaded]
    assert {"engine overhead", "LayerNorm", "BatchNorm1d", "RNN"} <= {
        word for case in loaded for word in ("engine overhead", "LayerNorm", "BatchNorm1d", "RNN")
        if word in case.workload}
    for case in loaded:
        assert case.idle_id in ids and ids.index(case.idle_id) < ids.index(case.id)
        assert set(case.contenders) == {"minigrad", "torch"}


def test_cpu_load_starts_one_helper_per_core_and_stops_them():
    with load.cpu_load() as helpers:
        assert len(helpers) == load.usable_cores()
        assert all(helper.poll() is None for helper in helpers)
    assert all(helper.poll() is not None for helper in helpers)


def test_cpu_load_stops_its_helpers_when_the_block_raises():
    with pytest.raises(ZeroDivisionError):
        with load.cpu_load(processes=2) as helpers:
            1 / 0
    assert len(helpers) == 2 and all(helper.poll() is not None for helper in helpers)


def test_a_helper_stops_by_itself_at_its_time_limit():
    with load.cpu_load(processes=1, limit_seconds=0.1) as helpers:
        assert helpers[0].wait(timeout=30) == 0


def test_a_loaded_case_runs_its_contenders_under_load(monkeypatch):
    seen = []
    real_cpu_load = main_module.cpu_load

    def recording_cpu_load():
        seen.append("load")
        return real_cpu_load(processes=1, limit_seconds=60)
    monkeypatch.setattr(main_module, "cpu_load", recording_cpu_load)
    report = main_module.run(quick=True, memory=False, only="engine overhead")
    assert seen == ["load"]
    loaded_rows = [row for row in report["rows"] if row["workload"].endswith(workloads.LOADED_SUFFIX)]
    assert {row["engine"] for row in loaded_rows} == {"minigrad", "torch"}
    assert all(row["slowdown"] > 0 for row in loaded_rows)
    assert "loaded / idle" in main_module.markdown(report)

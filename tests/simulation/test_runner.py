"""The study runner: seeding, parallel backends, checkpoints, failures, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from civmodels.simulation import (
    CheckpointMismatchError,
    DaskClientError,
    ReplicateFailureWarning,
    Study,
    StudyFailedError,
    replicate_rng,
    run,
)
from tests.simulation._studies import Interrupting, flaky, normal_summary

STUDY = Study(normal_summary, name="normal-summary", parameters={"n": 20})


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    # Threads in this process keep the test fast; two workers still exercise the
    # out-of-order completion that the seeding must be immune to.
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_replicate_stream_is_child_i_of_spawn():
    children = np.random.SeedSequence(42).spawn(7)
    for i in (0, 3, 6):
        expected = np.random.default_rng(children[i]).random(5)
        np.testing.assert_array_equal(replicate_rng(42, i).random(5), expected)


def test_table_matches_direct_computation():
    res = run(STUDY, 5, n_jobs=1, random_seed=11, progress=False)
    assert list(res.table.columns) == ["replicate", "stat", "value"]
    assert res.table["replicate"].tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    x = replicate_rng(11, 3).normal(size=20)
    row = res.table.loc[(res.table.replicate == 3) & (res.table.stat == "sd"), "value"]
    assert row.item() == pytest.approx(x.std(), rel=1e-15)
    assert res.n_failed == 0 and res.n_resumed == 0


def test_same_table_for_one_two_workers_and_dask(dask_client):
    one = run(STUDY, 24, n_jobs=1, random_seed=5, progress=False)
    two = run(STUDY, 24, n_jobs=2, random_seed=5, progress=False)
    dask = run(STUDY, 24, backend="dask", client=dask_client, random_seed=5, progress=False)
    chunked = run(
        STUDY, 24, backend="dask", client=dask_client, random_seed=5, chunk_size=5, progress=False
    )
    pd.testing.assert_frame_equal(one.table, two.table)
    pd.testing.assert_frame_equal(one.table, dask.table)
    pd.testing.assert_frame_equal(one.table, chunked.table)
    # a different seed gives a different table (the comparison above can fail)
    other = run(STUDY, 24, n_jobs=1, random_seed=6, progress=False)
    assert not one.table["value"].equals(other.table["value"])


def test_first_replicates_do_not_depend_on_n_sims():
    short = run(STUDY, 3, n_jobs=1, random_seed=9, progress=False).table
    long = run(STUDY, 8, n_jobs=1, random_seed=9, progress=False).table
    pd.testing.assert_frame_equal(short, long.loc[long.replicate < 3])


def test_failures_recorded_with_seeds_and_counted():
    with pytest.warns(ReplicateFailureWarning, match=r"\d+ of 40 replicates .* failed"):
        res = run(Study(flaky, name="flaky"), 40, n_jobs=1, random_seed=2, progress=False)
    expected = [i for i in range(40) if replicate_rng(2, i).random() < 0.25]
    assert expected, "the seed should produce some failures"
    assert res.failures["replicate"].tolist() == expected
    assert res.n_failed == len(expected)
    assert set(res.failures["error_type"]) == {"ZeroDivisionError"}
    assert res.failures["message"].str.startswith("bad draw").all()
    assert (res.failures["seed_entropy"] == 2).all()
    assert sorted(set(res.table["replicate"]) | set(expected)) == list(range(40))
    assert "failed" in res.summary().to_markdown()


def test_failures_identical_in_parallel(dask_client):
    with pytest.warns(ReplicateFailureWarning):
        one = run(Study(flaky, name="flaky"), 30, n_jobs=1, random_seed=4, progress=False)
    with pytest.warns(ReplicateFailureWarning):
        dask = run(
            Study(flaky, name="flaky"),
            30,
            backend="dask",
            client=dask_client,
            random_seed=4,
            progress=False,
        )
    pd.testing.assert_frame_equal(one.failures, dask.failures)
    pd.testing.assert_frame_equal(one.table, dask.table)


def test_all_failing_raises():
    with pytest.raises(StudyFailedError, match="all 5 replicates"):
        run(Study(flaky, parameters={"fail_every": 1}), 5, n_jobs=1, random_seed=1, progress=False)


def test_resume_after_interruption(tmp_path):
    path = tmp_path / "study.parquet"
    interrupted = Interrupting(stop_at=7)
    with pytest.raises(KeyboardInterrupt):
        run(
            Study(interrupted, name="resume"),
            20,
            n_jobs=1,
            random_seed=3,
            checkpoint=path,
            checkpoint_every=100,
            progress=False,
        )
    assert path.exists()
    resumed = Interrupting(stop_at=None)
    res = run(
        Study(resumed, name="resume"), 20, n_jobs=1, random_seed=3, checkpoint=path, progress=False
    )
    assert res.n_resumed == 7
    assert resumed.calls == 13  # only the missing replicates were computed
    fresh = run(
        Study(Interrupting(None), name="resume"), 20, n_jobs=1, random_seed=3, progress=False
    )
    pd.testing.assert_frame_equal(res.table, fresh.table)
    # a finished study is not recomputed
    again = Interrupting(stop_at=None)
    res2 = run(
        Study(again, name="resume"), 20, n_jobs=1, random_seed=3, checkpoint=path, progress=False
    )
    assert again.calls == 0 and res2.n_resumed == 20
    pd.testing.assert_frame_equal(res2.table, fresh.table)


def test_checkpoint_keeps_failures_and_extends(tmp_path):
    path = tmp_path / "flaky.parquet"
    study = Study(flaky, name="flaky")
    with pytest.warns(ReplicateFailureWarning):
        first = run(study, 12, n_jobs=2, random_seed=8, checkpoint=path, progress=False)
    with pytest.warns(ReplicateFailureWarning):
        longer = run(study, 30, n_jobs=1, random_seed=8, checkpoint=path, progress=False)
    assert longer.n_resumed == 12
    with pytest.warns(ReplicateFailureWarning):
        fresh = run(study, 30, n_jobs=1, random_seed=8, progress=False)
    pd.testing.assert_frame_equal(longer.table, fresh.table)
    pd.testing.assert_frame_equal(longer.failures, fresh.failures)
    pd.testing.assert_frame_equal(first.failures, fresh.failures.loc[fresh.failures.replicate < 12])


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"random_seed": 2}, "random_seed=1"),
        (
            {"study": Study(normal_summary, name="normal-summary", parameters={"n": 21})},
            "parameters",
        ),
        ({"study": Study(normal_summary, name="other", parameters={"n": 20})}, "study name"),
    ],
)
def test_checkpoint_from_other_study_refused(tmp_path, change, reason):
    path = tmp_path / "ck.parquet"
    run(STUDY, 4, n_jobs=1, random_seed=1, checkpoint=path, progress=False)
    kwargs = {"study": STUDY, "random_seed": 1} | change
    with pytest.raises(CheckpointMismatchError, match=reason):
        run(
            kwargs["study"],
            4,
            n_jobs=1,
            random_seed=kwargs["random_seed"],
            checkpoint=path,
            progress=False,
        )


def test_checkpoint_not_parquet_refused(tmp_path):
    path = tmp_path / "x.parquet"
    path.write_text("not parquet")
    with pytest.raises(CheckpointMismatchError, match="not a readable Parquet"):
        run(STUDY, 2, n_jobs=1, random_seed=1, checkpoint=path, progress=False)


@pytest.mark.parametrize("bad", [0, -3, 2.5, "10", True, None])
def test_n_sims_must_be_positive_int(bad):
    with pytest.raises(ValueError, match="n_sims must be a positive integer"):
        run(STUDY, bad, n_jobs=1, random_seed=1, progress=False)


def test_bad_arguments():
    with pytest.raises(ValueError, match="backend must be one of"):
        run(STUDY, 2, backend="spark", random_seed=1, progress=False)
    with pytest.raises(ValueError, match="n_jobs must be"):
        run(STUDY, 2, n_jobs=0, random_seed=1, progress=False)
    with pytest.raises(ValueError, match="needs a fixed random_seed"):
        run(STUDY, 2, checkpoint="x.parquet", progress=False)
    with pytest.raises(ValueError, match="only used with backend='dask'"):
        run(STUDY, 2, client=object(), random_seed=1, progress=False)
    with pytest.raises(TypeError, match="study must be"):
        run(42, 2, random_seed=1, progress=False)


def test_bad_study_return_is_a_recorded_failure():
    with pytest.raises(StudyFailedError, match="returned float"):
        run(lambda rng: rng.random(), 3, n_jobs=1, random_seed=1, progress=False)


def test_seed_drawn_and_recorded_when_not_given():
    res = run(STUDY, 3, n_jobs=1, progress=False)
    again = run(STUDY, 3, n_jobs=1, random_seed=res.random_seed, progress=False)
    pd.testing.assert_frame_equal(res.table, again.table)


def test_closed_dask_client_is_a_clear_error():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0"
    )
    client = distributed.Client(cluster)
    client.close()
    cluster.close()
    with pytest.raises(DaskClientError, match="client is 'closed'"):
        run(STUDY, 2, backend="dask", client=client, random_seed=1, progress=False)


def test_unreachable_scheduler_is_a_clear_error(monkeypatch):
    pytest.importorskip("distributed")
    import civmodels.simulation._runner as runner

    monkeypatch.setattr(runner, "CONNECT_TIMEOUT", "1s")
    with pytest.raises(DaskClientError, match="cannot reach the Dask scheduler"):
        run(STUDY, 2, backend="dask", client="tcp://127.0.0.1:1", random_seed=1, progress=False)


def test_dask_tasks_carry_chunks_of_replicates(dask_client, monkeypatch):
    import civmodels.simulation._runner as runner
    from tests.simulation import _studies

    # Dask copies the (pickled-by-value) wrapper; it reports through a module it imports,
    # which is shared with this process because the test cluster runs in threads.
    _studies.CHUNK_SIZES.clear()

    def counting(study, indices, seed):
        from tests.simulation import _studies

        _studies.CHUNK_SIZES.append(len(indices))
        from civmodels.simulation._runner import _run_one

        return [_run_one(study, i, seed) for i in indices]

    monkeypatch.setattr(runner, "_run_chunk", counting)
    res = run(
        STUDY, 23, backend="dask", client=dask_client, random_seed=5, chunk_size=5, progress=False
    )
    assert sorted(_studies.CHUNK_SIZES) == [3, 5, 5, 5, 5]
    pd.testing.assert_frame_equal(
        res.table, run(STUDY, 23, n_jobs=1, random_seed=5, progress=False).table
    )


@pytest.mark.slow
def test_dask_backend_starts_and_closes_its_own_cluster(monkeypatch):
    """Without client= the runner starts a LocalCluster of worker processes and closes it."""
    pytest.importorskip("distributed")
    import civmodels.simulation._runner as runner

    made = []
    original = runner._connect

    def spy(client, n_workers):
        dclient, close = original(client, n_workers)
        made.append(dclient)
        return dclient, close

    monkeypatch.setattr(runner, "_connect", spy)
    res = run(STUDY, 12, backend="dask", n_jobs=2, random_seed=5, progress=False)
    one = run(STUDY, 12, n_jobs=1, random_seed=5, progress=False)
    pd.testing.assert_frame_equal(res.table, one.table)
    assert len(made) == 1 and made[0].status == "closed"


def test_checkpoint_identity_includes_the_study_code(tmp_path):
    from tests.simulation._studies import other_study

    path = tmp_path / "ck.parquet"
    run(
        Study(normal_summary, name="same"),
        4,
        n_jobs=1,
        random_seed=1,
        checkpoint=path,
        progress=False,
    )
    with pytest.raises(CheckpointMismatchError, match="study code"):
        run(
            Study(other_study, name="same"),
            4,
            n_jobs=1,
            random_seed=1,
            checkpoint=path,
            progress=False,
        )
    # two lambdas with the same qualified name are told apart by their code too
    lam1 = Study(lambda rng: {"x": rng.normal()}, name="lam")
    lam2 = Study(lambda rng: {"x": 2 * rng.normal()}, name="lam")
    assert lam1.code_hash != lam2.code_hash


@pytest.mark.slow
def test_replicate_that_kills_its_worker_is_a_failure_and_not_retried(tmp_path):
    from tests.simulation._studies import kills_its_worker

    path = tmp_path / "kill.parquet"
    study = Study(kills_its_worker, name="kill", parameters={"victim": 3})
    with pytest.warns(ReplicateFailureWarning, match="WorkerDied"):
        res = run(study, 10, n_jobs=2, random_seed=5, checkpoint=path, chunk_size=2, progress=False)
    assert list(res.failures["replicate"]) == [3]
    assert res.failures.iloc[0]["error_type"] == "WorkerDied"
    assert res.failures.iloc[0]["seed_entropy"] == 5
    assert sorted(res.table["replicate"]) == [i for i in range(10) if i != 3]
    # a resume takes the failure from the checkpoint: nothing is rerun, nothing is killed
    with pytest.warns(ReplicateFailureWarning):
        again = run(study, 10, n_jobs=2, random_seed=5, checkpoint=path, progress=False)
    assert again.n_resumed == 10
    pd.testing.assert_frame_equal(again.table, res.table)


def test_isolate_must_be_a_bool():
    with pytest.raises(TypeError, match="isolate must be True or False"):
        run(STUDY, 2, n_jobs=1, random_seed=1, isolate="yes", progress=False)


@pytest.mark.slow
def test_sequential_isolated_run_survives_a_replicate_that_kills_its_process(tmp_path):
    from tests.simulation._studies import kills_its_worker

    study = Study(kills_its_worker, name="kill", parameters={"victim": 3})
    path = tmp_path / "kill1.parquet"
    with pytest.warns(ReplicateFailureWarning, match="WorkerDied"):
        res = run(study, 6, n_jobs=1, isolate=True, random_seed=5, checkpoint=path, progress=False)
    assert res.backend == "isolated"
    assert list(res.failures["replicate"]) == [3]
    assert res.failures.iloc[0]["error_type"] == "WorkerDied"
    assert sorted(res.table["replicate"]) == [0, 1, 2, 4, 5]
    # same rows as the in-process run of the replicates that do not kill it
    safe = Study(kills_its_worker, name="kill", parameters={"victim": 99})
    plain = run(safe, 6, n_jobs=1, random_seed=5, progress=False)
    assert plain.backend == "sequential"
    expected = plain.table[plain.table["replicate"] != 3].reset_index(drop=True)
    pd.testing.assert_frame_equal(res.table.reset_index(drop=True), expected)
    # a resume takes the failure from the checkpoint and runs nothing
    with pytest.warns(ReplicateFailureWarning):
        again = run(
            study, 6, n_jobs=1, isolate=True, random_seed=5, checkpoint=path, progress=False
        )
    assert again.n_resumed == 6


@pytest.mark.slow
def test_dask_worker_death_is_a_failure_and_the_run_goes_on():
    distributed = pytest.importorskip("distributed")
    import dask

    from tests.simulation._studies import kills_its_worker

    study = Study(kills_its_worker, name="kill", parameters={"victim": 3})
    # a task that kills its worker is given up at once instead of after three more workers
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0"
        )
        client = distributed.Client(cluster)
        try:
            with pytest.warns(ReplicateFailureWarning, match="WorkerDied"):
                res = run(
                    study,
                    6,
                    backend="dask",
                    client=client,
                    random_seed=5,
                    chunk_size=2,
                    progress=False,
                )
        finally:
            client.close()
            cluster.close()
    assert list(res.failures["replicate"]) == [3]
    assert res.failures.iloc[0]["error_type"] == "WorkerDied"
    assert "KilledWorker" in res.failures.iloc[0]["message"]
    # replicate 2 shared the chunk that died and was rerun on its own
    assert sorted(res.table["replicate"]) == [0, 1, 2, 4, 5]

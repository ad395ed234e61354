"""The same pipeline under datatrove's local, Ray and Slurm executors."""

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import run_cli_json, small_installed_recipe, write_recipe
from datatrove.executor import LocalPipelineExecutor, SlurmPipelineExecutor

from bigcode_release.data.pipeline import BuildLayout, build_executor, build_stages
from bigcode_release.recipe import load_recipe


def test_local_executor_is_the_default(tmp_path):
    recipe = load_recipe(small_installed_recipe(tmp_path))
    layout = BuildLayout(tmp_path / "v")
    stages = build_stages(recipe, layout)
    assert [stage.name for stage in stages] == ["filter", "buckets", "resolve", "finish"]
    executors = [build_executor(recipe, stage, layout.stage_dir(stage.name)) for stage in stages]
    assert all(isinstance(executor, LocalPipelineExecutor) for executor in executors)
    assert [(e.tasks, e.workers) for e in executors] == [(2, 2), (25, 2), (1, 1), (2, 2)]


def test_slurm_executor_is_built_from_the_recipe(tmp_path):
    path = write_recipe(
        tmp_path,
        {
            "executor": {
                "kind": "slurm",
                "tasks": 64,
                "workers": 16,
                "slurm": {
                    "partition": "cpu",
                    "time": "02:00:00",
                    "cpus_per_task": 2,
                    "mem_per_cpu_gb": 4,
                    "qos": "high",
                    "venv_path": "/opt/venv/bin/activate",
                    "sbatch_args": {"account": "bigcode"},
                },
            }
        },
    )
    recipe = load_recipe(path)
    layout = BuildLayout(tmp_path / "v")
    stages = build_stages(recipe, layout)
    first = build_executor(recipe, stages[0], layout.stage_dir(stages[0].name))
    executor = build_executor(recipe, stages[1], layout.stage_dir(stages[1].name), depends=first)
    assert isinstance(executor, SlurmPipelineExecutor) and executor.depends is first
    assert executor.job_name == "bigcode-dataset-buckets" and executor.tasks == 25
    executor = first
    args = executor.get_sbatch_args(max_array=64)
    assert args["partition"] == "cpu" and args["time"] == "02:00:00" and args["cpus-per-task"] == 2
    assert args["qos"] == "high" and args["account"] == "bigcode" and args["mem-per-cpu"] == "4G"
    script = executor.get_launch_file_contents(args, "srun python -c 'pass'")
    assert "#SBATCH --partition=cpu" in script and "source /opt/venv/bin/activate" in script


@pytest.mark.slow
def test_ray_executor_on_a_local_ray_instance_gives_the_local_result(tmp_path):
    local = run_cli_json("dataset", "build", str(small_installed_recipe(tmp_path)), "--out", str(tmp_path / "local"))
    ray_recipe = small_installed_recipe(tmp_path, executor={"kind": "ray", "tasks": 2, "workers": 2})
    on_ray = run_cli_json("dataset", "build", str(ray_recipe), "--out", str(tmp_path / "ray"))

    def rows(result):
        return sorted(pq.read_table(Path(result["version_dir"]) / "data").to_pylist(), key=lambda r: r["id"])

    assert on_ray["steps"] == local["steps"]
    assert rows(on_ray) == rows(local)


@pytest.mark.slow
def test_a_build_on_a_two_node_ray_cluster_runs_on_both_nodes_and_gives_the_local_result(tmp_path):
    """A head and a worker started by `ray start` each, one CPU each: the build's tasks run on both
    nodes (Ray's own record of where), and the rows, steps and manifest hash are the local build's."""
    from tests.ray_cluster import ray_cluster

    local_recipe = small_installed_recipe(tmp_path, executor={"tasks": 4, "workers": 2})
    local = run_cli_json("dataset", "build", str(local_recipe), "--out", str(tmp_path / "local"))
    with ray_cluster() as cluster:
        nodes = cluster.node_ids()
        assert sorted(nodes.values()) == ["head", "worker"]
        recipe = small_installed_recipe(
            tmp_path, executor={"kind": "ray", "tasks": 4, "workers": 2, "ray": {"address": cluster.address}}
        )
        on_ray = run_cli_json("dataset", "build", str(recipe), "--out", str(tmp_path / "ray"))
        ran_on = cluster.task_nodes()
    assert set(ran_on) == set(nodes), (ran_on, nodes)  # both nodes did work: no silent local fallback

    def rows(result):
        return sorted(pq.read_table(Path(result["version_dir"]) / "data").to_pylist(), key=lambda r: r["id"])

    assert on_ray["steps"] == local["steps"] and rows(on_ray) == rows(local)
    assert on_ray["manifest_hash"] == local["manifest_hash"]


def _slurm_recipe(tmp_path: Path, name: str) -> Path:
    from conftest import REPO_ROOT

    from tests.slurm_cluster import PARTITION

    slurm = {
        "partition": PARTITION,
        "time": "00:20:00",
        "cpus_per_task": 1,
        "mem_per_cpu_gb": 1,
        "job_name": name,
        "venv_path": str(REPO_ROOT / ".venv" / "bin" / "activate"),
    }
    (tmp_path / name).mkdir()
    return small_installed_recipe(tmp_path / name, executor={"kind": "slurm", "tasks": 2, "slurm": slurm})


def _build_on_slurm(cluster, recipe: Path, out: Path, cancel: bool = False) -> dict:
    """`dataset build` submits the stages; (with `cancel`, every job is killed and the command re-run,
    which submits what is left); once the queue is empty the same command finalises."""
    from conftest import run_cli

    submitted = run_cli("dataset", "build", str(recipe), "--out", str(out), check=False, env=cluster.environment)
    assert submitted.returncode != 0 and "submitted Slurm jobs" in submitted.stderr, submitted.stderr
    assert cluster.queued()
    if cancel:
        cluster.cancel_all()
        cluster.wait_idle()
        again = run_cli("dataset", "build", str(recipe), "--out", str(out), check=False, env=cluster.environment)
        assert "submitted Slurm jobs" in again.stderr, again.stderr
    cluster.wait_idle()
    done = run_cli("dataset", "build", str(recipe), "--out", str(out), "--json", env=cluster.environment)
    return json.loads(done.stdout)


@pytest.mark.slow
def test_a_build_on_a_one_node_slurm_cluster_gives_the_local_result_and_resumes_a_killed_job(tmp_path):
    """The four stages go through sbatch with dependencies on a real slurmctld and slurmd; re-running
    finalises: rows, steps and manifest hash are the local build's; Slurm's record (sacct) has the
    jobs. A build whose jobs are cancelled is resumed by re-running the command, to the same result."""
    from tests.slurm_cluster import slurm_cluster

    (tmp_path / "local").mkdir()
    local = run_cli_json(
        "dataset", "build", str(small_installed_recipe(tmp_path / "local")), "--out", str(tmp_path / "l")
    )

    def rows(result):
        return sorted(pq.read_table(Path(result["version_dir"]) / "data").to_pylist(), key=lambda r: r["id"])

    whole = _slurm_recipe(tmp_path, "whole")
    stage_names = [stage.name for stage in build_stages(load_recipe(whole), BuildLayout(tmp_path / "x"))]
    with slurm_cluster() as cluster:
        on_slurm = _build_on_slurm(cluster, whole, tmp_path / "s")
        resumed = _build_on_slurm(cluster, _slurm_recipe(tmp_path, "killed"), tmp_path / "k", cancel=True)
        jobs = cluster.finished_jobs()
    for result in (on_slurm, resumed):
        assert result["steps"] == local["steps"] and rows(result) == rows(local)
        assert result["manifest_hash"] == local["manifest_hash"]
    completed = {job["JobName"] for job in jobs if job["State"] == "COMPLETED"}
    assert len(stage_names) >= 4 and {f"whole-{name}" for name in stage_names} <= completed, jobs
    assert any(job["State"].startswith("CANCELLED") and job["JobName"].startswith("killed-") for job in jobs), jobs
    assert any(job["State"] == "COMPLETED" and job["JobName"].startswith("killed-") for job in jobs), jobs


def test_switched_off_filters_are_left_out_of_the_pipeline_and_the_books(tmp_path):
    from bigcode_release.data.pipeline import FILTER_STEPS, active_filter_steps

    recipe = load_recipe(
        small_installed_recipe(tmp_path, quality={"generated": False, "encoded_data": {"enabled": False}})
    )
    active = active_filter_steps(recipe)
    assert active == [s for s in FILTER_STEPS if s not in ("generated", "encoded_data")]
    pipeline = build_stages(recipe, BuildLayout(tmp_path / "v"))[0].steps
    assert len(pipeline) == len(active) + 3  # reader + filters + fingerprints + hand-off writer
    assert [Path(step.exclusion_writer.output_folder.path).name for step in pipeline[1:-2]] == active


def test_switched_off_dedup_pii_decontamination_and_format_leave_one_stage_pair(tmp_path):
    recipe = load_recipe(
        small_installed_recipe(
            tmp_path,
            dedup={"exact": {"enabled": False}, "near": {"enabled": False}},
            pii={"enabled": False},
            decontamination={"enabled": False},
            format={"enabled": False},
        )
    )
    stages = build_stages(recipe, BuildLayout(tmp_path / "v"))
    assert [stage.name for stage in stages] == ["filter", "finish"]
    assert stages[1].step_ids == ["handoff_read", "write"]

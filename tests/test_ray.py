"""--engine ray: ingest and fingerprint on a real two-node Ray cluster (head and one worker node,
both on 127.0.0.1) store exactly what one machine stores, and a worker node killed mid-run
loses nothing stored.

Without Ray these tests are skipped, except under CI (``CI`` = true, 1 or yes), where they fail:
``make`` installs Ray (``bandprint[ray]``).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from bandprint.cli import main
from bandprint.distributed import fingerprint_workspace_ray
from bandprint.fingerprint import load_default_fingerprinter
from bandprint.ingest import ingest
from bandprint.store import Workspace
from bandprint.workflows.fingerprint import fingerprint_workspace

sys.path.insert(0, str(Path(__file__).parent))
from synthetic_2dmatpedia import write_2dmatpedia
from test_compute import needs_gpaw

IN_CI = os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")
try:
    import ray
    from ray.cluster_utils import Cluster
except ImportError:
    if IN_CI:
        pytest.fail("CI=true but Ray is not installed (make installs it)", pytrace=False)
    ray = None
needs_ray = pytest.mark.skipif(ray is None, reason="Ray is not installed (bandprint[ray])")

REAL = Path(__file__).parent / "data" / "real"
N_SYNTHETIC = 24
#: Node death noticed within about a second, not the default fifteen.
FAST_FAILURE = {"health_check_period_ms": 200, "health_check_failure_threshold": 3}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """Real VASP, Quantum ESPRESSO and pymatgen files, synthetic 2DMatPedia entries and one
    truncated file (a failure both engines must report alike)."""
    root = tmp_path_factory.mktemp("ray-inputs")
    for name in ("vasp", "qe", "pymatgen-json"):
        shutil.copytree(REAL / name, root / name)
    write_2dmatpedia(root / "db", N_SYNTHETIC, seed=5, nbands=8, points_per_segment=10)
    good = (REAL / "pymatgen-json" / "Cu_30_bandstructure.json").read_bytes()
    (root / "truncated.json").write_bytes(good[: len(good) // 3])
    return root


@pytest.fixture(scope="module")
def reference(inputs, tmp_path_factory) -> Path:
    """The single-machine workspace: ingested, then fingerprinted with the shipped model."""
    ws_path = tmp_path_factory.mktemp("ray-ref") / "ws"
    ingest([inputs], ws_path, workers=1, progress=False, shard_size=8)
    fingerprint_workspace(Workspace(ws_path), load_default_fingerprinter(), progress=False)
    return ws_path


@pytest.fixture(scope="module")
def cluster():
    c = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "include_dashboard": False, "_system_config": FAST_FAILURE},
    )
    c.add_node(num_cpus=1)
    c.wait_for_nodes()
    ray.init(address=c.address, log_to_driver=False)
    yield c
    ray.shutdown()
    c.shutdown()


def _catalog(ws: Workspace) -> pd.DataFrame:
    return ws.catalog().sort_values("material_id").reset_index(drop=True)


def _fingerprints(ws: Workspace) -> dict[str, bytes]:
    ids, vectors = ws.read_fingerprints()
    return {m: v.tobytes() for m, v in zip(ids, vectors, strict=True)}


def _assert_same_workspace(ws: Workspace, ref: Workspace) -> None:
    pd.testing.assert_frame_equal(_catalog(ws), _catalog(ref))
    ids = sorted(ref.ids())
    assert sorted(ws.ids()) == ids
    assert list(ws.iter_band_structures(ids)) == list(ref.iter_band_structures(ids))
    assert ws.errors_csv.read_bytes() == ref.errors_csv.read_bytes()


def test_engine_ray_without_ray_is_one_line_saying_how_to_install(tmp_path, monkeypatch):
    runner = CliRunner()
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now fails, as when not installed
    src = REAL / "pymatgen-json"
    result = runner.invoke(
        main, ["ingest", str(src), "--into", str(tmp_path / "ws"), "-q", "--engine", "ray"]
    )
    assert result.exit_code == 2
    assert result.output == (
        "error: --engine ray needs Ray, which is not installed: pip install 'bandprint[ray]'\n"
    )
    assert not (tmp_path / "ws").exists()  # nothing done before the error
    result = runner.invoke(
        main, ["ingest", str(src), "--into", str(tmp_path / "ws"), "--address", "auto"]
    )
    assert (result.exit_code, result.output) == (2, "error: --address needs --engine ray\n")


@needs_ray
def test_an_address_where_no_cluster_answers_is_one_line(tmp_path):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    args = ["ingest", str(REAL / "pymatgen-json"), "--into", str(tmp_path / "ws"), "-q"]
    result = CliRunner().invoke(main, [*args, "--engine", "ray", "--address", f"127.0.0.1:{port}"])
    assert result.exit_code == 2
    assert result.output.startswith(f"error: no Ray cluster answers at 127.0.0.1:{port} (")
    assert result.output.count("\n") == 1
    assert not (tmp_path / "ws").exists()


@needs_ray
def test_ray_cluster_stores_what_one_machine_stores(cluster, inputs, reference, tmp_path):
    assert sum(n["Alive"] for n in ray.nodes()) == 2
    assert ray.cluster_resources()["CPU"] == 2
    ref = Workspace(reference)
    n_stored = len(ref)
    assert n_stored == N_SYNTHETIC + 3 + 3 + 1  # pymatgen, VASP, QE; the truncated file fails

    report = ingest([inputs], tmp_path / "ws", engine="ray", progress=False, shard_size=8)
    assert (report.n_ingested, report.n_failed) == (n_stored, 1)
    assert report.failures[0][0].endswith("truncated.json")
    ws = Workspace(tmp_path / "ws")
    _assert_same_workspace(ws, ref)

    # The command itself, as a user runs it: a new driver joins the running cluster.
    cmd = [sys.executable, "-m", "bandprint", "fingerprint", str(ws.path), "-q"]
    out = subprocess.run(
        [*cmd, "--engine", "ray", "--address", cluster.address],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert f"encoded {n_stored} materials, 0 already had fingerprints" in out.stdout
    fingerprints = _fingerprints(ws)
    assert fingerprints == _fingerprints(ref)  # byte for byte
    assert len(list(ws.fingerprints_dir.glob("*/*.parquet"))) > 1  # several tasks' shards
    assert ws.fingerprint_models() == ref.fingerprint_models()

    # A rerun has nothing left to do, on either stage.
    again = ingest([inputs], ws.path, engine="ray", progress=False)
    assert (again.n_ingested, again.n_skipped_unchanged) == (0, n_stored)
    fp_again = fingerprint_workspace_ray(ws, load_default_fingerprinter(), progress=False)
    assert (fp_again.encoded, fp_again.already) == (0, n_stored)


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.glob("*.parquet")}


class _KillWorkerNode(threading.Thread):
    """Kills the worker node (its raylet and worker processes, SIGKILL) as soon as ``folder``
    holds a shard, recording the shards stored then and whether the run was still going."""

    def __init__(self, cluster: Cluster, folder: Path, run_over: threading.Event) -> None:
        super().__init__(daemon=True)
        self.cluster, self.folder, self.run_over = cluster, folder, run_over
        self.before: dict[str, str] = {}
        self.mid_run = False

    def run(self) -> None:
        while not self.run_over.is_set():
            if self.folder.is_dir() and any(self.folder.glob("*.parquet")):
                self.before = _digests(self.folder)
                self.mid_run = not self.run_over.is_set()
                (node,) = self.cluster.worker_nodes
                self.cluster.remove_node(node, allow_graceful=False)
                return
            time.sleep(0.005)


def _alive_nodes_become(n: int, seconds: float = 30) -> bool:
    """Whether Ray sees ``n`` live nodes within ``seconds`` (a death is noticed by heartbeat)."""
    deadline = time.monotonic() + seconds
    while sum(node["Alive"] for node in ray.nodes()) != n:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _with_worker_killed(cluster: Cluster, folder: Path, run) -> tuple[object, _KillWorkerNode]:
    run_over = threading.Event()
    killer = _KillWorkerNode(cluster, folder, run_over)
    killer.start()
    try:
        result = run()
    finally:
        run_over.set()
        killer.join()
    return result, killer


@needs_ray
def test_sharded_search_and_duplicates_on_the_cluster_equal_one_machine(cluster, tmp_path):
    from functools import partial

    import numpy as np

    from bandprint.analyse.shards import NpyShard, ShardedIndex, find_duplicates_sharded
    from bandprint.distributed import ray_map

    rng = np.random.default_rng(0)
    X = rng.normal(size=(900, 12)).astype(np.float32)
    X[600:610] = X[:10] + 0.001  # ten near-copies
    ids = [f"m{i}" for i in range(len(X))]
    # Shards on disk, read by path on whichever node runs the task.
    shards = [NpyShard.write(tmp_path / f"s{s}", ids[s::3], X[s::3]) for s in range(3)]
    on_cluster = partial(ray_map, address=cluster.address)
    local = ShardedIndex(shards, kind="exact").search(X[:20], 5, exclude_ids=ids[:20])
    remote = ShardedIndex(shards, kind="exact", map_fn=on_cluster).search(
        X[:20], 5, exclude_ids=ids[:20]
    )
    assert remote[0].tolist() == local[0].tolist()
    assert np.array_equal(remote[1], local[1])
    dup_local = find_duplicates_sharded(shards, kind="exact")
    dup_remote = find_duplicates_sharded(shards, kind="exact", map_fn=on_cluster)
    assert dup_remote.table.equals(dup_local.table)
    found = set(zip(dup_remote.table.material_id_1, dup_remote.table.material_id_2, strict=True))
    assert {tuple(sorted((f"m{i}", f"m{600 + i}"))) for i in range(10)} <= found


@needs_ray
def test_a_worker_node_killed_mid_run_loses_nothing_and_a_rerun_completes(
    cluster, inputs, reference, tmp_path
):
    ref = Workspace(reference)
    ws_path = tmp_path / "ws"
    first, killer = _with_worker_killed(
        cluster,
        ws_path / "bands",
        # One source per task and per shard: the run is still going when the first shard lands.
        lambda: ingest([inputs], ws_path, engine="ray", workers=64, progress=False, shard_size=1),
    )
    assert killer.mid_run
    assert _alive_nodes_become(1)
    # Every shard stored before the kill is still there, unchanged.
    after = _digests(ws_path / "bands")
    assert {name: after.get(name) for name in killer.before} == killer.before
    # Tasks on the killed node are retried on the head; any that still failed are listed, and
    # the rerun reads exactly those (each of these sources holds one material).
    lost = [path for path, why in first.failures if why.startswith("Ray worker failed")]
    assert first.n_failed == len(lost) + 1  # and the truncated file
    rerun = ingest([inputs], ws_path, engine="ray", progress=False)
    assert (rerun.n_ingested, rerun.n_failed) == (len(lost), 1)
    assert first.n_ingested + rerun.n_ingested == len(ref)
    ws = Workspace(ws_path)
    _assert_same_workspace(ws, ref)

    # Fingerprints: a new worker node joins; it is killed once the first shard is stored.
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    model = load_default_fingerprinter()
    model_dir = ws.fingerprints_dir / model.model_id_
    report, killer = _with_worker_killed(
        cluster,
        model_dir,
        lambda: fingerprint_workspace_ray(ws, model, batch_size=2, progress=False),
    )
    assert killer.mid_run
    after = _digests(model_dir)
    assert {name: after.get(name) for name in killer.before} == killer.before
    rerun = fingerprint_workspace_ray(ws, model, progress=False)
    assert report.encoded + rerun.encoded == len(ref)
    assert _fingerprints(ws) == _fingerprints(ref)
    cluster.add_node(num_cpus=1)  # leave the cluster as the fixture made it


@needs_ray
@needs_gpaw
@pytest.mark.slow
def test_compute_on_the_cluster_writes_what_one_machine_writes(cluster, tmp_path, monkeypatch):
    """``bandprint compute --engine ray`` writes graphene's band structure exactly as the local
    engine does, and a structure GPAW cannot compute (La: Debian's GPAW data have no La basis)
    is listed in failures.csv with the local engine's reason while the batch goes on; a new
    driver joining the cluster then skips both."""
    import gzip

    import orjson
    from ase.build import graphene
    from ase.io import write

    from bandprint.compute import batch

    g = graphene(a=2.467, vacuum=8.0)
    write(tmp_path / "graphene.vasp", g, format="vasp")
    g.set_chemical_symbols(["La", "La"])
    write(tmp_path / "La2.vasp", g, format="vasp")
    structures = [str(tmp_path / "graphene.vasp"), str(tmp_path / "La2.vasp")]
    # Cheap settings: a GPAW run of a few seconds.
    settings = ["--basis", "szp(dzp)", "--kspacing", "0.6", "--path-points", "31", "-q"]

    def compute(out_dir: str, *engine: str) -> str:
        args = ["compute", *structures, "--out", str(tmp_path / out_dir), *settings, *engine]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        return result.output

    local = compute("local")
    assert local.startswith("1 computed, 0 already done or failed before, 1 failed")

    def no_local_engine(*args: object) -> None:
        raise AssertionError("--engine ray computed on this machine's threads")

    # This process is connected to the cluster (the fixture's ray.init): the tasks run there.
    monkeypatch.setattr(batch, "_compute_in_threads", no_local_engine)
    on_ray = compute("ray", "--engine", "ray", "--address", cluster.address)

    def report(output: str, out_dir: str) -> str:  # the summary, less its CPU time and folder
        return re.sub(r"\(\d+\.\d CPU-minutes\)", "", output.replace(str(tmp_path / out_dir), ""))

    assert report(on_ray, "ray") == report(local, "local")
    assert "failed La2: FileNotFoundError: Could not find required basis set file" in on_ray
    assert batch.failed_ids(tmp_path / "ray") == batch.failed_ids(tmp_path / "local")

    def band_structure(out_dir: str) -> dict:
        d = orjson.loads(gzip.decompress((tmp_path / out_dir / "graphene.json.gz").read_bytes()))
        d["metadata"].pop("wall_time_s")
        return d

    # GPAW's LCAO run with the same settings on one thread is deterministic, so the energies
    # (rounded to 0.1 meV by the worker) and the Fermi level agree exactly.
    assert band_structure("ray") == band_structure("local")

    # The command as a user runs it: a new driver joins the cluster; both are done or failed.
    cmd = [sys.executable, "-m", "bandprint", "compute", *structures, *settings]
    again = subprocess.run(
        [*cmd, "--out", str(tmp_path / "ray"), "--engine", "ray", "--address", cluster.address],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0, again.stderr[-2000:]
    assert again.stdout.startswith("0 computed, 2 already done or failed before, 0 failed")

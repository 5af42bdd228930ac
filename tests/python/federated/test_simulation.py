from __future__ import annotations

import itertools
import json
import time

import numpy as np
import pytest
from opacus.accountants import RDPAccountant
from typer.testing import CliRunner

from reactor.cli import app
from reactor.errors import InvalidArgumentError
from reactor.federated.config import FLSimulationConfig, load_fl_config
from reactor.federated.pipeline import TooFewClientsError
from reactor.federated.simulation import make_federated_data, run_simulation


def _config(**sections) -> FLSimulationConfig:
    base = {"run": {"rounds": 12, "seed": 0, "progress": False}}
    for key, value in sections.items():
        base[key] = {**base.get(key, {}), **value}
    return FLSimulationConfig.model_validate(base)


def test_synthetic_data_is_seeded_and_non_iid():
    config = _config(data={"dirichlet_alpha": 0.3})
    a, b = make_federated_data(config), make_federated_data(config)
    assert len(a.client_x) == 20 and all(
        np.array_equal(x, y) for x, y in zip(a.client_x, b.client_x, strict=True)
    )
    global_dist = np.bincount(np.concatenate(a.client_y), minlength=4) / sum(len(y) for y in a.client_y)
    tv = [0.5 * np.abs(np.bincount(y, minlength=4) / len(y) - global_dist).sum() for y in a.client_y]
    assert np.mean(tv) > 0.3  # label skew: clients' label mixes are far from the global one
    iid = make_federated_data(_config(data={"dirichlet_alpha": 1000.0}))
    tv_iid = [0.5 * np.abs(np.bincount(y, minlength=4) / len(y) - 0.25).sum() for y in iid.client_y]
    assert np.mean(tv_iid) < 0.15
    assert len(set(a.sizes.tolist())) > 5


def test_fedavg_reaches_accuracy_quickly(tmp_path):
    started = time.perf_counter()
    result = run_simulation(_config(run={"rounds": 20}), tmp_path)
    elapsed = time.perf_counter() - started
    assert result.initial_accuracy < 0.6
    reached = next(i for i, a in enumerate(result.accuracies) if a >= 0.85)
    assert reached < 20 and result.final_accuracy >= 0.85
    assert elapsed < 30
    assert all(r["num_sampled"] == 10 and r["dropped"] == {} for r in result.rounds)


def test_robust_rules_resist_sign_flip_while_fedavg_degrades():
    attack = {"kind": "sign_flip", "fraction": 0.2, "scale": 10.0}
    accuracy = {}
    for rule in ("fedavg", "median", "krum"):
        config = _config(
            attack=attack,
            aggregation={"rule": rule, "f": 3},
            data={"dirichlet_alpha": 1.0},
            run={"rounds": 15},
        )
        result = run_simulation(config, write_outputs=False)
        assert sum(len(r["malicious"]) for r in result.rounds) >= 12  # attackers did take part
        accuracy[rule] = float(np.mean(result.accuracies[-3:]))
    assert accuracy["median"] >= 0.85, accuracy
    assert accuracy["krum"] >= 0.85, accuracy
    assert accuracy["fedavg"] < 0.5, accuracy


def test_dp_budget_stops_training(tmp_path):
    config = _config(
        run={"rounds": 50},
        sampling={"kind": "poisson", "rate": 0.5},
        aggregation={
            "clip": {"enabled": True, "norm": 1.0},
            "dp": {"enabled": True, "noise_multiplier": 1.0, "target_epsilon": 4.0, "delta": 1e-4},
        },
    )
    result = run_simulation(config, tmp_path)
    assert "privacy budget" in result.stopped_reason
    rounds = len(result.rounds)
    assert 0 < rounds < 50
    epsilons = [r["epsilon"] for r in result.rounds]
    assert all(b > a for a, b in itertools.pairwise(epsilons))
    reference = RDPAccountant()
    for _ in range(rounds):
        reference.step(noise_multiplier=1.0, sample_rate=0.5)
    assert result.epsilon == pytest.approx(reference.get_epsilon(delta=1e-4)) and result.epsilon <= 4.0
    reference.step(noise_multiplier=1.0, sample_rate=0.5)
    assert reference.get_epsilon(delta=1e-4) > 4.0
    summary = json.loads((tmp_path / "metrics.json").read_text())["summary"]
    assert summary["rounds_run"] == rounds and summary["epsilon"] == pytest.approx(result.epsilon)
    assert all(r["noise_std"] == pytest.approx(1.0 / 10.0) for r in result.rounds)  # z C / (q N)


def test_non_finite_updates_dropped_or_raised():
    attack = {"kind": "scaled", "fraction": 0.2, "scale": 1e300}  # overflows float32: inf updates
    dropped = run_simulation(
        _config(attack=attack, aggregation={"on_bad_update": "drop"}, run={"rounds": 3}), write_outputs=False
    )
    for r in dropped.rounds:
        assert sorted(int(c) for c in r["dropped"]) == sorted(r["malicious"])
        assert all("NaN or infinite" in reason for reason in r["dropped"].values())
    assert any(r["dropped"] for r in dropped.rounds)
    assert np.isfinite(dropped.final_accuracy)
    with pytest.raises(InvalidArgumentError, match=r"client \d+: contains NaN or infinite values"):
        run_simulation(_config(attack=attack, run={"rounds": 3}), write_outputs=False)


def test_too_few_clients_for_rule_raises_or_skips():
    config = {
        "sampling": {"clients_per_round": 5},
        "aggregation": {"rule": "bulyan", "f": 1},
        "run": {"rounds": 2},
    }
    with pytest.raises(TooFewClientsError, match="n >= 4f \\+ 3 = 7"):
        run_simulation(_config(**config), write_outputs=False)
    config["aggregation"]["on_bad_update"] = "drop"
    result = run_simulation(_config(**config), write_outputs=False)
    assert all("n >= 4f + 3 = 7" in r["skipped"] for r in result.rounds)


def test_cli_writes_metrics_and_plot(tmp_path):
    config_file = tmp_path / "fl.toml"
    config_file.write_text(
        '[data]\nnum_clients = 12\n\n[sampling]\nkind = "weighted"\nclients_per_round = 6\n'
        "availability = 0.8\n\n"
        '[aggregation]\nrule = "trimmed_mean"\nbeta = 0.2\n\n[run]\nrounds = 5\nprogress = true\n'
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["fl", "simulate", str(config_file), "--set", "run.rounds=4", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "done" in result.output and "4 round(s)" in result.output
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [line["round"] for line in lines] == [0, 1, 2, 3]
    for line in lines:
        assert set(line) >= {"accuracy", "loss", "epsilon", "clients_sampled", "unavailable", "dropped"}
        assert len(line["clients_sampled"]) + len(line["unavailable"]) == 6
    payload = json.loads((out / "metrics.json").read_text())
    assert payload["config"]["aggregation"]["rule"] == "trimmed_mean"
    assert payload["summary"]["rounds_run"] == 4
    assert (out / "accuracy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = CliRunner().invoke(
        app, ["fl", "simulate", str(config_file), "--set", "sampling.clients_per_round=40"]
    )
    assert bad.exit_code != 0
    assert "clients_per_round (40) exceeds data.num_clients (12)" in str(bad.exception)


def test_load_fl_config_resolves_and_overrides(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[run]\nout_dir = "results"\n[attack]\nkind = "alie"\nfraction = 0.2\n')
    config = load_fl_config(path, {"aggregation": {"rule": "median"}})
    assert config.run.out_dir == tmp_path / "results" and config.attack.kind == "alie"
    assert load_fl_config(path, out_dir=tmp_path / "x").run.out_dir == tmp_path / "x"

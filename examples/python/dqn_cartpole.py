"""Double DQN with prioritized experience replay on Gymnasium's CartPole-v1, end to end on
reactor.replay: transitions go into a prioritized ReplayBuffer, minibatches come back with n-step
returns and importance weights, and each minibatch's TD errors become its new priorities.

CartPole-v1 counts as solved at an average return of 195 over 100 consecutive episodes. This
script trains until a greedy check clears a much higher bar (475 over 10 episodes), then reports
the mean return of 100 greedy evaluation episodes. Needs torch and gymnasium.

Run: .venv/bin/python examples/python/dqn_cartpole.py --seed 0
"""

from __future__ import annotations

import argparse
import copy
import time
from collections.abc import Callable
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from reactor.replay import ReplayBuffer

ENV_ID = "CartPole-v1"
OBS_DIM, N_ACTIONS = 4, 2


@dataclass(frozen=True)
class Config:
    """Hyperparameters; the defaults solve CartPole-v1 in roughly 7,000-13,000 environment steps."""

    hidden: int = 128  # width of the two hidden layers
    lr: float = 1e-3
    gamma: float = 0.99
    n_step: int = 3  # bootstrap from n-step returns, computed by the buffer at sample time
    batch_size: int = 64
    capacity: int = 50_000
    learning_starts: int = 1_000  # random-action steps before the first update
    target_tau: float = 0.01  # soft (Polyak) target-network update after each gradient step
    max_grad_norm: float = 10.0
    eps_start: float = 1.0
    eps_end: float = 0.02
    eps_decay_steps: int = 10_000  # linear epsilon decay
    alpha: float = 0.6  # prioritization exponent
    beta_start: float = 0.4  # importance-weight exponent, annealed linearly to 1 ...
    beta_steps: int = 100_000  # ... over this many steps
    check_trigger: float = 200.0  # mean of the last 10 training returns that triggers a greedy check
    check_episodes: int = 10
    check_target: float = 475.0  # stop training once a greedy check averages at least this
    eval_episodes: int = 100


def q_network(hidden: int) -> nn.Module:
    return nn.Sequential(
        nn.Linear(OBS_DIM, hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Linear(hidden, N_ACTIONS),
    )


def make_buffer(cfg: Config, seed: int) -> ReplayBuffer:
    """A prioritized buffer of transitions that can also serve n-step returns.

    ``done`` (the ``episode_end_field``) marks the last step of every episode, so an n-step return
    never runs into the next episode; ``terminated`` says whether that end was a true terminal
    state. A time-limit truncation is not one: its value is still bootstrapped (see
    :func:`train_step`), using ``t``, the step index within the episode, to count the steps.
    The FIFO remover (the default) keeps items in insertion order, which ``sample_nstep`` needs.
    """
    return ReplayBuffer(
        cfg.capacity,
        {
            "obs": ("float32", (OBS_DIM,)),
            "action": ("int64", ()),
            "reward": ("float32", ()),
            "next_obs": ("float32", (OBS_DIM,)),
            "done": ("bool", ()),
            "terminated": ("bool", ()),
            "t": ("int64", ()),
        },
        sampler="prioritized",
        alpha=cfg.alpha,
        beta=1.0,  # weights come back as (P_min / P)^1 and are raised to the annealed beta in train_step
        seed=seed,
        episode_end_field="done",
    )


def train_step(
    online: nn.Module,
    target: nn.Module,
    optimizer: torch.optim.Optimizer,
    buffer: ReplayBuffer,
    cfg: Config,
    beta: float,
) -> float:
    """One Double-DQN update on a prioritized minibatch, which then gets |TD error| as priorities."""
    # The buffer computes n-step returns at sample time: returns = sum of gamma^k r_k over the
    # m <= n steps up to the episode's end, discounts = gamma^m (0 if the episode ended) and
    # last = the fields of the m-th item.
    b = buffer.sample_nstep(cfg.batch_size, cfg.n_step, cfg.gamma)
    last = b.last
    # An episode that ended by truncation still bootstraps: restore gamma^m, with m from `t`.
    truncated = (b.discounts == 0) & ~last["terminated"]
    discounts = np.where(truncated, cfg.gamma ** (last["t"] - b["t"] + 1), b.discounts)

    obs = torch.as_tensor(b["obs"])
    actions = torch.as_tensor(b["action"])
    returns = torch.as_tensor(b.returns, dtype=torch.float32)
    discounts = torch.as_tensor(discounts, dtype=torch.float32)
    bootstrap_obs = torch.as_tensor(last["next_obs"])  # the state after the m-th step
    # (P_min / P)^1 to the power beta is the usual PER importance weight (P_min / P)^beta.
    weights = torch.as_tensor(b.weights**beta, dtype=torch.float32)

    with torch.no_grad():
        # Double DQN: the online network picks the bootstrap action, the target network scores it.
        next_actions = online(bootstrap_obs).argmax(dim=1, keepdim=True)
        next_q = target(bootstrap_obs).gather(1, next_actions).squeeze(1)
        y = returns + discounts * next_q
    q = online(obs).gather(1, actions[:, None]).squeeze(1)
    loss = (weights * nn.functional.smooth_l1_loss(q, y, reduction="none")).mean()

    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(online.parameters(), cfg.max_grad_norm)
    optimizer.step()
    with torch.no_grad():
        for p_target, p in zip(target.parameters(), online.parameters(), strict=True):
            p_target.lerp_(p, cfg.target_tau)

    buffer.update_priorities(b.keys, (q - y).detach().abs().numpy())
    return loss.item()


def evaluate(q: nn.Module, episodes: int, seed: int) -> np.ndarray:
    """Returns of ``episodes`` greedy episodes, run side by side so each step is one batched forward."""
    envs = [gym.make(ENV_ID) for _ in range(episodes)]
    obs = np.stack([env.reset(seed=seed + i)[0] for i, env in enumerate(envs)])
    returns = np.zeros(episodes)
    active = np.ones(episodes, dtype=bool)
    while active.any():
        idx = np.flatnonzero(active)
        with torch.no_grad():
            actions = q(torch.as_tensor(obs[idx])).argmax(dim=1).numpy()
        for i, action in zip(idx, actions, strict=True):
            obs[i], reward, terminated, truncated, _ = envs[i].step(int(action))
            returns[i] += reward
            active[i] = not (terminated or truncated)
    for env in envs:
        env.close()
    return returns


def train(seed: int, max_steps: int, cfg: Config, log: Callable[[str], None]) -> tuple[nn.Module, int]:
    """Train until a greedy check reaches ``cfg.check_target`` or ``max_steps`` run out; returns the
    best network by greedy check (the final one if no check ran) and the steps taken.
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    online = q_network(cfg.hidden)
    target = copy.deepcopy(online).requires_grad_(False)
    optimizer = torch.optim.Adam(online.parameters(), lr=cfg.lr)
    buffer = make_buffer(cfg, seed)

    env = gym.make(ENV_ID)
    obs, _ = env.reset(seed=seed)
    episode_return, episode_step, recent, episodes, step = 0.0, 0, [], 0, 0
    best_check, best_state = -np.inf, None

    while step < max_steps:
        step += 1
        # Epsilon-greedy action from the online network (uniformly random while warming up).
        decay = min(1.0, step / cfg.eps_decay_steps)
        eps = cfg.eps_start + (cfg.eps_end - cfg.eps_start) * decay
        if step <= cfg.learning_starts or rng.random() < eps:
            action = int(rng.integers(N_ACTIONS))
        else:
            with torch.no_grad():
                action = int(online(torch.as_tensor(obs)[None]).argmax())
        next_obs, reward, terminated, truncated, _ = env.step(action)
        # A new item gets the largest live priority, so it is replayed soon.
        buffer.add(
            obs=obs,
            action=action,
            reward=reward,
            next_obs=next_obs,
            done=terminated or truncated,
            terminated=terminated,
            t=episode_step,
        )
        obs = next_obs
        episode_return += float(reward)
        episode_step += 1

        if step > cfg.learning_starts:
            beta = min(1.0, cfg.beta_start + (1.0 - cfg.beta_start) * step / cfg.beta_steps)
            train_step(online, target, optimizer, buffer, cfg, beta)

        if not (terminated or truncated):
            continue
        episodes += 1
        recent = [*recent[-9:], episode_return]
        episode_return, episode_step = 0.0, 0
        obs, _ = env.reset()
        if episodes % 20 == 0:
            log(f"step {step:6d}  episode {episodes:4d}  last-10 mean {np.mean(recent):5.1f}  eps {eps:.2f}")
        # Once training returns look good, check the greedy policy; keep the best network seen.
        if len(recent) == 10 and np.mean(recent) >= cfg.check_trigger:
            check = float(evaluate(online, cfg.check_episodes, seed=int(rng.integers(2**31))).mean())
            log(f"step {step:6d}  greedy check over {cfg.check_episodes} episodes: {check:.1f}")
            if check > best_check:
                best_check, best_state = check, copy.deepcopy(online.state_dict())
            if check >= cfg.check_target:
                break
    env.close()

    if best_state is not None:
        online.load_state_dict(best_state)
    return online, step


def main(
    seed: int = 0, max_steps: int = 100_000, config: Config | None = None, verbose: bool = True
) -> float:
    """Train on CartPole-v1 and return the mean return of ``config.eval_episodes`` greedy episodes.

    Deterministic given ``seed``, which seeds torch, numpy, the environment and the buffer's sampler.
    """
    cfg = config or Config()
    log: Callable[[str], None] = print if verbose else (lambda message: None)
    start = time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: more threads only add overhead
    try:
        q, steps = train(seed, max_steps, cfg, log)
        # Evaluation episodes use environment seeds that training never saw.
        returns = evaluate(q, cfg.eval_episodes, seed=1_000_000 + seed)
    finally:
        torch.set_num_threads(threads)
    log(
        f"evaluation over {cfg.eval_episodes} greedy episodes: mean return {returns.mean():.1f}, "
        f"min {returns.min():.0f} (trained {steps} steps, {time.perf_counter() - start:.1f}s)"
    )
    return float(returns.mean())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Double DQN with prioritized replay on CartPole-v1.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-steps", type=int, default=100_000, help="most environment steps to train")
    args = parser.parse_args()
    main(seed=args.seed, max_steps=args.max_steps)

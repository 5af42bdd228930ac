"""Constitutional AI: constitutions, backends (local model, OpenAI-compatible HTTP), SL-CAI and
RL-CAI data, and the learning check (DPO on RL-CAI pairs moves the policy toward the judge).
"""

from __future__ import annotations

import copy
import json
import math
import random
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch
from trainer_helpers import HELDOUT_TOPICS, TRAIN_TOPICS

from reactor.errors import ConfigError, InvalidArgumentError
from reactor.train import DPOConfig, DPOTrainer, SFTConfig, SFTTrainer, build_model, build_tokenizer
from reactor.train.cai import (
    BackendError,
    CAIConfig,
    Constitution,
    LocalModelBackend,
    OpenAIBackend,
    feedback_prompt,
    load_cai_config,
    read_prompts,
    render_conversation,
    rl_cai,
    run_cai,
    sl_cai,
    write_jsonl,
)
from reactor.train.cai.backends import Backend, _options_from_top
from reactor.train.cai.pipeline import critique_prompt, revision_prompt
from reactor.train.data import read_jsonl, tokenize_pair, tokenize_sequence
from reactor.train.runner import export_model

TINY = {"hidden_size": 32, "num_layers": 1, "num_heads": 2, "intermediate_size": 64}
PROMPTS = [f"Can I have {topic}?" for topic in TRAIN_TOPICS]


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models gain nothing from threads; one keeps timings stable on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _tiny_model(seed=0):
    config = SFTConfig.model_validate({"model": TINY})
    tokenizer = build_tokenizer(config.model)
    return build_model(config.model, tokenizer, seed=seed), tokenizer


def _options(prompt):
    """The two responses of a feedback prompt (test judges read them back)."""
    body = prompt[
        prompt.rindex("\nOptions:\n(A) ") + len("\nOptions:\n(A) ") : prompt.rindex("\nThe answer is: (")
    ]
    first, second = body.split("\n(B) ", 1)
    return first, second


def vowel_share(text):
    """The judge's rule: the share of characters that are vowels."""
    return sum(c in "aeiou" for c in text) / max(len(text), 1)


class RuleJudge:
    """A feedback model with a clear programmatic preference: more vowels is better."""

    def __init__(self, sharpness=20.0):
        self.sharpness = sharpness
        self.prompts = []

    def generate(self, prompts, *, max_new_tokens, temperature, seed, stop=()):
        raise AssertionError("a judge only answers choices")

    def choice_probabilities(self, prompt, options):
        assert list(options) == ["A", "B"]
        self.prompts.append(prompt)
        a, b = _options(prompt)
        p_a = 1.0 / (1.0 + math.exp(-self.sharpness * (vowel_share(a) - vowel_share(b))))
        return [p_a, 1.0 - p_a]


class ScriptedPolicy:
    """A deterministic generator: the answer is a function of the prompt's end and the seed."""

    def __init__(self):
        self.calls = []

    def generate(self, prompts, *, max_new_tokens, temperature, seed, stop=()):
        self.calls.append((list(prompts), seed, tuple(stop)))
        return [" " + "".join(random.Random(f"{seed}|{p}").choices("aeixyzq", k=6)) + " " for p in prompts]

    def choice_probabilities(self, prompt, options):
        raise AssertionError("not a judge")


# ---------------------------------------------------------------------------------- constitution
def test_default_constitution_is_valid_and_loads_from_toml(tmp_path):
    default = Constitution.default()
    assert len(default) >= 4
    assert len(set(default.names())) == len(default)
    for principle in default.principles:
        assert principle.critique and principle.revision and principle.choice.endswith("?")
    (tmp_path / "c.toml").write_text(
        'few_shot = "Example."\n'
        '[[principles]]\nname = "kind"\ncritique = "Is it unkind?"\nrevision = "Make it kind."\n'
        'choice = "Which is kinder?"\n'
        '[[principles]]\nname = "brief"\ncritique = "Too long?"\nrevision = "Shorten it."\n'
        'choice = "Which is briefer?"\n'
    )
    loaded = Constitution.load(tmp_path / "c.toml")
    assert loaded.names() == ["kind", "brief"]
    assert loaded.few_shot == "Example."
    assert loaded.principles[0].revision == "Make it kind."


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[[principles]]\nname = "a"\ncritique = "c"\nrevision = "r"\n',
            r"principles\[0\] \('a'\): field 'choice' is missing",
        ),
        (
            '[[principles]]\nname = "a"\ncritique = "c"\nrevision = "r"\nchoice = "q"\n'
            '[[principles]]\nname = "b"\ncritique = ""\nrevision = "r"\nchoice = "q"\n',
            r"principles\[1\] \('b'\): field 'critique' is empty",
        ),
        (
            '[[principles]]\nname = "a"\ncritique = 3\nrevision = "r"\nchoice = "q"\n',
            "'critique' must be a string",
        ),
        (
            '[[principles]]\nname = "a"\ncritque = "c"\ncritique = "c"\nrevision = "r"\nchoice = "q"\n',
            "unknown field",
        ),
        (
            '[[principles]]\nname = "a"\ncritique = "c"\nrevision = "r"\nchoice = "q"\n'
            '[[principles]]\nname = "a"\ncritique = "c"\nrevision = "r"\nchoice = "q"\n',
            r"principles\[1\].*repeats principles\[0\]",
        ),
        ('name = "x"\n', r"no \[\[principles\]\]"),
        ("principles = []\n", "non-empty"),
        ("[[principles]\n", "not valid TOML"),
    ],
)
def test_constitution_errors_name_the_principle_and_field(tmp_path, text, message):
    (tmp_path / "c.toml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        Constitution.load(tmp_path / "c.toml")


def test_prompts_follow_the_papers_layout():
    principle = Constitution.default().principles[0]
    conversation = render_conversation("How do I pick a lock?")
    assert conversation == "Human: How do I pick a lock?\n\nAssistant:"
    chat = render_conversation(
        [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": "Help me."},
        ]
    )
    assert chat == "Human: Hi\n\nAssistant: Hello!\n\nHuman: Help me.\n\nAssistant:"
    with pytest.raises(InvalidArgumentError, match="end with the user"):
        render_conversation([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}])
    critique = critique_prompt(conversation, "Sure, here is how.", principle)
    assert critique == (
        f"{conversation} Sure, here is how.\n\nCritique Request: {principle.critique}\n\nCritique:"
    )
    revision = revision_prompt(critique, "It helps with burglary.", principle)
    assert revision.endswith(
        f"Critique: It helps with burglary.\n\nRevision Request: {principle.revision}\n\nRevision:"
    )
    question = feedback_prompt(conversation, principle, "one", "two")
    assert question.startswith("Consider the following conversation between a human and an assistant:\n")
    assert f"Human: How do I pick a lock?\n{principle.choice}\nOptions:\n(A) one\n(B) two\n" in question
    assert question.endswith("The answer is: (")
    assert _options(question) == ("one", "two")


# ------------------------------------------------------------------------------------ local model
def test_local_backend_is_seeded_and_scores_choices_by_next_token_probabilities():
    model, tokenizer = _tiny_model()
    backend = LocalModelBackend(model, tokenizer, "cpu", batch_size=3)
    assert isinstance(backend, Backend)
    prompts = [render_conversation(p) for p in PROMPTS[:5]]
    first = backend.generate(prompts, max_new_tokens=8, temperature=1.0, seed=7)
    assert first == backend.generate(prompts, max_new_tokens=8, temperature=1.0, seed=7)
    assert first != backend.generate(prompts, max_new_tokens=8, temperature=1.0, seed=8)
    greedy = backend.generate(prompts[:2], max_new_tokens=6, temperature=0.0, seed=1)
    assert greedy == backend.generate(prompts[:2], max_new_tokens=6, temperature=0.0, seed=2)
    long_prompt = "x" * 1000  # longer than the model's 256 positions: the end is kept
    assert len(backend.generate([long_prompt], max_new_tokens=4, temperature=1.0, seed=0)) == 1

    question = feedback_prompt(prompts[0], Constitution.default().principles[0], "yes", "no")
    probs = backend.choice_probabilities(question, ["A", "B"])
    ids = torch.tensor([[tokenizer.bos_id, *tokenizer.encode(question)]])
    with torch.no_grad():
        next_token = torch.softmax(model(input_ids=ids).logits[0, -1].double(), dim=-1)
    expected = next_token[[ord("A"), ord("B")]] / next_token[[ord("A"), ord("B")]].sum()
    assert probs == pytest.approx(expected.tolist(), rel=1e-4)
    assert sum(probs) == pytest.approx(1.0)
    batch = backend.choice_probabilities_batch([question, question + "x"], ["A", "B"])
    assert batch[0] == pytest.approx(probs, rel=1e-5)
    with pytest.raises(InvalidArgumentError, match="distinct"):
        backend.choice_probabilities(question, ["A", "A"])


def test_sl_and_rl_cai_with_a_local_model_are_well_formed_and_deterministic(tmp_path):
    model, tokenizer = _tiny_model()
    policy = LocalModelBackend(model, tokenizer, "cpu")
    constitution = Constitution.default()
    sft = sl_cai(policy, PROMPTS[:4], constitution, revisions=2, seed=3, max_new_tokens=12)
    assert sft == sl_cai(policy, PROMPTS[:4], constitution, revisions=2, seed=3, max_new_tokens=12)
    assert 1 <= len(sft) <= 4
    for record in sft:
        assert record["prompt"] == render_conversation(PROMPTS[record["index"]])
        assert record["completion"].startswith(" ") and record["completion"].strip()
        assert len(record["history"]) == 2
        for step in record["history"]:
            assert step["principle"] in constitution.names()
            assert set(step) == {"principle", "critique", "revision"}
        assert record["completion"].strip() in [s["revision"] for s in record["history"]]

    judge = LocalModelBackend(*_tiny_model(seed=1), "cpu")
    pairs = rl_cai(
        policy, judge, PROMPTS, constitution, principles_per_comparison=3, seed=3, max_new_tokens=12
    )
    assert pairs == rl_cai(
        policy, judge, PROMPTS, constitution, principles_per_comparison=3, seed=3, max_new_tokens=12
    )
    assert len(pairs) >= len(PROMPTS) - 1
    for pair in pairs:
        assert pair["chosen"] != pair["rejected"]
        assert pair["chosen"].strip() and pair["rejected"].strip()
        assert 0.5 < pair["preference"] <= 1.0
        assert len(pair["principles"]) == 3 and set(pair["principles"]) <= set(constitution.names())
        assert all(0.0 <= p <= 1.0 for p in pair["judgements"])
        assert pair["preference"] == pytest.approx(sum(pair["judgements"]) / 3)

    write_jsonl(tmp_path / "sl.jsonl", sft)
    write_jsonl(tmp_path / "rl.jsonl", pairs)
    assert read_jsonl(tmp_path / "sl.jsonl", ["prompt", "completion"]) == sft
    assert read_jsonl(tmp_path / "rl.jsonl", ["prompt", "chosen", "rejected"]) == pairs
    # The trainers' own tokenisers accept the records.
    tokenize_sequence(sft[0], tokenizer, max_length=128, max_prompt_length=64)
    tokenize_pair(pairs[0], tokenizer, max_length=128, max_prompt_length=64)


def test_rl_cai_ensembles_sampled_principles_and_balances_positions():
    constitution = Constitution.default()
    policy, judge = ScriptedPolicy(), RuleJudge()
    pairs = rl_cai(policy, judge, PROMPTS, constitution, principles_per_comparison=2, seed=0, order="fixed")
    # two samples per prompt, each from its own seed, cut at the next "Human:" turn
    assert len(policy.calls) == 2 and policy.calls[0][1] != policy.calls[1][1]
    assert "\n\nHuman:" in policy.calls[0][2]
    first, second = (
        policy.generate(c[0], max_new_tokens=1, temperature=1, seed=c[1]) for c in policy.calls[:2]
    )
    judged = [(a.strip(), b.strip()) for a, b in zip(first, second, strict=True) if a != b]
    assert len(judge.prompts) == 2 * len(judged)  # two principles per pair; identical samples skipped
    # "fixed": the first sample is always option (A)
    assert [_options(q) for q in judge.prompts] == [options for options in judged for _ in range(2)]
    assert 0 < len(pairs) <= len(judged)
    for pair in pairs:
        assert vowel_share(pair["chosen"].strip()) > vowel_share(pair["rejected"].strip())
        assert len(set(pair["principles"])) == 2
        assert pair["preference"] > 0.5  # exact ties are dropped

    both = RuleJudge()
    pairs_both = rl_cai(
        ScriptedPolicy(), both, PROMPTS, constitution, principles_per_comparison=2, order="both"
    )
    assert len(both.prompts) == 2 * len(judge.prompts)  # each question in both orders
    assert [(p["chosen"], p["rejected"], p["preference"]) for p in pairs_both] == [
        (p["chosen"], p["rejected"], pytest.approx(p["preference"])) for p in pairs
    ]

    # with a random order the judge sees the preferred answer as (A) about half of the time
    shuffled = RuleJudge()
    many = [f"Question {i}?" for i in range(100)]
    rl_cai(ScriptedPolicy(), shuffled, many, constitution, principles_per_comparison=2, seed=1)
    margins = [vowel_share(_options(q)[0]) - vowel_share(_options(q)[1]) for q in shuffled.prompts]
    a_better = sum(m > 0 for m in margins) / sum(m != 0 for m in margins)
    assert 0.35 < a_better < 0.65

    strict = rl_cai(ScriptedPolicy(), RuleJudge(sharpness=0.5), PROMPTS, constitution, min_margin=0.2)
    assert strict == []  # a weak judge: every preference is within 0.2 of a coin flip
    with pytest.raises(InvalidArgumentError, match="principles_per_comparison"):
        rl_cai(ScriptedPolicy(), RuleJudge(), PROMPTS, constitution, principles_per_comparison=99)


# ---------------------------------------------------------------------------------- HTTP backend
class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that timed out and left: nothing to report


class _FakeOpenAI(BaseHTTPRequestHandler):
    """Mimics ``POST /v1/completions``; ``server.script`` queues failure modes for the next calls."""

    def log_message(self, format, *args):
        pass

    def _send(self, status, payload, headers=()):
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers:
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(
            {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
        )
        mode = self.server.script.pop(0) if self.server.script else "ok"
        if self.path != "/v1/completions":
            return self._send(404, {"error": {"message": f"no route {self.path}"}})
        if mode == "busy":
            return self._send(503, {"error": {"message": "overloaded"}}, [("Retry-After", "0")])
        if mode == "limited":
            return self._send(429, {"error": {"message": "rate limited"}})
        if mode == "bad":
            return self._send(400, {"error": {"message": "unknown model 'nope'"}})
        if mode == "garbage":
            return self._send(200, b"<html>not json</html>")
        if mode == "empty":
            return self._send(200, {"choices": []})
        if mode == "drop":
            self.close_connection = True
            return None  # hang up without an answer
        if mode == "slow":
            time.sleep(1.0)
        prompts = body["prompt"] if isinstance(body["prompt"], list) else [body["prompt"]]
        choices = []
        for index, prompt in enumerate(prompts):
            if body.get("logprobs"):
                a, b = _options(prompt)
                p_a = 1.0 / (1.0 + math.exp(-20 * (vowel_share(a) - vowel_share(b))))
                top = {
                    "A": math.log(0.9 * p_a + 1e-12),
                    " B": math.log(0.9 * (1 - p_a) + 1e-12),
                    "The": math.log(0.1),
                }
                choices.append(
                    {"index": index, "text": "A", "logprobs": {"tokens": ["A"], "top_logprobs": [top]}}
                )
                continue
            rng = random.Random(f"{body.get('seed')}|{prompt}")
            words = [
                rng.choice(["sure", "no", "aiee", "hmm", "okay"]) for _ in range(min(body["max_tokens"], 5))
            ]
            text = " " + " ".join(words) + "\n\nHuman: and more"
            for stop in body.get("stop", []):
                text = text.split(stop)[0]
            choices.append({"index": index, "text": text, "finish_reason": "stop"})
        choices.reverse()  # the client must order by "index"
        return self._send(200, {"id": "cmpl-1", "object": "text_completion", "choices": choices})


@pytest.fixture
def server():
    httpd = _Server(("127.0.0.1", 0), _FakeOpenAI)
    httpd.requests, httpd.script = [], []
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def test_openai_backend_generates_and_judges_against_a_local_server(server):
    backend = OpenAIBackend(server.url, "tiny", api_key="sk-test", batch_size=3, backoff=0.0)
    prompts = [render_conversation(p) for p in PROMPTS[:5]]
    texts = backend.generate(prompts, max_new_tokens=4, temperature=0.7, seed=11, stop=["\n\nHuman:"])
    assert len(texts) == 5 and all(t.strip() and "Human" not in t for t in texts)
    assert texts == backend.generate(prompts, max_new_tokens=4, temperature=0.7, seed=11, stop=["\n\nHuman:"])
    first = server.requests[0]
    assert first["path"] == "/v1/completions" and first["auth"] == "Bearer sk-test"
    assert first["body"]["prompt"] == prompts[:3] and first["body"]["seed"] == 11
    assert first["body"]["max_tokens"] == 4 and first["body"]["temperature"] == 0.7
    assert len(server.requests) == 4  # two batches per call
    # the order of choices comes from their "index", not from the answer's order
    single = [
        backend.generate([p], max_new_tokens=4, temperature=0.7, seed=11, stop=["\n\nHuman:"])[0]
        for p in prompts
    ]
    assert single == texts

    question = feedback_prompt(prompts[0], Constitution.default().principles[0], "aaaa", "xyzw")
    probs = backend.choice_probabilities(question, ["A", "B"])
    assert server.requests[-1]["body"]["logprobs"] == 5 and server.requests[-1]["body"]["max_tokens"] == 1
    p_a = 1.0 / (1.0 + math.exp(-20 * (vowel_share("aaaa") - vowel_share("xyzw"))))
    assert probs == pytest.approx([p_a, 1 - p_a], abs=1e-9)

    # the whole pipeline over HTTP: the same backend generates and judges
    sft = sl_cai(backend, PROMPTS, Constitution.default(), revisions=2, seed=5, max_new_tokens=4)
    assert len(sft) == len(PROMPTS)
    assert all(r["completion"].strip() and len(r["history"]) == 2 for r in sft)
    pairs = rl_cai(
        backend,
        backend,
        PROMPTS,
        Constitution.default(),
        principles_per_comparison=2,
        seed=5,
        max_new_tokens=4,
    )
    assert pairs
    for pair in pairs:
        assert vowel_share(pair["chosen"].strip()) >= vowel_share(pair["rejected"].strip())
        assert 0.5 < pair["preference"] <= 1.0


def test_openai_backend_retries_transient_errors_and_reports_the_rest(server):
    backend = OpenAIBackend(server.url, "tiny", max_retries=2, backoff=0.0)
    server.script = ["busy", "limited"]  # 503 then 429, then a good answer
    assert len(backend.generate(["x"], max_new_tokens=2, temperature=1.0, seed=0)) == 1
    assert len(server.requests) == 3
    server.script = ["drop"]  # the server hangs up once
    assert len(backend.generate(["x"], max_new_tokens=2, temperature=1.0, seed=0)) == 1
    assert len(server.requests) == 5
    server.script = ["drop"] * 3
    with pytest.raises(BackendError, match="connection failed"):
        backend.generate(["x"], max_new_tokens=2, temperature=1.0, seed=0)

    server.script = ["busy"] * 3
    with pytest.raises(BackendError, match=r"HTTP 503 .*overloaded.*after 3 attempts"):
        backend.generate(["x"], max_new_tokens=2, temperature=1.0, seed=0)

    server.requests.clear()
    server.script = ["bad"]
    with pytest.raises(BackendError, match=r"/v1/completions: HTTP 400 .*unknown model 'nope'"):
        backend.generate(["x"], max_new_tokens=2, temperature=1.0, seed=0)
    assert len(server.requests) == 1  # a client error is not retried

    server.script = ["garbage"]
    with pytest.raises(BackendError, match="malformed response, not JSON"):
        backend.generate(["x"], max_new_tokens=2, temperature=1.0, seed=0)
    server.script = ["empty"]
    with pytest.raises(BackendError, match=r"expected 1 choice\(s\), got 0"):
        backend.choice_probabilities("x", ["A", "B"])

    hasty = OpenAIBackend(server.url, "tiny", timeout=0.2, max_retries=0)
    server.script = ["slow"]
    with pytest.raises(TimeoutError, match=r"no answer within 0\.2 s"):
        hasty.generate(["x"], max_new_tokens=2, temperature=1.0, seed=0)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    nobody = OpenAIBackend(f"http://127.0.0.1:{port}", "tiny", max_retries=1, backoff=0.0)
    assert nobody.url == f"http://127.0.0.1:{port}/v1/completions"
    with pytest.raises(BackendError, match="cannot reach the server"):
        nobody.generate(["x"], max_new_tokens=2, temperature=1.0, seed=0)
    with pytest.raises(InvalidArgumentError, match="http"):
        OpenAIBackend("localhost:8000", "tiny")


def test_choice_options_missing_from_the_top_logprobs():
    assert _options_from_top({"A": math.log(0.6), "B": math.log(0.2)}, ["A", "B"]) == pytest.approx(
        [0.75, 0.25]
    )
    # B is not listed: it gets the leftover mass, at most the smallest listed probability
    probs = _options_from_top({"A": math.log(0.7), "The": math.log(0.25)}, ["A", "B"])
    assert probs == pytest.approx([0.7 / 0.75, 0.05 / 0.75])
    assert _options_from_top({"The": 0.0}, ["A", "B"]) == [0.5, 0.5]  # no information
    assert _options_from_top({" A": math.log(0.3), "A": math.log(0.3), "B": math.log(0.2)}, ["A", "B"]) == (
        pytest.approx([0.75, 0.25])
    )


# -------------------------------------------------------------------------------- config, runner
def test_config_file_runs_sl_and_rl_cai(tmp_path, server):
    judge_dir = tmp_path / "judge"
    model, tokenizer = _tiny_model(seed=2)
    export_model(model, judge_dir, tokenizer=tokenizer)
    (tmp_path / "prompts.jsonl").write_text(
        "".join(json.dumps({"prompt": p}) + "\n" for p in PROMPTS[:6])
        + json.dumps({"prompt": [{"role": "user", "content": "Hello?"}]})
        + "\n"
    )
    (tmp_path / "cai.toml").write_text(
        f'[data]\nprompts = "prompts.jsonl"\noutput_dir = "{tmp_path / "out"}"\n'
        f'[generator]\nbackend = "openai"\nbase_url = "{server.url}"\nmodel = "tiny"\n'
        '[judge]\nbackend = "local"\nmodel_dir = "judge"\ndevice = "cpu"\n'
        "[sampling]\nseed = 4\nmax_new_tokens = 4\n[sl]\nrevisions = 2\n[rl]\nprinciples_per_comparison = 2\n"
    )
    config = load_cai_config(tmp_path / "cai.toml", {"rl": {"order": "both"}})
    assert config.judge.model_dir == judge_dir and config.rl.order == "both" and config.needs_torch
    result = run_cai(config)
    assert result.counts["prompts"] == 7 and result.counts["sl_examples"] == 7
    sft = read_jsonl(result.sl_path, ["prompt", "completion", "history"])
    pairs = read_jsonl(result.rl_path, ["prompt", "chosen", "rejected", "preference"])
    assert len(pairs) == result.counts["rl_pairs"] >= 1
    assert sft[-1]["prompt"] == "Human: Hello?\n\nAssistant:"
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["counts"] == result.counts and len(summary["principles"]) == len(Constitution.default())
    assert json.loads((tmp_path / "out" / "config.json").read_text())["sampling"]["seed"] == 4

    with pytest.raises(ConfigError, match=r"generator: .*needs base_url and model"):
        load_cai_config(overrides={"data": {"prompts": "p.txt"}, "generator": {"backend": "openai"}})
    with pytest.raises(ValueError, match="nothing to do"):
        CAIConfig.model_validate(
            {
                "data": {"prompts": "p"},
                "generator": {"model_dir": "m"},
                "sl": {"enabled": False},
                "rl": {"enabled": False},
            }
        )
    (tmp_path / "p.txt").write_text("first\n\nsecond\n")
    assert read_prompts(tmp_path / "p.txt") == ["first", "second"]
    (tmp_path / "bad.jsonl").write_text('{"text": "x"}\n')
    with pytest.raises(InvalidArgumentError, match=r"bad.jsonl:1: needs a non-empty 'prompt'"):
        read_prompts(tmp_path / "bad.jsonl")


# -------------------------------------------------------------------------------- learning check
def test_dpo_on_rl_cai_pairs_moves_the_policy_toward_the_judges_preference(tmp_path):
    """The issue's learning check. The policy (a tiny Llama, briefly fine-tuned to answer in
    random lowercase letters) samples pairs; a judge with a clear rule (more vowels is better)
    labels them through RL-CAI; DPO on those pairs makes the policy's own samples on held-out
    prompts score higher under the rule, and the judge prefers them to the initial policy's.
    """
    model_config = {"model": TINY, "data": {"max_length": 96, "max_prompt_length": 64}}
    common = {"batch_size": 16, "progress": False, "lr_schedule": "constant", "device": "cpu"}
    sft_config = SFTConfig.model_validate(
        {
            **model_config,
            "train": {**common, "max_steps": 30, "learning_rate": 1e-2, "output_dir": str(tmp_path / "sft")},
        }
    )
    tokenizer = build_tokenizer(sft_config.model)
    model = build_model(sft_config.model, tokenizer, seed=0)
    rng = random.Random(0)
    letters = "abcdefghijklmnopqrstuvwxyz "
    warm_up = [
        {
            "prompt": render_conversation(rng.choice(PROMPTS)),
            "completion": " " + "".join(rng.choice(letters) for _ in range(rng.randint(12, 20))),
        }
        for _ in range(256)
    ]
    SFTTrainer(model, tokenizer, warm_up, config=sft_config).train()
    initial = LocalModelBackend(copy.deepcopy(model), tokenizer, "cpu")
    policy = LocalModelBackend(model, tokenizer, "cpu")

    constitution = Constitution.default()
    judge = RuleJudge()
    pairs = rl_cai(
        policy,
        judge,
        PROMPTS * 8,
        constitution,
        principles_per_comparison=2,
        seed=0,
        max_new_tokens=20,
        min_margin=0.1,
    )
    assert len(pairs) >= 40
    assert all(vowel_share(p["chosen"].strip()) > vowel_share(p["rejected"].strip()) for p in pairs)

    dpo_config = DPOConfig.model_validate(
        {
            **model_config,
            "train": {**common, "max_steps": 30, "learning_rate": 3e-3, "output_dir": str(tmp_path / "dpo")},
        }
    )
    metrics = DPOTrainer(model, tokenizer, pairs, config=dpo_config).train().metrics
    assert metrics["rewards/accuracies"] >= 0.8

    held_out = [render_conversation(f"Can I have {topic}?") for topic in HELDOUT_TOPICS] * 8
    sample = {"max_new_tokens": 20, "temperature": 1.0, "seed": 99}
    before, after = initial.generate(held_out, **sample), policy.generate(held_out, **sample)
    share_before = sum(map(vowel_share, before)) / len(before)
    share_after = sum(map(vowel_share, after)) / len(after)
    assert share_after > share_before + 0.1, (share_before, share_after)
    # the judge's own verdict: the trained policy's answer beats the initial policy's
    win_rate = sum(
        judge.choice_probabilities(
            feedback_prompt(conv, constitution.principles[0], new.strip(), old.strip()), ["A", "B"]
        )[0]
        for conv, new, old in zip(held_out, after, before, strict=True)
    ) / len(held_out)
    assert win_rate >= 0.75, win_rate

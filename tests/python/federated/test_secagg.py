from __future__ import annotations

import dataclasses
import os
import types
from typing import Any

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from scipy import stats

from reactor.errors import InvalidArgumentError
from reactor.federated.secagg import (
    DecryptionError,
    DropoutPlan,
    ProtocolViolationError,
    SecAggAbortError,
    SecAggClient,
    SecAggServer,
    add_mod,
    build_graph,
    complete_graph,
    crypto,
    dequantize,
    expand_mask,
    harary_graph,
    quantize,
    run_secure_aggregation,
    secure_sum,
)
from reactor.federated.secagg import client as client_module
from reactor.federated.secagg.messages import ROUNDS, EncryptedShare, ShareDelivery, UnmaskRequest

N, T, D, CLIP = 10, 6, 10_000, 1.0


def _updates(seed: int = 0, n: int = N, d: int = D) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 0.4, size=(n, d)).astype(np.float32)
    x[:, :10] = 3.0  # beyond the clip range: exercises clipping
    return x


def _reference(x: np.ndarray, included: tuple[int, ...]) -> np.ndarray:
    rows = [i - 1 for i in included]
    return np.clip(x[rows].astype(np.float64), -CLIP, CLIP).sum(axis=0)


def _assert_exact(result: Any, x: np.ndarray) -> None:
    k = len(result.included)
    bound = k / (2 * result.scale) + 1e-12
    err = np.abs(result.total - _reference(x, result.included)).max()
    assert err <= bound, (err, bound)


# -- masking: ChaCha20 keystream ----------------------------------------------------------------------

RFC_KEY = bytes(range(32))
RFC_NONCE = bytes.fromhex("000000000000004a00000000")
RFC_PLAINTEXT = (
    b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, "
    b"sunscreen would be it."
)
RFC_CIPHERTEXT = bytes.fromhex(
    "6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b"
    "f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8"
    "07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736"
    "5af90bbf74a35be6b40b8eedf2785e42874d"
)


def test_expand_mask_matches_rfc8439_section_2_4_2() -> None:
    words = expand_mask(RFC_KEY, (len(RFC_PLAINTEXT) + 3) // 4, nonce=RFC_NONCE, counter=1)
    assert words.dtype == np.uint32
    keystream = words.astype("<u4").tobytes()[: len(RFC_PLAINTEXT)]
    assert bytes(a ^ b for a, b in zip(RFC_PLAINTEXT, keystream, strict=True)) == RFC_CIPHERTEXT


def _rotl(v: int, c: int) -> int:
    return ((v << c) & 0xFFFFFFFF) | (v >> (32 - c))


def _chacha20_block(key: bytes, counter: int, nonce: bytes) -> list[int]:
    """Independent pure-Python ChaCha20 block function (RFC 8439 section 2.3)."""
    state = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574]
    state += [int.from_bytes(key[i : i + 4], "little") for i in range(0, 32, 4)]
    state += [counter] + [int.from_bytes(nonce[i : i + 4], "little") for i in range(0, 12, 4)]
    w = list(state)

    def qr(a: int, b: int, c: int, d: int) -> None:
        w[a] = (w[a] + w[b]) & 0xFFFFFFFF
        w[d] = _rotl(w[d] ^ w[a], 16)
        w[c] = (w[c] + w[d]) & 0xFFFFFFFF
        w[b] = _rotl(w[b] ^ w[c], 12)
        w[a] = (w[a] + w[b]) & 0xFFFFFFFF
        w[d] = _rotl(w[d] ^ w[a], 8)
        w[c] = (w[c] + w[d]) & 0xFFFFFFFF
        w[b] = _rotl(w[b] ^ w[c], 7)

    for _ in range(10):
        qr(0, 4, 8, 12), qr(1, 5, 9, 13), qr(2, 6, 10, 14), qr(3, 7, 11, 15)
        qr(0, 5, 10, 15), qr(1, 6, 11, 12), qr(2, 7, 8, 13), qr(3, 4, 9, 14)
    return [(a + b) & 0xFFFFFFFF for a, b in zip(w, state, strict=True)]


def test_expand_mask_convention_against_independent_reference() -> None:
    seed = bytes(range(100, 132))
    mask = expand_mask(seed, 40)  # 2.5 blocks: element 16*b + w is word w of block b (counter 0, zero nonce)
    reference = [word for block in range(3) for word in _chacha20_block(seed, block, bytes(12))][:40]
    assert mask.tolist() == reference
    # RFC 8439 section 2.3.2 block function vector (first and last serialized words)
    block = _chacha20_block(RFC_KEY, 1, bytes.fromhex("000000090000004a00000000"))
    mask = expand_mask(RFC_KEY, 16, nonce=bytes.fromhex("000000090000004a00000000"), counter=1)
    assert mask.tolist() == block
    assert mask.astype("<u4").tobytes()[:4] == bytes.fromhex("10f1e7e4")
    assert mask.astype("<u4").tobytes()[-4:] == bytes.fromhex("a2503c4e")


def test_expand_mask_properties_and_errors() -> None:
    seed = bytes(32)
    assert np.array_equal(expand_mask(seed, 1000), expand_mask(seed, 1000))
    assert np.array_equal(expand_mask(seed, 1000)[:37], expand_mask(seed, 37))  # prefix-stable
    assert not np.array_equal(expand_mask(seed, 64), expand_mask(b"\x01" + bytes(31), 64))
    assert expand_mask(seed, 0).shape == (0,)
    with pytest.raises(InvalidArgumentError, match="seed"):
        expand_mask(b"short", 4)
    with pytest.raises(InvalidArgumentError, match="length"):
        expand_mask(seed, -1)
    with pytest.raises(InvalidArgumentError, match="counter"):
        expand_mask(seed, 4, counter=2**32)
    with pytest.raises(InvalidArgumentError, match="wrap"):
        expand_mask(seed, 17, counter=2**32 - 1)


def test_add_mod_wraps_and_validates() -> None:
    acc = np.array([0, 1, 2**32 - 1], dtype=np.uint32)
    mask = np.array([1, 2**32 - 1, 1], dtype=np.uint32)
    add_mod(acc, mask, 1)
    assert acc.tolist() == [1, 0, 0]
    add_mod(acc, mask, -1)
    assert acc.tolist() == [0, 1, 2**32 - 1]
    with pytest.raises(InvalidArgumentError, match="sign"):
        add_mod(acc, mask, 2)
    with pytest.raises(InvalidArgumentError, match="uint32"):
        add_mod(acc.astype(np.int64), mask, 1)
    with pytest.raises(InvalidArgumentError, match="shape"):
        add_mod(acc, mask[:2], 1)


def test_quantization_error_and_no_overflow() -> None:
    k, clip = 10, 2.5
    rng = np.random.default_rng(1)
    x = rng.uniform(-4, 4, size=(k, 1000)).astype(np.float32)
    x[:, 0] = clip  # every client at the top of the range
    x[:, 1] = -clip
    acc = np.zeros(1000, dtype=np.uint32)
    for row in x:
        q, scale = quantize(row, clip, k)
        add_mod(acc, q, 1)
    total = dequantize(acc, scale, k)
    reference = np.clip(x.astype(np.float64), -clip, clip).sum(axis=0)
    assert np.abs(total - reference).max() <= k / (2 * scale)
    assert total[0] == pytest.approx(k * clip, abs=k / scale)
    assert total[1] == pytest.approx(-k * clip, abs=k / scale)
    assert scale * clip * k <= 2**31 - 1
    with pytest.raises(InvalidArgumentError, match=r"update\[3\]"):
        quantize(np.array([0, 0, 0, np.nan], dtype=np.float32), 1.0, 2)
    with pytest.raises(InvalidArgumentError, match="clip"):
        quantize(np.zeros(3), 0.0, 2)
    with pytest.raises(InvalidArgumentError, match="num_clients"):
        quantize(np.zeros(3), 1.0, 0)


# -- crypto -----------------------------------------------------------------------------------------


def test_key_agreement_is_symmetric_and_purpose_separated() -> None:
    a, b = crypto.generate_private_key(), crypto.generate_private_key()
    sid = b"s" * 16
    k_ab = crypto.agree(a, crypto.public_key_bytes(b), purpose=b"enc", session_id=sid)
    assert k_ab == crypto.agree(b, crypto.public_key_bytes(a), purpose=b"enc", session_id=sid)
    assert k_ab != crypto.agree(a, crypto.public_key_bytes(b), purpose=b"mask", session_id=sid)
    assert k_ab != crypto.agree(a, crypto.public_key_bytes(b), purpose=b"enc", session_id=b"t" * 16)
    restored = crypto.private_key_from_bytes(crypto.private_key_bytes(a))
    assert crypto.public_key_bytes(restored) == crypto.public_key_bytes(a)


def test_aead_rejects_any_tampering() -> None:
    key = bytes(range(32))
    aad = crypto.associated_data(b"x" * 16, 1, 2, b"share")
    blob = crypto.aead_encrypt(key, b"secret share bytes", aad)
    assert crypto.aead_decrypt(key, blob, aad) == b"secret share bytes"
    for position in (0, 11, 12, len(blob) // 2, len(blob) - 1):  # nonce, ciphertext, tag
        tampered = bytearray(blob)
        tampered[position] ^= 0x01
        with pytest.raises(DecryptionError):
            crypto.aead_decrypt(key, bytes(tampered), aad)
    with pytest.raises(DecryptionError):  # replayed to another recipient
        crypto.aead_decrypt(key, blob, crypto.associated_data(b"x" * 16, 1, 3, b"share"))
    with pytest.raises(DecryptionError):
        crypto.aead_decrypt(key, blob[:20], aad)


# -- graph ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "k"), [(10, 4), (10, 3), (9, 4), (12, 5), (10, 9)])
def test_harary_graph_is_k_regular_symmetric_connected(n: int, k: int) -> None:
    g = harary_graph(list(range(1, n + 1)), k, seed=5)
    assert all(len(nbrs) == k for nbrs in g.values())
    assert all(u in g[v] and u not in g[u] for u in g for v in g[u])
    # k-connected: removing any k-1 vertices leaves it connected (checked for random removals)
    rng = np.random.default_rng(0)
    for _ in range(30):
        removed = set(rng.choice(list(g), size=k - 1, replace=False).tolist())
        rest = set(g) - removed
        start = next(iter(rest))
        seen, stack = {start}, [start]
        while stack:
            for v in g[stack.pop()] & rest:
                if v not in seen:
                    seen.add(v)
                    stack.append(v)
        assert seen == rest


def test_harary_odd_odd_and_graph_errors() -> None:
    g = harary_graph(list(range(1, 10)), 3, seed=1)  # n*k odd: one vertex has degree k+1
    assert sorted(len(v) for v in g.values()) == [3] * 8 + [4]
    assert complete_graph([1, 2, 3]) == {1: frozenset({2, 3}), 2: frozenset({1, 3}), 3: frozenset({1, 2})}
    ring = harary_graph([1, 2, 3, 4, 5, 6], 2, shuffle=False)
    assert ring[1] == frozenset({2, 6})
    with pytest.raises(InvalidArgumentError, match="degree"):
        harary_graph([1, 2, 3], 3)
    with pytest.raises(InvalidArgumentError, match="degree"):
        build_graph([1, 2, 3], "harary")
    with pytest.raises(InvalidArgumentError, match="kind"):
        build_graph([1, 2, 3], "star")  # type: ignore[arg-type]


# -- protocol ---------------------------------------------------------------------------------------


def test_no_dropouts_complete_graph_exact_sum() -> None:
    x = _updates()
    result = run_secure_aggregation(x, threshold=T, clip=CLIP)
    assert result.included == tuple(range(1, N + 1))
    _assert_exact(result, x)
    # everything masked in transit: no masked input equals its quantized update
    for msg in result.transcript.messages("masked_input_collection"):
        if hasattr(msg, "masked"):
            assert not np.array_equal(msg.masked, quantize(x[msg.sender - 1], CLIP, N)[0])


def test_dropouts_at_every_stage_complete_graph() -> None:
    x = _updates(1)
    plan = DropoutPlan(advertise_keys={2}, share_keys={5}, masked_input_collection={7}, unmasking={9})
    result = run_secure_aggregation(x, threshold=T, clip=CLIP, dropouts=plan)
    # 9 dropped after sending its masked input: still counted (its self mask rebuilt from shares)
    assert result.included == (1, 3, 4, 6, 8, 9, 10)
    _assert_exact(result, x)
    assert result.transcript.answered == {
        "advertise_keys": (1, 3, 4, 5, 6, 7, 8, 9, 10),
        "share_keys": (1, 3, 4, 6, 7, 8, 9, 10),
        "masked_input_collection": (1, 3, 4, 6, 8, 9, 10),
        "unmasking": (1, 3, 4, 6, 8, 10),
    }
    assert result.server.u4 == frozenset({1, 3, 4, 6, 8, 10})


@pytest.mark.parametrize("stage", ROUNDS)
def test_n_minus_t_dropouts_at_one_stage(stage: str) -> None:
    x = _updates(2)
    dropped = {2, 4, 6, 8}
    result = run_secure_aggregation(x, threshold=T, clip=CLIP, dropouts=DropoutPlan(**{stage: dropped}))
    expected = (
        tuple(range(1, N + 1)) if stage == "unmasking" else tuple(sorted(set(range(1, N + 1)) - dropped))
    )
    assert result.included == expected
    _assert_exact(result, x)


@pytest.mark.parametrize("stage", ROUNDS)
def test_abort_below_threshold_names_round_and_counts(stage: str) -> None:
    x = _updates(3, d=100)
    with pytest.raises(SecAggAbortError, match=stage) as info:
        run_secure_aggregation(x, threshold=T, clip=CLIP, dropouts=DropoutPlan(**{stage: {1, 2, 3, 4, 5}}))
    assert info.value.round_name == stage
    assert (info.value.survivors, info.value.required) == (5, T)
    assert "5 of 10" in str(info.value)
    assert "t=6" in str(info.value)


def test_harary_graph_k4_with_dropouts_at_every_stage() -> None:
    ids = list(range(1, N + 1))
    graph = harary_graph(ids, 4, shuffle=False)  # ring positions 0..9 hold clients 1..10
    x = _updates(4)
    plan = DropoutPlan(advertise_keys={1}, share_keys={3}, masked_input_collection={6}, unmasking={8})
    result = run_secure_aggregation(x, threshold=T, clip=CLIP, graph=graph, dropouts=plan)
    assert result.included == (2, 4, 5, 7, 8, 9, 10)
    _assert_exact(result, x)
    assert result.server.share_threshold == 3  # majority of the k + 1 = 5 holders


def test_harary_graph_clients_only_pair_with_k_neighbours() -> None:
    x = _updates(5)
    result = run_secure_aggregation(x, threshold=T, clip=CLIP, graph="harary", degree=4, graph_seed=11)
    _assert_exact(result, x)
    graph = result.server.graph
    for msg in result.transcript.messages("share_keys"):
        if hasattr(msg, "shares") and msg.__class__.__name__ == "ShareKeys":
            assert len(msg.shares) == 4
            assert {s.recipient for s in msg.shares} == graph[msg.sender]


def test_harary_concentrated_dropouts_abort_with_named_client() -> None:
    graph = harary_graph(list(range(1, N + 1)), 4, shuffle=False)
    # clients 5, 7, 8 leave during unmasking: client 6's self-mask seed has 2 of 5 holders left
    plan = DropoutPlan(unmasking={5, 7, 8})
    with pytest.raises(SecAggAbortError, match=r"client \d+'s self-mask seed") as info:
        run_secure_aggregation(_updates(6, d=100), threshold=T, clip=CLIP, graph=graph, dropouts=plan)
    assert info.value.round_name == "unmasking"
    assert (info.value.survivors, info.value.required) == (2, 3)


def test_disconnected_survivor_graph_aborts_instead_of_leaking_partial_sums() -> None:
    ring = harary_graph(list(range(1, N + 1)), 2, shuffle=False)
    plan = DropoutPlan(masked_input_collection={1, 6})
    with pytest.raises(SecAggAbortError, match="disconnected") as info:
        run_secure_aggregation(_updates(7, d=100), threshold=T, clip=CLIP, graph=ring, dropouts=plan)
    assert info.value.round_name == "masked_input_collection"


def test_single_masked_update_is_indistinguishable_from_uniform() -> None:
    d = D
    x = np.zeros((N, d), dtype=np.float32)
    x[0] = np.linspace(-1, 1, d, dtype=np.float32)  # a very structured update
    result = run_secure_aggregation(x, threshold=T, clip=CLIP)
    masked = next(
        m.masked
        for m in result.transcript.messages()
        if getattr(m, "sender", None) == 1 and hasattr(m, "masked")
    )
    quantized = quantize(x[0], CLIP, N)[0]

    def byte_p(values: np.ndarray) -> float:
        counts = np.bincount(values.view(np.uint8), minlength=256)
        return float(stats.chisquare(counts).pvalue)

    def top_nibble_p(values: np.ndarray) -> float:
        return float(stats.chisquare(np.bincount(values >> 28, minlength=16)).pvalue)

    assert byte_p(masked) > 1e-6
    assert top_nibble_p(masked) > 1e-6
    signed_true = quantized.view(np.int32).astype(np.float64)
    assert abs(np.corrcoef(masked.astype(np.float64), signed_true)[0, 1]) < 0.05
    assert abs(np.corrcoef(masked.view(np.int32).astype(np.float64), signed_true)[0, 1]) < 0.05
    # the same tests do detect the unmasked update
    assert byte_p(quantized) < 1e-12
    assert top_nibble_p(quantized) < 1e-12
    _assert_exact(result, x)


def _walk(obj: Any, seen: set[int] | None = None) -> list[Any]:
    """Every object reachable from obj through attributes, slots and containers."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return []
    seen.add(id(obj))
    out = [obj]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _walk(k, seen) + _walk(v, seen)
    elif isinstance(obj, list | tuple | set | frozenset):
        for v in obj:
            out += _walk(v, seen)
    elif not isinstance(obj, str | bytes | int | float | np.ndarray | type | types.ModuleType):
        for name in getattr(obj, "__dict__", {}):
            out += _walk(getattr(obj, name), seen)
        for cls in type(obj).__mro__:
            for name in getattr(cls, "__slots__", ()):
                if hasattr(obj, name):
                    out += _walk(getattr(obj, name), seen)
    return out


def test_server_never_holds_private_keys_seeds_or_raw_updates(monkeypatch: pytest.MonkeyPatch) -> None:
    private: list[bytes] = []
    seeds: list[bytes] = []
    original_generate = crypto.generate_private_key

    def recording_generate() -> X25519PrivateKey:
        key = original_generate()
        private.append(crypto.private_key_bytes(key))
        return key

    def recording_urandom(n: int) -> bytes:
        value = os.urandom(n)
        seeds.append(value)
        return value

    monkeypatch.setattr(crypto, "generate_private_key", recording_generate)
    monkeypatch.setattr(client_module, "os", types.SimpleNamespace(urandom=recording_urandom))
    x = _updates(8)
    # 4 drops after sharing (its mask key is rebuilt by the server), 9 after its masked input
    plan = DropoutPlan(share_keys={2}, masked_input_collection={4}, unmasking={9})
    result = run_secure_aggregation(x, threshold=T, clip=CLIP, dropouts=plan)
    _assert_exact(result, x)
    assert len(private) == 2 * N and len(seeds) == N - 1

    server_side = _walk(result.server)
    to_server = [r.message for r in result.transcript.records if r.recipient == 0]
    reachable = server_side + _walk(to_server)
    assert not any(isinstance(o, X25519PrivateKey) for o in reachable)
    blobs = [o for o in reachable if isinstance(o, bytes)]
    for secret in private + seeds:
        assert not any(secret in blob for blob in blobs)
    arrays = [o for o in reachable if isinstance(o, np.ndarray)]
    raw = [quantize(row, CLIP, N)[0] for row in x] + [row for row in x]
    for array in arrays:
        for r in raw:
            assert not (array.shape == r.shape and np.array_equal(array, r))
    # the server's own state: public material and the running sum only
    assert set(vars(result.server)) == {
        "client_ids",
        "threshold",
        "share_threshold",
        "vector_length",
        "clip",
        "graph",
        "session_id",
        "scale",
        "_next_round",
        "_public_keys",
        "u1",
        "u2",
        "u3",
        "u4",
        "_sum",
        "_requests",
    }


def test_tampered_share_ciphertext_is_rejected() -> None:
    def tamper(round_name: str, sender: int, recipient: int, message: Any) -> Any:
        if isinstance(message, ShareDelivery) and recipient == 3:
            first = message.shares[0]
            flipped = bytearray(first.ciphertext)
            flipped[20] ^= 0x80
            shares = (dataclasses.replace(first, ciphertext=bytes(flipped)), *message.shares[1:])
            return dataclasses.replace(message, shares=shares)
        return message

    with pytest.raises(DecryptionError, match="tampered"):
        run_secure_aggregation(_updates(9, d=100), threshold=T, clip=CLIP, intercept=tamper)


def test_share_rerouted_to_another_client_is_rejected() -> None:
    stolen: dict[str, EncryptedShare] = {}

    def reroute(round_name: str, sender: int, recipient: int, message: Any) -> Any:
        if isinstance(message, ShareDelivery):
            if recipient == 2:
                stolen["share"] = next(s for s in message.shares if s.sender == 5)
            if recipient == 3:
                moved = dataclasses.replace(stolen["share"], recipient=3)
                shares = (*(s for s in message.shares if s.sender != 5), moved)
                return dataclasses.replace(message, shares=shares)
        return message

    with pytest.raises(DecryptionError):
        run_secure_aggregation(_updates(10, d=100), threshold=T, clip=CLIP, intercept=reroute)


def _manual_round(
    n: int = 5, t: int = 3
) -> tuple[SecAggServer, dict[int, SecAggClient], dict[int, UnmaskRequest]]:
    x = _updates(11, n=n, d=50)
    server = SecAggServer(list(range(1, n + 1)), threshold=t, vector_length=50, clip=CLIP)
    clients = {c: SecAggClient(c, x[c - 1]) for c in range(1, n + 1)}
    for c, msg in server.setup_messages().items():
        clients[c].setup(msg)
    dirs = server.advertise_keys([clients[c].advertise_keys() for c in clients])
    deliveries = server.share_keys([clients[c].share_keys(dirs[c]) for c in clients])
    requests = server.masked_input_collection([clients[c].masked_input(deliveries[c]) for c in clients])
    return server, clients, requests


def test_client_never_reveals_both_shares_for_a_peer() -> None:
    server, clients, requests = _manual_round()
    client = clients[1]
    honest = requests[1]
    both = UnmaskRequest(recipient=1, dropped=frozenset({2}), survivors=honest.survivors)
    with pytest.raises(ProtocolViolationError, match="both shares"):
        client.unmask(both)
    with pytest.raises(ProtocolViolationError, match="not listed as a survivor"):
        client.unmask(UnmaskRequest(1, dropped=frozenset({1}), survivors=honest.survivors - {1}))
    with pytest.raises(ProtocolViolationError, match="exactly its neighbours"):
        client.unmask(UnmaskRequest(1, dropped=frozenset(), survivors=frozenset({1, 2, 3})))
    response = client.unmask(honest)
    assert set(response.seed_shares) == set(honest.survivors) and response.key_shares == {}
    # a second request (e.g. now claiming 2 dropped) is refused: the seed share of 2 is already out
    with pytest.raises(ProtocolViolationError):
        client.unmask(UnmaskRequest(1, dropped=frozenset({2}), survivors=honest.survivors - {2}))
    output = server.unmasking([response] + [clients[c].unmask(requests[c]) for c in (2, 3, 4, 5)])
    assert output.included == (1, 2, 3, 4, 5)


def test_rounds_run_once_and_in_order() -> None:
    server, clients, requests = _manual_round()
    with pytest.raises(ProtocolViolationError, match="out of order"):
        server.share_keys([])
    with pytest.raises(ProtocolViolationError, match="stage"):
        clients[2].advertise_keys()
    with pytest.raises(ProtocolViolationError, match="addressed to client 2"):
        clients[1].unmask(requests[2])


def test_bad_parameters_name_the_parameter() -> None:
    x = _updates(12, d=10)
    with pytest.raises(InvalidArgumentError, match="threshold"):
        run_secure_aggregation(x, threshold=11, clip=CLIP)
    with pytest.raises(InvalidArgumentError, match="threshold"):
        run_secure_aggregation(x, threshold=1, clip=CLIP)
    with pytest.raises(InvalidArgumentError, match="clip"):
        run_secure_aggregation(x, threshold=T, clip=-1.0)
    with pytest.raises(InvalidArgumentError, match="share_threshold"):
        run_secure_aggregation(x, threshold=T, clip=CLIP, graph="harary", degree=4, share_threshold=6)
    with pytest.raises(InvalidArgumentError, match="unknown clients"):
        run_secure_aggregation(x, threshold=T, clip=CLIP, dropouts=DropoutPlan(unmasking={42}))
    with pytest.raises(InvalidArgumentError, match="drop twice"):
        DropoutPlan(share_keys={1}, unmasking={1})
    with pytest.raises(InvalidArgumentError, match="one length"):
        run_secure_aggregation([np.zeros(3), np.zeros(4)], threshold=2, clip=CLIP)


# -- secure_sum -------------------------------------------------------------------------------------


def test_secure_sum_weighted_with_dropouts() -> None:
    rng = np.random.default_rng(13)
    x = rng.normal(0, 0.5, size=(N, 2_000)).astype(np.float32)
    w = rng.uniform(1, 100, size=N)
    plan = DropoutPlan(share_keys={0}, masked_input_collection={3}, unmasking={5})
    out = secure_sum(list(x), weights=w, clip=2.0, threshold=T, dropout=plan)
    assert out.included == (1, 2, 4, 5, 6, 7, 8, 9)
    idx = list(out.included)
    expected = (w[idx, None] * np.clip(x[idx].astype(np.float64), -2, 2)).sum(axis=0)
    scale = ((2**31 - 1) // N) / 2.0
    assert np.abs(out.total - expected).max() <= w.max() * N / (2 * scale) + 1e-9
    assert out.weight_total == pytest.approx(w[idx].sum(), rel=1e-6)
    assert np.allclose(out.mean, expected / w[idx].sum(), atol=1e-6)


def test_secure_sum_random_dropout_and_harary() -> None:
    x = np.random.default_rng(14).normal(0, 0.3, size=(12, 500))
    out = secure_sum(x, clip=1.0, dropout=0.05, seed=3, graph="harary", degree=6, threshold=7)
    idx = list(out.included)
    assert len(idx) >= 7
    assert out.weight_total == pytest.approx(len(idx), rel=1e-6)
    assert np.allclose(out.total, np.clip(x[idx], -1, 1).sum(axis=0), atol=1e-5)


def test_secure_sum_bad_input() -> None:
    x = np.zeros((4, 5), dtype=np.float32)
    with pytest.raises(InvalidArgumentError, match=r"weights\[2\]"):
        secure_sum(x, weights=[1, 1, -1, 1])
    bad = x.copy()
    bad[1, 3] = np.nan
    with pytest.raises(InvalidArgumentError, match=r"updates\[1\]"):
        secure_sum(bad)
    with pytest.raises(InvalidArgumentError, match=r"updates\[2\]"):
        secure_sum([np.zeros(5), np.zeros(5), np.zeros(4), np.zeros(5)])
    with pytest.raises(InvalidArgumentError, match="dropout rate"):
        secure_sum(x, dropout=1.5)

"""Tokenizer, tiny model, real-model loading and the target cache (issue 2, item 4)."""

import time
import warnings

import pytest
import torch

from nbutils.core import models, targets
from nbutils.reproduce import presets


def _same_weights(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_tokenizer_training_is_deterministic(small_bench):
    corpus = models.benchmark_corpus(small_bench)
    a, b = models.train_tokenizer(corpus, 512), models.train_tokenizer(corpus, 512)
    assert a.backend_tokenizer.to_str() == b.backend_tokenizer.to_str()
    assert a.padding_side == "left" and a.pad_token_id != a.eos_token_id


def test_default_tiny_model_has_a_few_million_parameters(small_bench):
    tok = models.train_tokenizer(models.benchmark_corpus(small_bench), 2048)
    n = sum(p.numel() for p in models.build_tiny_model(tok).parameters())
    assert 1_000_000 < n < 10_000_000
    assert type(models.build_tiny_model(tok)).__name__ == "GPT2LMHeadModel"


def test_cache_miss_then_hit(small_bench, tmp_path):
    first = targets.train_target(
        small_bench, settings=presets.SMOKE_TARGET, cache_dir=tmp_path, progress=False
    )
    start = time.perf_counter()
    second = targets.train_target(
        small_bench, settings=presets.SMOKE_TARGET, cache_dir=tmp_path, progress=False
    )
    assert not first.from_cache and second.from_cache
    assert time.perf_counter() - start < first.train_seconds + 5  # loads, does not retrain
    assert second.train_seconds == pytest.approx(first.train_seconds)
    assert _same_weights(first.model, second.model)
    assert not list(tmp_path.glob("targets/*.tmp-*"))  # atomic write left nothing behind


def test_another_seed_is_another_key(small_bench):
    settings = presets.SMOKE_TARGET
    assert targets.target_key(small_bench, "tiny", 0, settings, "all") != targets.target_key(
        small_bench, "tiny", 1, settings, "all"
    )
    assert targets.target_key(small_bench, "tiny", 0, settings, "all") != targets.target_key(
        small_bench, "tiny", 0, settings, "retain"
    )


def test_corrupt_cache_is_rebuilt_not_trusted(small_bench, tmp_path):
    first = targets.train_target(
        small_bench, settings=presets.SMOKE_TARGET, cache_dir=tmp_path, progress=False
    )
    weights = first.path / "model.pt"
    weights.write_bytes(weights.read_bytes()[:1000])  # truncated
    with pytest.warns(UserWarning, match="rebuilding"):
        rebuilt = targets.train_target(
            small_bench, settings=presets.SMOKE_TARGET, cache_dir=tmp_path, progress=False
        )
    assert not rebuilt.from_cache
    assert _same_weights(first.model, rebuilt.model)  # same seed, same weights
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = targets.train_target(
            small_bench, settings=presets.SMOKE_TARGET, cache_dir=tmp_path, progress=False
        )
    assert again.from_cache


def test_same_seed_same_target_to_the_last_bit(small_bench, tmp_path):
    a = targets.train_target(
        small_bench, settings=presets.SMOKE_TARGET, cache_dir=tmp_path / "a", progress=False
    )
    b = targets.train_target(
        small_bench, settings=presets.SMOKE_TARGET, cache_dir=tmp_path / "b", progress=False
    )
    assert not b.from_cache and _same_weights(a.model, b.model)


def test_unknown_model_name_without_network_names_the_parameter(monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ValueError, match=r"model='no-such-org/no-such-model'"):
        models.load_pretrained("no-such-org/no-such-model")


def test_real_model_path_loads_a_local_folder(small_target, tmp_path):
    small_target.model.save_pretrained(tmp_path / "m")
    small_target.tokenizer.save_pretrained(tmp_path / "m")
    model, tok = models.load_pretrained(str(tmp_path / "m"))
    assert _same_weights(model, small_target.model)
    assert tok.padding_side == "left" and tok.pad_token_id is not None


def test_target_splits_must_be_known(small_bench):
    with pytest.raises(ValueError, match="splits"):
        targets.train_target(small_bench, splits="forget")


def test_memorization_check_moves_each_batch_to_the_models_device(
    small_target, small_bench, monkeypatch
):
    """On CUDA the check's batches must follow the model (they were left on the CPU)."""
    from nbutils.core import batches

    seen, to = [], batches.Batch.to

    def recording_to(batch, device):
        seen.append(torch.device(device))
        return to(batch, device)

    monkeypatch.setattr(batches.Batch, "to", recording_to)
    items = batches.encode_records(small_target.tokenizer, small_bench.retain[:8])
    targets.memorized_share(small_target.model, items, small_target.tokenizer.pad_token_id, 4)
    assert seen and all(d == next(small_target.model.parameters()).device for d in seen)


def test_gradient_checkpointing_falls_back_to_the_older_transformers_name():
    """transformers before 5.2x has only ``gradient_checkpointing_enable``."""
    from nbutils.core import runtime

    class Older(torch.nn.Module):
        supports_gradient_checkpointing = True

        def __init__(self):
            super().__init__()
            self.calls = []

        def gradient_checkpointing_enable(self, kwargs=None):
            self.calls.append(kwargs)

    model = runtime.gradient_checkpointing(Older())
    assert model.calls == [{"use_reentrant": False}]

"""`torch.*` creation functions, generators, torch.save/load without pickle, and the error
a missing PyTorch API gives."""

from __future__ import annotations

import numpy as np
import pytest

import stepgrad as sg

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("name", ["zeros", "ones", "empty", "rand", "randn"])
def test_shapes_as_ints_or_a_tuple_and_the_common_arguments(name: str) -> None:
    make = getattr(sg, name)
    for shape_args in ((2, 3), ((2, 3),), ([2, 3],), (sg.Size([2, 3]),)):
        x = make(*shape_args)
        assert x.shape == (2, 3) and x.dtype == sg.float32
        assert str(x.dtype) == str(torch.get_default_dtype()).replace("torch.", "")
    x = make(4, dtype=sg.float64, device="cpu", requires_grad=True)
    assert x.dtype == np.float64 and x.requires_grad and x.is_leaf


def test_values_and_dtypes_match_pytorch() -> None:
    pairs = [
        (sg.arange(5), torch.arange(5)), (sg.arange(1, 4, 0.5), torch.arange(1, 4, 0.5)),
        (sg.arange(2.0), torch.arange(2.0)), (sg.linspace(-1, 1, 5), torch.linspace(-1, 1, 5)),
        (sg.eye(3), torch.eye(3)), (sg.eye(2, 3), torch.eye(2, 3)),
        (sg.full((2, 2), 7), torch.full((2, 2), 7)), (sg.full((2,), 1.5), torch.full((2,), 1.5)),
        (sg.tensor([1, 2]), torch.tensor([1, 2])), (sg.tensor([1.0, 2]), torch.tensor([1.0, 2])),
        (sg.tensor(True), torch.tensor(True)),
        (sg.zeros_like(sg.ones(2, 3)), torch.zeros_like(torch.ones(2, 3))),
        (sg.ones_like(sg.arange(3)), torch.ones_like(torch.arange(3))),
        (sg.full_like(sg.zeros(2), 3.0), torch.full_like(torch.zeros(2), 3.0)),
    ]
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours.data, theirs.numpy(), err_msg=str(theirs))
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), theirs


def test_from_numpy_shares_and_as_tensor_converts() -> None:
    array = np.arange(3.0)
    shared = sg.from_numpy(array)
    assert shared.data.base is array and shared.dtype == np.float64
    assert sg.as_tensor(array).data.base is array
    assert sg.as_tensor([1, 2], dtype=sg.float32).dtype == np.float32
    with pytest.raises(TypeError, match="expected np.ndarray"):
        sg.from_numpy([1.0, 2.0])


def test_generators_and_seeds_make_runs_repeatable() -> None:
    sg.manual_seed(3)
    first = sg.randn(4).tolist()
    sg.manual_seed(3)
    assert sg.randn(4).tolist() == first
    g1, g2 = sg.Generator().manual_seed(5), sg.Generator().manual_seed(5)
    assert sg.rand(3, generator=g1).tolist() == sg.rand(3, generator=g2).tolist()
    ints = sg.randint(0, 10, (100,), generator=g1)
    assert ints.dtype == np.int64 and 0 <= int(ints.data.min()) and int(ints.data.max()) < 10
    assert sg.randint(3, (5,)).data.max() < 3
    assert sorted(sg.randperm(5).tolist()) == [0, 1, 2, 3, 4]


def test_multinomial_draws_by_weight() -> None:
    g = sg.Generator().manual_seed(0)
    draws = sg.multinomial(sg.tensor([0.0, 1.0, 3.0]), 4000, replacement=True, generator=g)
    counts = np.bincount(draws.data, minlength=3)
    assert counts[0] == 0 and 0.7 < counts[2] / 4000 < 0.8
    rows = sg.multinomial(sg.tensor([[1.0, 0.0], [0.0, 1.0]]), 1)
    assert rows.tolist() == [[0], [1]]
    with pytest.raises(RuntimeError, match="without replacement"):
        sg.multinomial(sg.tensor([1.0, 1.0]), 3)


def test_save_writes_exactly_the_named_file_and_load_reads_a_state_dict(tmp_path: object) -> None:
    model = sg.nn.Linear(3, 2)
    path = tmp_path / "model.pt"
    sg.save(model.state_dict(), str(path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt"]
    state = sg.load(str(path), weights_only=True)
    assert sorted(state) == ["bias", "weight"]
    copy = sg.nn.Linear(3, 2)
    copy.load_state_dict(state)
    np.testing.assert_array_equal(copy.weight.data, model.weight.data)
    with pytest.raises(TypeError, match="no pickle"):
        sg.save(model, str(tmp_path / "whole.pt"))
    torch.save({"w": torch.ones(2)}, str(tmp_path / "pickled.pt"))
    with pytest.raises(ValueError, match="cannot be read here"):
        sg.load(str(tmp_path / "pickled.pt"))


def test_a_missing_pytorch_api_is_named_at_once() -> None:
    with pytest.raises(AttributeError, match=r"torch\.fft is a PyTorch API outside stepgrad's "
                                             r"course subset"):
        sg.fft  # noqa: B018
    with pytest.raises(AttributeError, match=r"torch\.nn\.functional\.ctc_loss .* outside"):
        sg.nn.functional.ctc_loss  # noqa: B018
    with pytest.raises(AttributeError, match=r"torch\.autograd\.Variable .* outside"):
        sg.autograd.Variable  # noqa: B018
    assert not hasattr(sg, "compile_everything")
    from stepgrad import trace  # submodules still import
    assert callable(trace)


def test_torch_functions_and_methods_agree() -> None:
    x = sg.tensor(np.array([[0.5, -1.0], [2.0, 0.25]]))
    t = torch.tensor(np.array([[0.5, -1.0], [2.0, 0.25]]))
    for name in ("exp", "abs", "sigmoid", "tanh", "relu", "neg", "sin", "cos", "t", "flatten"):
        np.testing.assert_allclose(getattr(sg, name)(x).data, getattr(torch, name)(t).numpy(),
                                   err_msg=name)
    np.testing.assert_allclose(sg.where(x > 0, x, 0.0).data, torch.where(t > 0, t, 0.0).numpy())
    assert [i.tolist() for i in sg.where(x > 0)] == [i.tolist() for i in torch.where(t > 0)]
    np.testing.assert_allclose(sg.cat([x, x], 1).data, torch.cat([t, t], 1).numpy())
    np.testing.assert_allclose(sg.stack([x, x], dim=2).data, torch.stack([t, t], dim=2).numpy())
    np.testing.assert_allclose(sg.norm(x).item(), torch.norm(t).item())
    np.testing.assert_allclose(x.var(0).data, t.var(0).numpy())
    np.testing.assert_allclose(x.std(unbiased=False).item(), t.std(unbiased=False).item())
    np.testing.assert_allclose(x.abs().log10().data, t.abs().log10().numpy())
    np.testing.assert_allclose(x.abs().rsqrt().data, t.abs().rsqrt().numpy())
    assert [p.shape for p in x.split(1)] == [tuple(p.shape) for p in t.split(1)]
    assert [p.shape for p in sg.arange(7).chunk(3)] == [tuple(p.shape) for p in
                                                         torch.arange(7).chunk(3)]
    assert x.unsqueeze(1).shape == tuple(t.unsqueeze(1).shape)
    assert x.reshape(1, 4, 1).squeeze().shape == tuple(t.reshape(1, 4, 1).squeeze().shape)
    assert x.reshape(1, 4, 1).squeeze(0).shape == tuple(t.reshape(1, 4, 1).squeeze(0).shape)
    assert x.view(-1).view_as(x).shape == (2, 2) and x.contiguous() is x
    assert sg.zeros(2, 3, 4).flatten(1, 2).shape == (2, 12)
    with pytest.raises(RuntimeError, match="expected 2-D"):
        sg.mm(sg.zeros(3), sg.zeros(3, 2))


def test_new_tensors_selection_and_masked_fill_match_pytorch() -> None:
    data = np.arange(12.0).reshape(3, 4)
    x, t = sg.tensor(data), torch.tensor(data)
    assert x.new_zeros(2, 3).tolist() == t.new_zeros(2, 3).tolist()
    assert x.new_ones((2,)).dtype == np.float64 and x.new_full((2,), 7).tolist() == [7.0, 7.0]
    assert x.new_tensor([1, 2]).dtype == np.float64 and x.is_floating_point()
    assert x.index_select(1, [0, 3]).tolist() == t.index_select(1, torch.tensor([0, 3])).tolist()
    assert [u.tolist() for u in sg.unbind(x, 1)] == [u.tolist() for u in torch.unbind(t, 1)]
    assert x.square().tolist() == t.square().tolist()
    x.masked_fill_(x > 5, -1.0)
    t.masked_fill_(t > 5, -1.0)
    assert x.tolist() == t.tolist()


def test_an_attention_mask_and_manual_backprop_idioms_run_as_in_pytorch() -> None:
    """Lines from a character-level GPT lecture and the manual-backprop exercise."""
    results = []
    for lib in (sg, torch):
        lib.manual_seed(0)
        wei = lib.tensor(np.arange(16.0).reshape(4, 4) / 10, requires_grad=True)
        tril = lib.tril(lib.ones(4, 4))
        masked = wei.masked_fill(tril == 0, float("-inf"))
        probs = lib.nn.functional.softmax(masked, dim=-1)
        dlogits = probs.detach().clone()
        dlogits[range(4), [1, 0, 3, 2]] -= 1
        counts = lib.zeros(5, dtype=lib.int64)
        for ix in lib.tensor([1, 3, 3]):
            counts[ix] += 1
        (probs * lib.triu(lib.ones(4, 4), 1).T).sum().backward()
        results.append([probs.tolist(), dlogits.tolist(), counts.tolist(), wei.grad.tolist()])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)


def test_pytorch_and_numpy_read_a_stepgrad_tensor() -> None:
    for data in (3.5, [[1.0, 2.0]], [1, 2, 3]):
        ours = sg.tensor(data)
        assert torch.tensor(ours).tolist() == torch.tensor(data).tolist()
        assert np.from_dlpack(ours).tolist() == ours.tolist()


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # 1 / 0.0 is inf
def test_sort_topk_flip_and_small_math_match_pytorch() -> None:
    data = np.array([[0.3, -1.2, 2.5, 0.7], [1.1, 0.0, -0.4, 3.0]])
    x, t = sg.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    got = [x.sort(1, descending=True), sg.topk(x, 2), x.topk(1, dim=0, largest=False)]
    want = [t.sort(1, descending=True), torch.topk(t, 2), t.topk(1, dim=0, largest=False)]
    for ours, theirs in zip(got, want):
        np.testing.assert_allclose(ours.values.data, theirs.values.detach().numpy())
        assert ours.indices.tolist() == theirs.indices.tolist()
    (got[1].values.sum() + x.flip(0, 1)[0, 0] * 3).backward()
    (want[1].values.sum() + t.flip(0, 1)[0, 0] * 3).backward()
    np.testing.assert_allclose(x.grad.data, t.grad.numpy())
    for name in ("reciprocal", "sign", "floor", "ceil", "round"):
        np.testing.assert_allclose(getattr(sg, name)(x).data,
                                   getattr(torch, name)(t).detach().numpy(), err_msg=name)
    small = sg.tensor(np.array([0.5, 1e-3])), torch.tensor(np.array([0.5, 1e-3]))
    np.testing.assert_allclose(small[0].log1p().data, small[1].log1p().numpy(), rtol=1e-12)
    np.testing.assert_allclose(small[0].expm1().data, small[1].expm1().numpy(), rtol=1e-9)
    np.testing.assert_allclose(sg.outer(small[0], small[0]).data,
                               torch.outer(small[1], small[1]).numpy())
    np.testing.assert_allclose(x.mv(sg.tensor(np.ones(4))).data,
                               t.mv(torch.ones(4, dtype=torch.float64)).detach().numpy())


def test_a_checkpoint_of_state_dicts_round_trips_without_pickle(tmp_path: object) -> None:
    model = sg.nn.Linear(3, 2)
    optimizer = sg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(sg.ones(1, 3)).sum().backward()
    optimizer.step()
    checkpoint = {"epoch": 3, "loss": 0.25, "name": "run 1", "best": None,
                  "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                  "history": [1.0, 0.5], "betas": (0.9, 0.99)}
    path = tmp_path / "checkpoint.pt"
    sg.save(checkpoint, str(path))
    with np.load(str(path), allow_pickle=False) as archive:  # plain arrays and JSON inside
        assert len(archive.files) > 2
    back = sg.load(str(path))
    assert (back["epoch"], back["loss"], back["name"], back["best"]) == (3, 0.25, "run 1", None)
    assert back["history"] == [1.0, 0.5] and back["betas"] == (0.9, 0.99)
    copy = sg.nn.Linear(3, 2)
    copy.load_state_dict(back["model"])
    np.testing.assert_array_equal(copy.weight.data, model.weight.data)
    again = sg.optim.SGD(copy.parameters(), lr=0.5, momentum=0.9)
    again.load_state_dict(back["optimizer"])
    assert again.param_groups[0]["lr"] == 0.1
    with pytest.raises(TypeError, match=r"the object\['bad'\] holds a set"):
        sg.save({"bad": {1, 2}}, str(tmp_path / "bad.pt"))

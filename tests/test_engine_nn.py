"""sg.nn: Module bookkeeping, Sequential, seeded initialisation, saving and loading."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import stepgrad as sg

nn = sg.nn


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)
        self.norm = nn.BatchNorm2d(2)
        self.scale = nn.Parameter(np.ones(1, dtype=np.float32))
        self.not_a_parameter = np.zeros(3)  # plain arrays are not registered

    def forward(self, x: sg.Tensor) -> sg.Tensor:
        return self.norm(self.conv(x)).relu() * self.scale


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.block = Block()
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Linear(32, 3))

    def forward(self, x: sg.Tensor) -> sg.Tensor:
        return self.head(self.block(x))


def test_parameters_named_parameters_and_children() -> None:
    net = Net()
    names = [name for name, _ in net.named_parameters()]
    assert names == ["block.scale", "block.conv.weight", "block.conv.bias", "block.norm.weight",
                     "block.norm.bias", "head.2.weight", "head.2.bias"]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in net.parameters())
    assert len(list(net.parameters())) == 7
    assert [name for name, _ in net.named_children()] == ["block", "head"]
    assert list(net.children()) == [net.block, net.head]
    assert [path for path, _ in net.named_modules()] == [
        "", "block", "block.conv", "block.norm", "head", "head.0", "head.1", "head.2"]
    net.head = nn.Linear(32, 3)  # reassigning replaces the registered module
    assert [name for name, _ in net.named_parameters()][-2:] == ["head.weight", "head.bias"]


def test_assigning_before_super_init_says_what_to_do() -> None:
    class Forgetful(nn.Module):
        def __init__(self) -> None:
            self.fc = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match=r"call super\(\).__init__\(\)"):
        Forgetful()


def test_train_eval_dropout_and_batch_norm() -> None:
    net = Net()
    assert net.training and net.head[1].training
    assert net.eval() is net and not net.training and not net.block.norm.training
    x = sg.randn(4, 1, 4, 4)
    np.testing.assert_array_equal(net(x).data, net(x).data)  # deterministic in eval mode
    net.train()
    assert net.head[1].training
    a, b = net(x).data, net(x).data
    assert not np.array_equal(a, b)  # dropout draws a new mask each call
    assert int(net.block.norm.num_batches_tracked) == 2


def test_dropout_scales_kept_units() -> None:
    x = sg.tensor(np.ones((200, 50)), requires_grad=True)
    y = nn.functional.dropout(x, 0.3)
    kept = y.data != 0
    assert 0.6 < kept.mean() < 0.8
    np.testing.assert_allclose(y.data[kept], 1 / 0.7)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, kept / 0.7)
    assert nn.functional.dropout(x, 0.3, training=False) is x
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\)"):
        nn.Dropout(1.0)


def test_zero_grad_clears_every_parameter() -> None:
    net = Net()
    net(sg.randn(2, 1, 4, 4)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(not p.grad.any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    opt = sg.optim.SGD(net.parameters(), lr=0.1)
    net(sg.randn(2, 1, 4, 4)).sum().backward()
    opt.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_state_dict_and_load_state_dict() -> None:
    net, other = Net(), Net()
    state = net.state_dict()
    assert list(state) == ["block.scale", "block.conv.weight", "block.conv.bias",
                           "block.norm.weight", "block.norm.bias", "block.norm.running_mean",
                           "block.norm.running_var", "block.norm.num_batches_tracked",
                           "head.2.weight", "head.2.bias"]
    state["head.2.bias"][0] = 123.0  # a copy: the model is unchanged
    assert net.head[2].bias.data[0] != 123.0
    net.block.norm.running_mean += 1
    other.load_state_dict(net.state_dict())
    for (key, a), b in zip(net.state_dict().items(), other.state_dict().values()):
        np.testing.assert_array_equal(a, b, err_msg=key)
    x = sg.randn(2, 1, 4, 4)
    net.eval(), other.eval()
    np.testing.assert_array_equal(net(x).data, other(x).data)


def test_load_state_dict_errors() -> None:
    net = Net()
    state = net.state_dict()
    del state["head.2.bias"]
    state["extra"] = np.zeros(1)
    with pytest.raises(KeyError, match=r"missing keys \['head.2.bias'\], unexpected keys "
                                       r"\['extra'\]"):
        net.load_state_dict(state)
    net.load_state_dict(state, strict=False)
    with pytest.raises(ValueError, match=r"head.2.weight has shape \(3, 32\) but the state "
                                         r"gives \(3, 4\)"):
        net.load_state_dict({"head.2.weight": np.zeros((3, 4))}, strict=False)


def test_repr_reads_like_pytorch() -> None:
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(64, 10))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n"
        "  (1): ReLU()\n"
        "  (2): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"
        "  (3): Flatten(start_dim=1, end_dim=-1)\n"
        "  (4): Linear(in_features=64, out_features=10, bias=True)\n"
        ")")
    assert repr(Net()).startswith("Net(\n  (block): Block(\n    (conv): Conv2d(")
    assert repr(model[0].bias).startswith("Parameter containing:\ntensor([")


def test_sequential_indexing() -> None:
    layers = [nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)]
    model = nn.Sequential(*layers)
    assert model[0] is layers[0] and model[-1] is layers[2] and len(model) == 3
    assert list(model) == layers
    head = model[1:]
    assert isinstance(head, nn.Sequential) and list(head) == layers[1:]
    x = sg.randn(5, 2)
    np.testing.assert_allclose(model(x).data, head(layers[0](x)).data)
    model.append(nn.Sigmoid())
    assert len(model) == 4 and isinstance(model[3], nn.Sigmoid)
    with pytest.raises(IndexError):
        model[4]


def test_layers_default_init_is_seeded() -> None:
    sg.manual_seed(5)
    a = Net().state_dict()
    sg.manual_seed(5)
    b = Net().state_dict()
    sg.manual_seed(6)
    c = Net().state_dict()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert not np.array_equal(a["block.conv.weight"], c["block.conv.weight"])


@pytest.mark.parametrize("init", ["kaiming_uniform_", "kaiming_normal_", "xavier_uniform_",
                                  "xavier_normal_", "uniform_", "normal_"])
def test_init_functions_same_seed_same_weights(init: str) -> None:
    weights = []
    for seed in (1, 1, 2):
        sg.manual_seed(seed)
        w = nn.Parameter(np.zeros((64, 32, 3, 3), dtype=np.float32))
        assert getattr(nn.init, init)(w) is w
        weights.append(w.data.copy())
    np.testing.assert_array_equal(weights[0], weights[1])
    assert not np.array_equal(weights[0], weights[2])
    assert weights[0].dtype == np.float32 and weights[0].std() > 0


def test_init_distributions() -> None:
    w = nn.Parameter(np.zeros((200, 300), dtype=np.float64))
    nn.init.kaiming_uniform_(w, nonlinearity="relu")
    bound = math.sqrt(2) * math.sqrt(3 / 300)
    assert np.abs(w.data).max() <= bound and np.abs(w.data).max() > 0.95 * bound
    nn.init.kaiming_normal_(w, nonlinearity="relu")
    assert w.data.std() == pytest.approx(math.sqrt(2 / 300), rel=0.02)
    nn.init.xavier_uniform_(w)
    bound = math.sqrt(6 / 500)
    assert np.abs(w.data).max() <= bound and np.abs(w.data).max() > 0.95 * bound
    nn.init.xavier_normal_(w, gain=2.0)
    assert w.data.std() == pytest.approx(2 * math.sqrt(2 / 500), rel=0.02)
    nn.init.zeros_(w)
    assert not w.data.any()
    nn.init.ones_(w)
    assert (w.data == 1).all()
    nn.init.constant_(w, 0.5)
    assert (w.data == 0.5).all()
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        nn.init.xavier_uniform_(nn.Parameter(np.zeros(3)))
    with pytest.raises(ValueError, match="unknown nonlinearity"):
        nn.init.kaiming_uniform_(w, nonlinearity="swish")


def test_linear_init_matches_pytorch_bounds() -> None:
    layer = nn.Linear(400, 50)
    bound = 1 / math.sqrt(400)
    for p in (layer.weight, layer.bias):
        assert np.abs(p.data).max() <= bound and np.abs(p.data).max() > 0.9 * bound
    assert nn.Linear(2, 2, bias=False).bias is None


def test_save_and_load_npz_without_pickle(tmp_path: Path) -> None:
    net = Net()
    path = tmp_path / "net.npz"
    sg.save(net.state_dict(), str(path))
    with np.load(path, allow_pickle=False) as archive:  # a plain npz: arrays only
        assert set(archive.files) == set(net.state_dict())
    loaded = sg.load(str(path))
    assert list(loaded) == list(net.state_dict())
    fresh = Net()
    fresh.load_state_dict(loaded)
    for (key, a), b in zip(net.state_dict().items(), fresh.state_dict().values()):
        np.testing.assert_array_equal(a, b, err_msg=key)
        assert a.dtype == b.dtype


def test_load_refuses_pickled_objects(tmp_path: Path) -> None:
    path = tmp_path / "evil.npz"
    np.savez(path, weight=np.array([{"not": "an array"}], dtype=object))
    with pytest.raises(ValueError, match="pickle"):
        sg.load(str(path))


# -- PyTorch's Module API --------------------------------------------------------------------
def test_forward_hooks_see_and_replace_inputs_and_outputs() -> None:
    layer = nn.Linear(2, 2)
    seen = []
    handle = layer.register_forward_hook(lambda m, args, out: seen.append((m, out)))
    pre = layer.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    out = layer(sg.randn(3, 2))
    assert seen[0][0] is layer and seen[0][1] is out
    np.testing.assert_allclose(out.data, np.broadcast_to(layer.bias.data, (3, 2)))  # input zeroed
    pre.remove()
    with layer.register_forward_hook(lambda m, args, out: out * 0):
        assert not layer(sg.randn(3, 2)).data.any()  # a hook's return value replaces the output
    handle.remove()
    assert layer(sg.randn(3, 2)).data.any() and len(seen) == 2


def test_apply_register_parameter_and_shared_weights() -> None:
    model = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 3))
    model.apply(lambda m: nn.init.zeros_(m.weight) if isinstance(m, nn.Linear) else None)
    assert not any(layer.weight.data.any() for layer in (model[0], model[2]))
    model[2].weight = model[0].weight  # tied: counted once, at its first path
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "2.bias"]
    layer = nn.Linear(2, 2, bias=False)
    assert layer.bias is None and [n for n, _ in layer.named_parameters()] == ["weight"]
    assert "bias" not in layer.state_dict()
    with pytest.raises(TypeError, match=r"must be an nn.Parameter or None.*nn.Parameter\(tensor\)"):
        layer.register_parameter("scale", np.ones(2))
    assert model.get_submodule("2") is model[2]
    with pytest.raises(TypeError, match=r"cannot assign Tensor as parameter 'bias' \(nn.Parameter "
                                        r"or None expected\)"):
        model[0].bias = model[0].bias * 2
    model[0].bias = None  # a removed bias stays registered as None, as in PyTorch
    assert "bias" in model[0]._parameters and model[0].bias is None


def test_buffers_follow_the_state_dict_and_dtype_moves() -> None:
    class Masked(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(2, 2)
            self.norm = nn.BatchNorm1d(2)
            self.register_buffer("mask", sg.Tensor(np.tril(np.ones((2, 2), dtype=np.float32))))
            self.register_buffer("cache", np.zeros(2, dtype=np.float32), persistent=False)

    model = Masked()
    assert "mask" in model.state_dict() and "cache" not in model.state_dict()
    assert [n for n, _ in model.named_buffers()][:2] == ["mask", "cache"]
    assert model.double() is model
    assert model.fc.weight.dtype == np.float64 and model.mask.dtype == np.float64
    assert model.norm.running_mean.dtype == np.float64
    assert model.norm.num_batches_tracked.dtype == np.int64  # counters stay integers
    assert model.to("cpu", dtype=np.float32).fc.weight.dtype == np.float32
    state = model.state_dict()
    state["mask"] = np.zeros((2, 2))
    model.load_state_dict(state)
    assert not model.mask.data.any() and model.mask.dtype == np.float32


def test_gpu_devices_and_half_are_clear_errors() -> None:
    model = nn.Linear(2, 2)
    assert model.cpu() is model and model.to("cpu:0") is model
    with pytest.raises(RuntimeError, match="'cuda' is not available; stepgrad runs on the CPU"):
        model.to("cuda")
    with pytest.raises(RuntimeError, match="CPU only"):
        model.cuda()
    with pytest.raises(RuntimeError, match="CPU only"):
        nn.Linear(2, 2, device="mps")
    with pytest.raises(TypeError, match="float16 is outside stepgrad's course subset"):
        model.half()


def test_load_state_dict_not_strict_returns_the_keys_it_skipped() -> None:
    model = nn.Sequential(nn.Linear(2, 2))
    result = model.load_state_dict({"0.weight": np.ones((2, 2)), "extra": np.ones(1)},
                                   strict=False)
    assert result.missing_keys == ["0.bias"] and result.unexpected_keys == ["extra"]
    assert (model[0].weight.data == 1).all()


def test_module_list_and_dict_register_their_modules() -> None:
    blocks = nn.ModuleList([nn.Linear(2, 2) for _ in range(2)])
    blocks.append(nn.ReLU())
    blocks.insert(0, nn.Tanh())
    assert [type(b).__name__ for b in blocks] == ["Tanh", "Linear", "Linear", "ReLU"]
    assert blocks[-1] is list(blocks)[3] and len(blocks[1:3]) == 2
    assert len(list(blocks.parameters())) == 4
    with pytest.raises(IndexError, match="index 4 is out of range for 4 modules"):
        blocks[4]
    heads = nn.ModuleDict({"a": nn.Linear(2, 1)})
    heads["b"] = nn.Linear(2, 3)
    assert list(heads) == ["a", "b"] and "b" in heads and len(heads) == 2
    assert [n for n, _ in heads.named_parameters()] == ["a.weight", "a.bias", "b.weight",
                                                         "b.bias"]
    heads.pop("a")
    assert list(heads.keys()) == ["b"]
    with pytest.raises(TypeError, match="expected an nn.Module, got list"):
        nn.ModuleList([[nn.ReLU()]])


def test_a_missing_nn_name_says_it_is_outside_the_subset() -> None:
    with pytest.raises(AttributeError, match="torch.nn.LSTM is outside stepgrad's course subset"):
        nn.LSTM  # noqa: B018
    with pytest.raises(NotImplementedError, match="outside stepgrad's course subset"):
        nn.Conv2d(1, 1, 3, groups=2)


def test_hooks_run_inside_the_recorded_module_call() -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    model[0].register_forward_hook(lambda m, args, out: out * 2)
    x = sg.randn(3, 2)
    expected = (model[0].forward(x) * 2).relu().data
    with sg.trace() as t:
        out = model(x)
    np.testing.assert_allclose(out.data, expected)
    frames = [(e.kind, e.path) for e in t.events if e.kind in ("module_enter", "module_exit")]
    assert frames == [("module_enter", ""), ("module_enter", "0"), ("module_exit", "0"),
                      ("module_enter", "1"), ("module_exit", "1"), ("module_exit", "")]

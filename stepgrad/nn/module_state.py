"""What a Module carries besides its forward: its state dict (for saving and copying
weights, also to and from PyTorch), and moves between dtypes and devices.

stepgrad runs on the CPU only: `.to("cpu")`, `.cpu()` and `device="cpu"` are accepted so
PyTorch programs run unchanged; a GPU device is a clear error. `.to(torch.float64)`,
`.double()` and `.float()` cast every float parameter and buffer, in place, as in PyTorch.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from stepgrad.tensor import Tensor

if TYPE_CHECKING:
    from collections.abc import Iterator

    from stepgrad.nn.module import Module, Parameter


class IncompatibleKeys(NamedTuple):
    """What `load_state_dict(..., strict=False)` returns: the keys it could not match."""

    missing_keys: list[str]
    unexpected_keys: list[str]


def check_device(device: Any, where: str) -> None:
    """Accept the CPU (None, "cpu", "cpu:0", torch.device("cpu")); refuse any other device."""
    if device is None:
        return
    kind = str(getattr(device, "type", device)).split(":")[0]
    if kind != "cpu":
        raise RuntimeError(f"{where}: device {str(device)!r} is not available; stepgrad runs on "
                           f"the CPU only (use 'cpu', or torch.device('cpu'))")


def dtype_or_none(value: Any) -> np.dtype | None:
    """A float dtype from a numpy or stepgrad dtype (or its name), else None (np.dtype(None)
    is float64: `model.to(device)`, with no dtype, cast every parameter to float64)."""
    if value is None or isinstance(value, str):
        return None
    try:
        dtype = np.dtype(getattr(value, "numpy_dtype", value))
    except TypeError:
        return None
    return dtype


class StateMixin:
    """state_dict / load_state_dict and to / float / double / cpu for nn.Module."""

    if TYPE_CHECKING:  # what the mixin uses of Module
        def named_modules(self, memo: set[int] | None = None,
                          prefix: str = "") -> Iterator[tuple[str, Module]]: ...

        def modules(self) -> Iterator[Module]: ...

        def named_parameters(self, prefix: str = "",
                             recurse: bool = True) -> Iterator[tuple[str, Parameter]]: ...

        def parameters(self, recurse: bool = True) -> Iterator[Parameter]: ...

    def state_dict(self, *, prefix: str = "", keep_vars: bool = False) -> OrderedDict[str, Any]:
        """Every parameter and persistent buffer by path, in PyTorch's order, as tensors
        without gradients (`keep_vars=True`: the parameters themselves).

        Unlike PyTorch's, the tensors are copies: training on does not change a state dict
        taken earlier (in PyTorch it does, unless you deepcopy it)."""
        state: OrderedDict[str, Any] = OrderedDict()
        for path, module in self.named_modules(prefix=prefix.rstrip(".")):
            head = f"{path}." if path else ""
            for name, param in module._parameters.items():
                if param is not None:
                    state[head + name] = param if keep_vars else Tensor(param.data.copy())
            for name, persistent in module._buffers.items():
                if persistent:
                    value = np.array(as_numpy(getattr(module, name)), copy=True)
                    state[head + name] = Tensor(value)
        return state

    def load_state_dict(self, state_dict: dict[str, Any], strict: bool = True,
                        assign: bool = False) -> IncompatibleKeys:
        """Copy arrays (numpy, stepgrad or PyTorch tensors) into the parameters and buffers,
        by path; `strict=False` loads the keys that match and returns the others."""
        own = dict(self.named_parameters())
        buffers = self._persistent_buffers()
        missing = [k for k in list(own) + sorted(buffers) if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own and k not in buffers]
        if strict and (missing or unexpected):
            raise KeyError(f"load_state_dict: missing keys {missing}, unexpected keys "
                           f"{unexpected}; pass strict=False to load the keys that match")
        for key, value in state_dict.items():
            array = as_numpy(value)
            if key in own:
                if array.shape != own[key].data.shape:
                    raise ValueError(f"load_state_dict: {key} has shape {own[key].data.shape} "
                                     f"but the state gives {array.shape}")
                own[key].data = array.astype(own[key].data.dtype, copy=True)
            elif key in buffers:
                module, name = buffers[key]
                old = getattr(module, name)
                new = array.astype(as_numpy(old).dtype, copy=True)
                if isinstance(old, Tensor):
                    old.data = new
                else:
                    object.__setattr__(module, name, new)
        return IncompatibleKeys(missing, unexpected)

    def _persistent_buffers(self) -> dict[str, tuple[Any, str]]:
        """path -> (module, attribute name) of every buffer the state dict holds."""
        return {(f"{path}.{name}" if path else name): (module, name)
                for path, module in self.named_modules()
                for name, persistent in module._buffers.items() if persistent}

    # -- dtypes and devices -----------------------------------------------------------
    def to(self, *args: Any, **kwargs: Any) -> Any:
        """`.to(device)`, `.to(dtype)` or both (`device=`, `dtype=`, a tensor to match):
        casts float parameters and buffers in place and returns the module."""
        dtype = dtype_or_none(kwargs.pop("dtype", None))
        check_device(kwargs.pop("device", None), f"{type(self).__name__}.to")
        kwargs.pop("non_blocking", None)
        if kwargs:
            raise TypeError(f"{type(self).__name__}.to: unexpected arguments {sorted(kwargs)}")
        for arg in args:
            if isinstance(arg, Tensor):
                dtype = arg.data.dtype
            elif dtype_or_none(arg) is not None:
                dtype = dtype_or_none(arg)
            else:
                check_device(arg, f"{type(self).__name__}.to")
        if dtype is not None:
            if dtype.kind != "f":
                raise TypeError(f"{type(self).__name__}.to: only float dtypes are supported for "
                                f"modules, got {dtype}")
            self._cast(dtype)
        return self

    def _cast(self, dtype: np.dtype) -> None:
        for param in self.parameters():
            param.data = param.data.astype(dtype)
            if param.grad is not None:
                param.grad = param.grad.astype(dtype) if isinstance(param.grad, np.ndarray) \
                    else Tensor(np.asarray(param.grad.data, dtype=dtype))
        for module in self.modules():
            for name in module._buffers:
                value = getattr(module, name)
                if as_numpy(value).dtype.kind != "f":
                    continue  # counters stay integers, as in PyTorch
                if isinstance(value, Tensor):
                    value.data = value.data.astype(dtype)
                else:
                    object.__setattr__(module, name, np.asarray(value).astype(dtype))

    def float(self) -> Any:
        return self.to(np.float32)

    def double(self) -> Any:
        return self.to(np.float64)

    def cpu(self) -> Any:
        return self

    def cuda(self, device: Any = None) -> Any:
        check_device("cuda", f"{type(self).__name__}.cuda")
        return self

    def half(self) -> Any:
        raise TypeError(f"{type(self).__name__}.half: float16 is outside stepgrad's course "
                        f"subset; use .float() (float32) or .double()")


def as_numpy(value: Any) -> np.ndarray:
    """The numpy array of a stepgrad tensor, a PyTorch tensor, or anything array-like."""
    if isinstance(value, Tensor):
        return value.data
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch.Tensor
        return value.detach().cpu().numpy()
    return np.asarray(value)


def save(state: dict[str, Any], path: str) -> None:
    """Save a state dict as a numpy `.npz` file (arrays only, no pickle)."""
    arrays: dict[str, Any] = {key: as_numpy(value) for key, value in state.items()}
    np.savez(path, **arrays)


def load(path: str) -> OrderedDict[str, np.ndarray]:
    """Load a state dict saved by `save` (refuses pickled objects)."""
    with np.load(path, allow_pickle=False) as archive:
        return OrderedDict((key, archive[key]) for key in archive.files)

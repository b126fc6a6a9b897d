"""`torch.save` and `torch.load`, without pickle: tensors go into an .npz archive.

    torch.save(model.state_dict(), "model.pt")       # writes exactly model.pt
    model.load_state_dict(torch.load("model.pt"))
    torch.save({"epoch": 3, "model": model.state_dict(),
                "optimizer": optimizer.state_dict()}, "checkpoint.pt")

PyTorch pickles any object; stepgrad does not, because loading a pickle runs code from the
file. A flat dict of tensors (a state dict) is stored as one array per key, readable with
`np.load`. Anything nested (a checkpoint) is stored as its arrays plus a JSON description
of the structure (dicts with str or int keys, lists, tuples, numbers, strings, None);
other objects are refused with a clear message.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from typing import Any

import numpy as np

STRUCTURE = "__stepgrad_structure__"  # the archive member holding a nested object's JSON


def _as_array(value: Any) -> np.ndarray | None:
    """The array of a tensor (stepgrad's or PyTorch's) or numpy array; None for others."""
    from stepgrad.tensor import Tensor

    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, np.ndarray):
        return value
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a PyTorch tensor
        return value.detach().cpu().numpy()
    return None


def _encode(value: Any, arrays: dict[str, np.ndarray], where: str) -> Any:
    """`value` as JSON, its arrays moved into `arrays` (named a0, a1, ...)."""
    array = _as_array(value)
    if array is not None:
        name = f"a{len(arrays)}"
        arrays[name] = array
        return {"tensor": name}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, dict):
        return {"dict": [[key, _encode(item, arrays, f"{where}[{key!r}]")]
                         for key, item in value.items() if _check_key(key, where)]}
    if isinstance(value, (list, tuple)):
        items = [_encode(item, arrays, f"{where}[{i}]") for i, item in enumerate(value)]
        return {"tuple" if isinstance(value, tuple) else "list": items}
    raise TypeError(f"torch.save: {where} holds a {type(value).__name__}; stepgrad saves "
                    f"tensors, numbers, strings and dicts/lists of them (no pickle), such as "
                    f"model.state_dict()")


def _check_key(key: Any, where: str) -> bool:
    if not isinstance(key, (str, int)):
        raise TypeError(f"torch.save: {where} has a key of type {type(key).__name__}; "
                        f"stepgrad saves dicts with str or int keys")
    return True


def _decode(value: Any, arrays: Any) -> Any:
    from stepgrad.tensor import Tensor

    if not isinstance(value, dict):
        return value
    if "tensor" in value:
        return Tensor(arrays[value["tensor"]])
    if "dict" in value:
        return OrderedDict((key, _decode(item, arrays)) for key, item in value["dict"])
    kind = "tuple" if "tuple" in value else "list"
    items = [_decode(item, arrays) for item in value[kind]]
    return tuple(items) if kind == "tuple" else items


def save(obj: Any, f: Any) -> None:
    """Save a state dict or a checkpoint (dicts of them) to the file `f`, exactly that name."""
    if hasattr(obj, "state_dict") and not isinstance(obj, dict):
        raise TypeError("torch.save: stepgrad saves state dicts, not whole objects (no pickle); "
                        "save model.state_dict() and load it with model.load_state_dict")
    flat = isinstance(obj, dict) and all(
        isinstance(k, str) and k != STRUCTURE and _as_array(v) is not None
        for k, v in obj.items())
    arrays: dict[str, np.ndarray] = {}
    if flat:
        arrays = {key: _as_array(value) for key, value in obj.items()}  # type: ignore[misc]
    else:
        structure = json.dumps(_encode(obj, arrays, "the object"))
        arrays[STRUCTURE] = np.array(structure)
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as handle:  # np.savez would add ".npz" to a name
            np.savez(handle, **arrays)  # type: ignore[arg-type]
    else:
        np.savez(f, **arrays)  # type: ignore[arg-type]


def load(f: Any, map_location: Any = None, weights_only: Any = None, **_: Any) -> Any:
    """Load what `save` wrote: a state dict of tensors, or the checkpoint's structure
    (refuses files PyTorch pickled)."""
    from stepgrad.tensor import Tensor

    problem = "it holds more than arrays"
    try:
        with np.load(f, allow_pickle=False) as archive:
            if isinstance(archive, np.lib.npyio.NpzFile) and archive.zip is not None and \
                    all(name.endswith(".npy") for name in archive.zip.namelist()):
                if STRUCTURE in archive.files:
                    return _decode(json.loads(str(archive[STRUCTURE])), archive)
                return OrderedDict((key, Tensor(archive[key])) for key in archive.files)
    except (ValueError, OSError) as error:
        problem = str(error)
    raise ValueError(f"torch.load: {f} is not a file stepgrad.save wrote (an .npz archive of "
                     f"arrays); a file PyTorch pickled cannot be read here ({problem})")

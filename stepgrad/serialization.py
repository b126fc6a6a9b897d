"""`torch.save` and `torch.load`, without pickle: a state dict goes into an .npz archive.

    torch.save(model.state_dict(), "model.pt")       # writes exactly model.pt
    model.load_state_dict(torch.load("model.pt"))

PyTorch pickles any object; stepgrad saves a dict of arrays (or tensors) only, because
loading a pickle runs code from the file. Anything else is refused with a clear message.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from typing import Any

import numpy as np


def _array(key: str, value: Any) -> np.ndarray:
    from stepgrad.tensor import Tensor

    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, (np.ndarray, np.generic, int, float, bool)):
        return np.asarray(value)
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a PyTorch tensor
        return value.detach().cpu().numpy()
    raise TypeError(f"torch.save: {key!r} holds a {type(value).__name__}; stepgrad saves a dict "
                    f"of tensors or arrays only (no pickle), such as model.state_dict()")


def save(obj: Any, f: Any) -> None:
    """Save a state dict (name -> tensor or array) to the file `f`, exactly that name."""
    if hasattr(obj, "state_dict") and not isinstance(obj, dict):
        raise TypeError("torch.save: stepgrad saves state dicts, not whole objects (no pickle); "
                        "save model.state_dict() and load it with model.load_state_dict")
    if not isinstance(obj, dict):
        raise TypeError(f"torch.save: expected a dict of tensors (a state dict), got "
                        f"{type(obj).__name__}")
    arrays = {str(key): _array(str(key), value) for key, value in obj.items()}
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as handle:  # np.savez would add ".npz" to a name
            np.savez(handle, **arrays)  # type: ignore[arg-type]
    else:
        np.savez(f, **arrays)  # type: ignore[arg-type]


def load(f: Any, map_location: Any = None, weights_only: Any = None,
         **_: Any) -> OrderedDict[str, Any]:
    """Load what `save` wrote, as a state dict of tensors (refuses pickled files)."""
    from stepgrad.tensor import Tensor

    problem = "it holds more than arrays"
    try:
        with np.load(f, allow_pickle=False) as archive:
            if isinstance(archive, np.lib.npyio.NpzFile) and archive.zip is not None and \
                    all(name.endswith(".npy") for name in archive.zip.namelist()):
                return OrderedDict((key, Tensor(archive[key])) for key in archive.files)
    except (ValueError, OSError) as error:
        problem = str(error)
    raise ValueError(f"torch.load: {f} is not a file stepgrad.save wrote (an .npz archive of "
                     f"arrays); a file PyTorch pickled cannot be read here ({problem})")

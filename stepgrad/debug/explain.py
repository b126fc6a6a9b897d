"""Where one element of a sent gradient comes from, with the numbers: `backprop` for the ops
that mix elements.

For an elementwise op, sent = upstream x local derivative, element by element (chain.py).
For the others each element of the sent gradient is a *sum* over the output elements the
input element influenced. This module writes that sum out for one element, from the recorded
forward and backward steps alone (numpy only, nothing re-run but small formulas):

    matmul   out = A @ B        dL/dA[i,k] = sum_j up[i,j] B[k,j]
    linear   out = x @ W.T + b  dL/dW[j,k] = sum_n up[n,j] x[n,k],  dL/db[j] = sum_n up[n,j]
    conv2d                      dL/dW[o,c,p,q] = sum_{n,y,x} up[n,o,y,x] xpad[n,c,y*s+p,x*s+q]
    sum, mean, max, min         the output element x[idx] went into, and what it got back
    getitem                     the output positions that read x[idx], their upstream summed
    softmax, log_softmax        the vector-Jacobian product of the element's row
    losses                      (p - y) / N and the like, with p and y
    broadcasting                the values summed over the broadcast axes

`explain(forward, backward)` returns, per input, the lines to show (no entry where there is
nothing more to say than the elementwise rule). The element shown is the one with the largest
sent gradient, unless an index is given.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from stepgrad import events as ev

Index = tuple[int, ...]
#: How many terms of a sum are shown (the largest by size); the total covers them all.
SHOWN = 4


def explain(forward: ev.ForwardStep | None, backward: ev.BackwardStep,
            local: list[Any] | None = None, which: int | None = None,
            index: Index | None = None) -> dict[int, list[str]]:
    """Lines explaining one element of each sent gradient (or only input `which`'s, at
    `index`). `local` holds the elementwise local derivatives (chain.local_derivatives), used
    to show the values summed over broadcast axes."""
    found: dict[int, list[str]] = {}
    explainer = EXPLAINERS.get(backward.op)
    for i, sent in enumerate(backward.grads):
        if sent is None or which is not None and i != which:
            continue
        idx = index if index is not None and which == i else largest(sent)
        lines: list[str] | None = None
        if explainer is not None and forward is not None:
            with np.errstate(all="ignore"):
                try:
                    lines = explainer(forward, backward, i, idx)
                except (IndexError, ValueError):  # a shape this explanation does not cover
                    lines = None
        if lines is None and backward.summed_axes[i] and local and i < len(local):
            lines = broadcast_sum(backward, local[i], i, idx)
        if lines:
            found[i] = lines
    return found


def parse_selection(arg: str, backward: ev.BackwardStep) -> tuple[int | None, Index | None]:
    """`backprop [INPUT [I J ...]]`: which input's sent gradient to explain, at which element
    (None: every input, at its largest element). Raises ValueError with a one-line reason."""
    words = arg.replace(",", " ").replace("[", " ").replace("]", " ").split()
    if not words:
        return None, None
    if not all(w.isascii() and w.lstrip("-").isdigit() for w in words):
        raise ValueError(f"backprop takes an input number and an element, such as "
                         f"`backprop 1 2 3`, not {arg!r}")
    which, index = int(words[0]), tuple(int(w) for w in words[1:])
    sent = backward.grads[which] if 0 <= which < len(backward.grads) else None
    if sent is None:
        raise ValueError(f"{backward.name} has no gradient for input {which}; its inputs "
                         f"are 0..{len(backward.grads) - 1}")
    shape = np.shape(sent)
    if not index:
        return which, None
    if len(index) != len(shape) or not all(-n <= k < n for k, n in zip(index, shape)):
        raise ValueError(f"input {which}'s gradient has shape {shape}: give {len(shape)} "
                         f"indices within it")
    return which, tuple(k % n for k, n in zip(index, shape))


def largest(array: Any) -> Index:
    """The position of the largest |value|: a telling element to show."""
    a = np.asarray(array)
    if a.size == 0 or a.ndim == 0:
        return ()
    with np.errstate(all="ignore"):
        flat = int(np.nanargmax(np.abs(a))) if np.isfinite(a).any() else 0
    return tuple(int(k) for k in np.unravel_index(flat, a.shape))


def at(idx: Index) -> str:
    return f"[{', '.join(map(str, idx))}]"


def sum_lines(what: str, terms: np.ndarray, labels: Callable[[int], str], sent: float) -> list[str]:
    """`what` = the sum of `terms`: its largest terms by name and value, and the total."""
    flat = np.asarray(terms, dtype=np.float64).reshape(-1)
    order = np.argsort(-np.abs(flat), kind="stable")[:SHOWN]
    shown = " + ".join(f"{labels(int(k))} ({flat[k]:.4g})" for k in order)
    more = f" + {flat.size - len(order)} smaller terms" if flat.size > len(order) else ""
    return [f"      {what} = sum of {flat.size} terms: {shown}{more}",
            f"      total {flat.sum():.6g} (backward sent {sent:.6g})"]


def _sent(backward: ev.BackwardStep, i: int, idx: Index) -> float:
    return float(np.asarray(backward.grads[i])[idx])


# -- matrix products -----------------------------------------------------------------------
def _matmul(forward: ev.ForwardStep, backward: ev.BackwardStep, i: int, idx: Index
            ) -> list[str] | None:
    a, b = (np.asarray(x, dtype=np.float64) for x in forward.inputs)
    if a.ndim != 2 or b.ndim != 2:
        return None  # vectors and batches: the docstring's formula (`list`) says it
    up, sent = np.asarray(backward.upstream, dtype=np.float64), _sent(backward, i, idx)
    if i == 0:
        r, k = idx
        return ["      dL/dA[i,k] = sum_j up[i,j] * B[k,j]"] + sum_lines(
            f"dL/dA{at(idx)}", up[r, :] * b[k, :], lambda j: f"up[{r},{j}]*B[{k},{j}]", sent)
    k, c = idx
    return ["      dL/dB[k,j] = sum_i A[i,k] * up[i,j]"] + sum_lines(
        f"dL/dB{at(idx)}", a[:, k] * up[:, c], lambda r: f"A[{r},{k}]*up[{r},{c}]", sent)


def _linear(forward: ev.ForwardStep, backward: ev.BackwardStep, i: int, idx: Index
            ) -> list[str] | None:
    x, w = (np.asarray(t, dtype=np.float64) for t in forward.inputs[:2])
    rows = x.reshape(-1, x.shape[-1])
    up = np.asarray(backward.upstream, dtype=np.float64).reshape(-1, w.shape[0])
    sent = _sent(backward, i, idx)
    if i == 0:
        n, k = int(np.ravel_multi_index(idx[:-1], x.shape[:-1])) if x.ndim > 1 else 0, idx[-1]
        return ["      dL/dx[n,k] = sum_j up[n,j] * W[j,k]"] + sum_lines(
            f"dL/dx{at(idx)}", up[n, :] * w[:, k], lambda j: f"up[{n},{j}]*W[{j},{k}]", sent)
    if i == 1:
        j, k = idx
        return ["      dL/dW[j,k] = sum_n up[n,j] * x[n,k] (every sample adds its share)"] + \
            sum_lines(f"dL/dW{at(idx)}", up[:, j] * rows[:, k],
                      lambda n: f"up[{n},{j}]*x[{n},{k}]", sent)
    (j,) = idx
    return ["      dL/db[j] = sum_n up[n,j] (the bias was added to every sample)"] + sum_lines(
        f"dL/db{at(idx)}", up[:, j], lambda n: f"up[{n},{j}]", sent)


def _pair(value: Any) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _conv2d(forward: ev.ForwardStep, backward: ev.BackwardStep, i: int, idx: Index
            ) -> list[str] | None:
    x, w = (np.asarray(t, dtype=np.float64) for t in forward.inputs[:2])
    sh, sw = _pair(forward.attrs.get("stride", 1))
    ph, pw = _pair(forward.attrs.get("padding", 0))
    up = np.asarray(backward.upstream, dtype=np.float64)
    oh, ow = up.shape[2:]
    sent = _sent(backward, i, idx)
    if i == 1:
        o, c, p, q = idx
        xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
        window = xp[:, c, p: p + sh * (oh - 1) + 1: sh, q: q + sw * (ow - 1) + 1: sw]
        shape = up[:, o].shape

        def term(k: int) -> str:
            n, y, col = (int(v) for v in np.unravel_index(k, shape))
            return f"up[{n},{o},{y},{col}]*x[{n},{c},{y * sh + p - ph},{col * sw + q - pw}]"

        return ["      dL/dW[o,c,p,q] = sum_{n,y,x} up[n,o,y,x] * xpad[n,c,y*s+p,x*s+q]"] + \
            sum_lines(f"dL/dW{at(idx)}", up[:, o] * window, term, sent)
    if i == 2:
        (o,) = idx
        shape = up[:, o].shape
        return ["      dL/db[o] = sum_{n,y,x} up[n,o,y,x]"] + sum_lines(
            f"dL/db{at(idx)}", up[:, o],
            lambda k: f"up[{k // (oh * ow)},{o},{k // ow % oh},{k % ow}]", sent)
    n, c, h, col = idx
    terms, names = [], []
    for p in range(w.shape[2]):
        for q in range(w.shape[3]):
            y, r = divmod(h + ph - p, sh)
            xx, rr = divmod(col + pw - q, sw)
            if r or rr or not (0 <= y < oh and 0 <= xx < ow):
                continue  # no window puts weight (p, q) on this pixel
            for o in range(w.shape[0]):
                terms.append(up[n, o, y, xx] * w[o, c, p, q])
                names.append(f"up[{n},{o},{y},{xx}]*W[{o},{c},{p},{q}]")
    return ["      dL/dx[n,c,h,w] = sum over the windows that cover it: up * W"] + sum_lines(
        f"dL/dx{at(idx)}", np.array(terms), lambda k: names[k], sent)


def _pool2d(forward: ev.ForwardStep, backward: ev.BackwardStep, i: int, idx: Index
            ) -> list[str] | None:
    """max_pool2d / avg_pool2d: the windows that hold input element idx, and what each gives."""
    x = np.asarray(forward.inputs[0], dtype=np.float64)
    kh, kw = _pair(forward.attrs.get("kernel_size", 2))
    sh, sw = _pair(forward.attrs.get("stride") or (kh, kw))
    up = np.asarray(backward.upstream, dtype=np.float64)
    n, c, h, col = idx
    terms, names = [], []
    for y in range(up.shape[2]):
        for xx in range(up.shape[3]):
            if not (y * sh <= h < y * sh + kh and xx * sw <= col < xx * sw + kw):
                continue
            window = x[n, c, y * sh: y * sh + kh, xx * sw: xx * sw + kw]
            if backward.op == "avg_pool2d":
                terms.append(up[n, c, y, xx] / window.size)
                names.append(f"up[{n},{c},{y},{xx}]/{window.size}")
                continue
            wins = np.unravel_index(int(window.argmax()), window.shape) == (h - y * sh,
                                                                           col - xx * sw)
            terms.append(up[n, c, y, xx] if wins else 0.0)
            names.append(f"up[{n},{c},{y},{xx}]" + ("" if wins else " (not its max: 0)"))
    rule = ("the window's first maximum gets the window's upstream, the others 0"
            if backward.op == "max_pool2d" else "each element of a window gets upstream / size")
    return [f"      x{at(idx)} = {x[idx]:.4g} lies in {len(terms)} window(s); {rule}"] + \
        sum_lines(f"dL/dx{at(idx)}", np.array(terms), lambda k: names[k],
                  _sent(backward, i, idx))


# -- reductions and indexing ---------------------------------------------------------------
def _reduced_position(idx: Index, ndim: int, axis: Any, keepdims: bool) -> tuple[Index, tuple]:
    """The output element input element `idx` went into, and the reduced axes."""
    axes = tuple(range(ndim)) if axis is None else tuple(
        a % ndim for a in (axis if isinstance(axis, (tuple, list)) else (axis,)))
    kept = tuple(0 if a in axes else k for a, k in enumerate(idx)) if keepdims else tuple(
        k for a, k in enumerate(idx) if a not in axes)
    return kept, axes


def _reduction(forward: ev.ForwardStep, backward: ev.BackwardStep, i: int, idx: Index
               ) -> list[str] | None:
    x = np.asarray(forward.inputs[0], dtype=np.float64)
    axis, keepdims = forward.attrs.get("axis"), bool(forward.attrs.get("keepdims", False))
    where, axes = _reduced_position(idx, x.ndim, axis, keepdims)
    up = float(np.asarray(backward.upstream, dtype=np.float64)[where])
    sent, op = _sent(backward, i, idx), backward.op
    line = f"      x{at(idx)} = {x[idx]:.4g} went into out{at(where)} ({op} over axes {axes})"
    if op == "sum":
        return [line, f"      dL/dx{at(idx)} = up{at(where)} = {up:.6g} (a sum passes its "
                      f"gradient to every term; backward sent {sent:.6g})"]
    if op == "mean":
        count = int(np.prod([x.shape[a] for a in axes]))
        return [line, f"      dL/dx{at(idx)} = up{at(where)} / {count} = {up:.6g} / {count} = "
                      f"{up / count:.6g} (backward sent {sent:.6g})"]
    pick = np.max if op == "max" else np.min
    best = float(pick(x, axis=axes, keepdims=True)[tuple(0 if a in axes else k
                                                           for a, k in enumerate(idx))])
    wins = x[idx] == best
    return [line, f"      it {'is' if wins else 'is not'} the {op} of its slice ({best:.4g}), "
                  f"and the {op} passes up{at(where)} = {up:.4g} to its winner only: "
                  f"dL/dx{at(idx)} = {up if wins else 0.0:.6g} (backward sent {sent:.6g})"]


def _getitem(forward: ev.ForwardStep, backward: ev.BackwardStep, i: int, idx: Index
             ) -> list[str] | None:
    x = np.asarray(forward.inputs[0])
    positions = np.arange(x.size).reshape(x.shape)[forward.attrs.get("index")]
    flat = int(np.ravel_multi_index(idx, x.shape)) if x.ndim else 0
    reads = np.argwhere(np.asarray(positions) == flat)
    up = np.asarray(backward.upstream, dtype=np.float64)
    sent = _sent(backward, i, idx)
    if not len(reads):
        return [f"      x{at(idx)} was not selected by the index: it gets 0 (sent {sent:.6g})"]
    values = np.array([up[tuple(r)] for r in reads])
    return sum_lines(f"dL/dx{at(idx)} (read at {len(reads)} output position(s))", values,
                     lambda k: f"up{at(tuple(int(v) for v in reads[k]))}", sent)


# -- softmax and the losses ----------------------------------------------------------------
def _softmax(forward: ev.ForwardStep, backward: ev.BackwardStep, i: int, idx: Index
             ) -> list[str] | None:
    axis = forward.attrs.get("axis", -1) % np.ndim(forward.output)
    row = idx[:axis] + (slice(None),) + idx[axis + 1:]
    out = np.asarray(forward.output, dtype=np.float64)[row]
    up = np.asarray(backward.upstream, dtype=np.float64)[row]
    c, sent = idx[axis], _sent(backward, i, idx)
    where = ", ".join([*map(str, idx[:axis]), ":", *map(str, idx[axis + 1:])])
    head = (f"      vector-Jacobian product over the row x[{where}] ({len(out)} values; the "
            f"Jacobian is never built):")
    if backward.op == "softmax":
        dot = float(up @ out)
        return [head, f"      dL/dx[c] = y[c] * (up[c] - sum_k up[k] y[k]) = {out[c]:.4g} * "
                      f"({up[c]:.4g} - {dot:.4g}) = {out[c] * (up[c] - dot):.6g} "
                      f"(backward sent {sent:.6g})"]
    p, total = np.exp(out), float(up.sum())
    return [head, f"      dL/dx[c] = up[c] - p[c] * sum_k up[k] = {up[c]:.4g} - {p[c]:.4g} * "
                  f"{total:.4g} = {up[c] - p[c] * total:.6g} (p = exp(out); backward sent "
                  f"{sent:.6g})"]


def _cross_entropy(forward: ev.ForwardStep, backward: ev.BackwardStep, i: int, idx: Index
                   ) -> list[str] | None:
    logits = np.asarray(forward.inputs[0], dtype=np.float64)
    target = np.asarray(forward.inputs[1]).astype(int)
    n, c = idx
    shifted = logits[n] - logits[n].max()
    p = np.exp(shifted) / np.exp(shifted).sum()
    y, up = float(target[n] == c), float(np.asarray(backward.upstream))
    return [f"      dL/dlogits[n,c] = up * (p[n,c] - y[n,c]) / N, p = softmax(logits[n]), "
            f"y = one-hot of target {target[n]}",
            f"      = {up:.4g} * ({p[c]:.4g} - {y:g}) / {len(target)} = "
            f"{up * (p[c] - y) / len(target):.6g} (backward sent {_sent(backward, i, idx):.6g})"]


def _mse_loss(forward: ev.ForwardStep, backward: ev.BackwardStep, i: int, idx: Index
              ) -> list[str] | None:
    a, b = (np.asarray(t, dtype=np.float64) for t in forward.inputs)
    n = a.size if forward.attrs.get("reduction", "mean") == "mean" else 1
    up = np.asarray(backward.upstream, dtype=np.float64)
    u = float(up if up.ndim == 0 else up[idx])
    sign = "" if i == 0 else "-"
    return [f"      dL/d{'ab'[i]}{at(idx)} = {sign}up * 2 (a - b) / {n} = {sign}{u:.4g} * 2 * "
            f"({a[idx]:.4g} - {b[idx]:.4g}) / {n} = "
            f"{(1 if i == 0 else -1) * u * 2 * (a[idx] - b[idx]) / n:.6g} "
            f"(backward sent {_sent(backward, i, idx):.6g})"]


def _bce_logits(forward: ev.ForwardStep, backward: ev.BackwardStep, i: int, idx: Index
                ) -> list[str] | None:
    if i != 0:
        return None
    x, y = (np.asarray(t, dtype=np.float64) for t in forward.inputs)
    n = x.size if forward.attrs.get("reduction", "mean") == "mean" else 1
    up = np.asarray(backward.upstream, dtype=np.float64)
    u, s = float(up if up.ndim == 0 else up[idx]), 1 / (1 + np.exp(-x[idx]))
    return [f"      dL/dx{at(idx)} = up * (sigmoid(x) - y) / {n} = {u:.4g} * ({s:.4g} - "
            f"{y[idx]:.4g}) / {n} = {u * (s - y[idx]) / n:.6g} "
            f"(backward sent {_sent(backward, i, idx):.6g})"]


# -- broadcasting --------------------------------------------------------------------------
def broadcast_sum(backward: ev.BackwardStep, local: Any, i: int, idx: Index) -> list[str] | None:
    """The values of upstream x local derivative that broadcasting summed into element idx."""
    if local is None:
        return None
    full = np.asarray(backward.upstream, dtype=np.float64) * np.asarray(local, dtype=np.float64)
    axes, extra = set(backward.summed_axes[i]), full.ndim - len(idx)
    picks = tuple(slice(None) if a in axes else idx[a - extra] for a in range(full.ndim))
    values = full[picks]

    def term(k: int) -> str:
        return f"(up*local){at(tuple(int(v) for v in np.unravel_index(k, values.shape)))}"

    return sum_lines(f"broadcast: dL/d input{at(idx)}", values, term, _sent(backward, i, idx))


EXPLAINERS: dict[str, Callable[..., list[str] | None]] = {
    "matmul": _matmul, "linear": _linear, "conv2d": _conv2d,
    "max_pool2d": _pool2d, "avg_pool2d": _pool2d,
    "sum": _reduction, "mean": _reduction, "max": _reduction, "min": _reduction,
    "getitem": _getitem, "softmax": _softmax, "log_softmax": _softmax,
    "cross_entropy": _cross_entropy, "mse_loss": _mse_loss,
    "binary_cross_entropy_with_logits": _bce_logits,
}

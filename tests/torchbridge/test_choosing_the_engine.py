"""Which programs get the torch bridge, `--engine`, and the message when torch is missing."""

from __future__ import annotations

import sys
import textwrap

import pytest

from stepgrad import torchbridge
from stepgrad.torchbridge.detect import function_uses_torch, source_imports_torch

SCRIPT = textwrap.dedent("""
    import torch
    import torch.nn.functional as F
    w = torch.ones(3, requires_grad=True)
    loss = F.relu(w * 2).sum()
    loss.backward()
    print("grad", w.grad.tolist())
""")


@pytest.mark.parametrize("source, expected", [
    ("import torch\n", True),
    ("import torch.nn as nn\n", True),
    ("from torch import nn\n", True),
    ("def main():\n    import torch\n", True),
    ("import numpy as np  # torch is not used\n", False),
    ("text = 'import torch'\n", False),
    ("import torchvision_like_name_but_not_torch\n", False),
    ("from . import torch\n", False),
    ("this is not python (\n", False),
])
def test_a_script_that_imports_torch_is_recognised_by_its_source(source, expected):
    assert source_imports_torch(source) is expected


def test_a_function_uses_torch_when_its_module_refers_to_torch():
    pytest.importorskip("torch", reason="needs PyTorch")
    import torch

    namespace: dict = {"torch": torch}
    exec("def f():\n    return torch.ones(1)\n", namespace)  # noqa: S102 (a module of the test's)
    assert function_uses_torch(namespace["f"])
    plain: dict = {}
    exec("def g():\n    return 1\n", plain)  # noqa: S102
    assert not function_uses_torch(plain["g"])
    assert function_uses_torch(plain["g"], torch.ones(2))  # a torch argument is enough


class _Session:
    def __init__(self) -> None:
        self.program = lambda: "ran"


def test_engine_flag_forces_the_choice(tmp_path):
    pytest.importorskip("torch", reason="needs PyTorch")
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    plain = tmp_path / "plain.py"
    plain.write_text("print('no torch here')\n")
    for path, engine, expected in [(script, None, True), (plain, None, False),
                                   (script, "stepgrad", False), (plain, "torch", True)]:
        session = _Session()
        assert torchbridge.use_for_script(session, str(path), engine) is expected
        assert session.program() == "ran"  # wrapped or not, the program still runs


def test_without_torch_the_bridge_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now fails
    with pytest.raises(torchbridge.TorchMissing, match=r"pip install 'stepgrad\[torch\]'"):
        torchbridge.require_torch()
    with pytest.raises(torchbridge.TorchMissing):
        with torchbridge.bridge():
            pass
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    with pytest.raises(torchbridge.TorchMissing):
        torchbridge.use_for_script(_Session(), str(script), "torch")


def test_stepgrad_debug_engine_torch_without_torch_is_one_line(monkeypatch, tmp_path, capsys):
    from stepgrad import cli

    try:
        cli.build_parser().parse_args(["debug", "--engine", "torch", "train.py"])
    except SystemExit:
        pytest.skip("stepgrad/cli.py has no --engine yet")
    monkeypatch.setitem(sys.modules, "torch", None)
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    status = cli.main(["debug", "--engine", "torch", "--repl", str(script)])
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert err == f"stepgrad debug: {torchbridge.INSTALL_HINT}"



def test_debug_of_a_torch_function_records_torchs_ops():
    torch = pytest.importorskip("torch", reason="needs PyTorch")
    from stepgrad.debug import Session

    def program():
        w = torch.ones(2, requires_grad=True)
        (torch.tanh(w) * 2).sum().backward()
        return w.grad.tolist()

    session = Session.for_function(program)
    assert torchbridge.use_for_function(session, program)
    session.start()
    assert session.state.event.kind == "forward" and session.state.event.name == "tanh_1"
    session.close()


@pytest.mark.slow  # starts Python and imports torch in a subprocess
def test_set_trace_in_a_torch_script_pauses_at_torchs_next_op(tmp_path):
    pytest.importorskip("torch", reason="needs PyTorch")
    import subprocess

    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent("""
        import torch
        import stepgrad as sg
        w = torch.ones(3, requires_grad=True)
        sg.set_trace()
        loss = (torch.relu(w) * 2).sum()
        loss.backward()
        print("done", w.grad.tolist())
    """))
    done = subprocess.run([sys.executable, str(script)], input="where\nstep\ncontinue\n",
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "#0 forward  relu_1 = relu(t" in done.stdout
    assert "loss = (torch.relu(w) * 2).sum()" in done.stdout  # `where` names the line
    assert "#1 forward  mul_1" in done.stdout
    assert "done [2.0, 2.0, 2.0]" in done.stdout


@pytest.mark.slow  # starts Python and imports torch in a subprocess
def test_engine_is_read_after_the_script_too(tmp_path):
    pytest.importorskip("torch", reason="needs PyTorch")
    import subprocess

    script = tmp_path / "train.py"
    script.write_text(SCRIPT)

    def debug(*words: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "stepgrad", "debug", "--repl", *words],
                              input="continue\nquit\n", capture_output=True, text=True,
                              timeout=120, cwd=tmp_path)

    with_torch = debug(str(script))
    assert "#0 forward  mul_1 = mul(" in with_torch.stdout  # the default: torch is imported
    without = debug(str(script), "--engine", "stepgrad")
    assert without.returncode == 0 and "mul_1" not in without.stdout
    assert "grad [2.0, 2.0, 2.0]" in without.stdout  # the script ran, unrecorded
    wrong = debug(str(script), "--engine=jax")
    assert wrong.returncode == 2 and "'jax' is not torch or stepgrad" in wrong.stderr

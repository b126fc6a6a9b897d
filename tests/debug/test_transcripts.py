"""Command transcripts over small seeded programs, with no UI (CPython's test_pdb style)."""

from __future__ import annotations

import threading
import time

import numpy as np

import stepgrad as sg
from stepgrad import events as ev


def test_starts_paused_at_the_first_event(make_session):
    session, commands = make_session()
    state = session.state
    assert state.status == "paused" and state.cursor == 0
    assert isinstance(state.event, ev.ZeroGrad)
    assert commands.prompt() == "sg optimizer #0"


def test_step_back_and_counts(make_session):
    session, commands = make_session()
    out = commands.run("step")
    assert session.cursor == 1 and "enter <model> (MLP)" in out
    commands.run("step 3")
    assert session.cursor == 4
    out = commands.run("")  # Enter repeats the last move
    assert session.cursor == 7
    commands.run("back")
    assert session.cursor == 6 and session.state.head == 7  # nothing re-ran
    commands.run("back 2")
    assert session.cursor == 4
    commands.run("step")  # forward again through recorded history
    assert session.cursor == 5 and session.state.head == 7


def test_next_steps_over_a_module_and_finish_leaves_it(make_session):
    session, commands = make_session()
    commands.run("step 2")
    assert isinstance(session.state.event, ev.ModuleEnter) and session.state.event.path == "fc1"
    commands.run("next")
    event = session.state.event
    assert isinstance(event, ev.ModuleExit) and event.path == "fc1"
    commands.run("step 2")
    assert isinstance(session.state.event, ev.ForwardStep) and session.state.event.op == "relu"
    out = commands.run("finish")
    assert isinstance(session.state.event, ev.ModuleExit) and session.state.event.path == "act"
    assert "module act finished" in out


def test_finish_in_backward_runs_to_the_end_of_the_pass(make_session):
    session, commands = make_session()
    commands.run("break backward relu")
    commands.run("continue")
    assert session.state.event.op == "relu" and session.state.event.phase == "backward"
    out = commands.run("finish")
    assert isinstance(session.state.event, ev.BackwardEnd)
    assert "backward pass finished" in out


def test_until_iteration_and_epoch(make_session):
    session, commands = make_session()
    commands.run("until iter 1")
    event = session.state.event
    assert isinstance(event, ev.Iteration) and event.iteration == 1
    assert session.state.iteration == 1 and [i for i, _ in session.state.losses] == [0, 1]
    commands.run("until epoch 0")
    assert isinstance(session.state.event, ev.Epoch)
    assert "until iter N" in commands.run("until soon")


def test_goto_rcontinue_and_restart(make_session):
    session, commands = make_session()
    commands.run("goto #40")
    assert session.cursor == 40
    commands.run("goto #3")
    assert session.cursor == 3
    commands.run("break relu")
    commands.run("goto #40")
    out = commands.run("rc")
    assert session.state.event.op == "relu" and session.cursor < 40 and "breakpoint 1" in out
    assert "goto needs an event number" in commands.run("goto here")
    out = commands.run("restart")
    assert "Restarted" in out and session.cursor == 0 and session.state.head == 0
    assert session.state.breakpoints[0].spec == "relu"


def test_program_end_and_history_walk(make_session):
    session, commands = make_session()
    out = commands.run("continue")
    state = session.state
    assert state.status == "finished" and state.cursor == state.head
    assert "The program has ended" in out
    assert session.result is not None
    commands.run("back 5")
    assert session.cursor == state.head - 5
    out = commands.run("continue")
    assert session.cursor == state.head and "end of history" in out


def test_breakpoints_by_op_phase_name_and_parameter(make_session):
    session, commands = make_session()
    assert commands.run("break backward linear") == "Breakpoint 1: backward linear"
    commands.run("continue")
    event = session.state.event
    assert (
        isinstance(event, ev.BackwardStep) and event.op == "linear" and event.module_path == "fc2"
    )
    commands.run("clear 1")
    commands.run("break fc2")
    commands.run("continue")
    assert isinstance(session.state.event, ev.ModuleEnter) and session.state.event.path == "fc2"
    commands.run("clear")
    commands.run("break fc1.weight")
    commands.run("continue")
    assert "fc1.weight" in session.state.event.input_names
    listing = commands.run("break")
    assert "fc1.weight" in listing and "hit 1 time" in listing


def test_tbreak_disable_enable_ignore_and_condition(make_session):
    session, commands = make_session()
    assert "Temporary breakpoint 1" in commands.run("tbreak relu")
    commands.run("continue")
    assert session.state.event.op == "relu" and session.state.breakpoints == ()
    commands.run("break relu")
    commands.run("disable 2")
    commands.run("until iter 0")
    assert isinstance(session.state.event, ev.Iteration)
    commands.run("enable 2")
    commands.run("ignore 2 1")
    commands.run("continue")  # the forward relu of iteration 1 is passed, its backward stops
    assert session.state.event.phase == "backward" and session.state.iteration == 0
    commands.run("condition 2 node.phase == 'forward'")
    commands.run("continue")
    assert session.state.event.phase == "forward" and session.state.iteration == 1
    assert "unconditional" in commands.run("condition 2")
    assert "no breakpoint number 9" in commands.run("disable 9")


def test_tensor_condition_breakpoints(make_session):
    session, commands = make_session()
    commands.run("break grad.norm > 0.3")
    commands.run("continue")
    event = session.state.event
    assert isinstance(event, ev.BackwardStep) and np.linalg.norm(event.upstream) > 0.3
    commands.run("clear")
    commands.run("break dead relu > 0.3")
    commands.run("restart")
    commands.run("continue")
    out = session.state.event.output
    assert session.state.event.op == "relu" and (out == 0).mean() > 0.3
    commands.run("clear")
    commands.run("break if out is not None and out.std() > 0.5")
    commands.run("continue")
    assert session.state.status == "paused"
    event = session.state.event
    forward = (
        event if isinstance(event, ev.ForwardStep) else session.history.forward_of(event.node_id)
    )
    assert forward.output.std() > 0.5


def test_nan_and_inf_breakpoints():
    from stepgrad.debug import Commands, Session

    def program():
        x = sg.tensor([1.0, -1.0, 2.0], requires_grad=True, name="x") * 1.0
        y = x.log()  # NaN at -1
        z = (x * 1e38) * 1e38  # Inf in float32
        (y.sum() + z.sum()).backward()

    session = Session(program)
    session.start()
    commands = Commands(session)
    commands.run("break nan")
    commands.run("continue")
    assert session.state.event.op == "log" and np.isnan(session.state.event.output).any()
    commands.run("clear")
    commands.run("break inf")
    commands.run("continue")
    assert session.state.event.op == "mul" and np.isinf(session.state.event.output).any()
    session.close()


def test_a_broken_condition_is_reported_once_and_disables_itself(make_session):
    session, commands = make_session()
    commands.run("break if undefined_name > 1")
    out = commands.run("continue")
    assert session.state.status == "finished"
    assert out.count("breakpoint 1 (if undefined_name > 1) is disabled") == 1
    assert session.state.breakpoints[0].enabled is False
    assert "cannot read" in commands.run("break if out.mean( > 1")


def test_print_inspects_tensors_and_program_variables(make_session):
    session, commands = make_session()
    commands.run("break backward relu")
    commands.run("continue")
    assert commands.run("p out.shape") == "(16, 8)"
    assert commands.run("p len(ins)") == "1"
    assert commands.run("p grad.shape") == "(16, 8)"
    assert commands.run("p grads[0].shape") == "(16, 8)"
    assert commands.run("p node.op, node.name") == "('relu', 'relu_1')"
    assert float(commands.run("p grad.norm")) > 0
    assert commands.run("p i") == "0"  # the program's loop variable
    assert "MLP(" in commands.run("p model")
    assert commands.run("p np.allclose(grads[0], grad * (out > 0))") == "True"
    assert commands.run("p nope").startswith("*** NameError")
    assert commands.run("p").startswith("*** print what?")
    full = commands.run("pp out")
    assert "mean" in full and full.count("\n") > 10


def test_info_where_list_graph(make_session):
    session, commands = make_session()
    commands.run("break backward relu")
    commands.run("continue")
    info = commands.run("info")
    for word in ("relu_1: op relu", "grad", "ins[0] (linear_1)", "mean", "norm", "zeros"):
        assert word in info
    where = commands.run("where")
    assert "module act" in where and "backward phase" in where and "conftest.py" in where
    listing = commands.run("list")
    assert "def backward" in listing and "ctx.mask" in listing and "made at conftest.py" in listing
    graph = commands.run("graph")
    # the neighbourhood of relu_1 to depth 2: what feeds it, what it feeds, itself marked
    assert "linear_1" in graph and "linear_2" in graph and "◀ here" in graph
    assert "╔═ relu_1 " in graph and "▼" in graph


def _fan_out_with_bias():
    x = sg.tensor([1.0, 2.0, 3.0], requires_grad=True, name="x")
    b = sg.tensor([0.5], requires_grad=True, name="b")
    y = (x * x + x + b).sum()
    y.backward()


def test_backprop_view_shows_chain_rule_and_accumulation(make_session):
    session, commands = make_session(_fan_out_with_bias)
    commands.run("break backward mul")
    commands.run("continue")
    view = commands.run("backprop")
    assert "upstream 1 x local derivative 3 = 3" in view
    assert "already had a gradient" in view and "contributions so far" in view
    commands.run("clear")
    commands.run("restart")
    commands.run("break backward add")
    commands.run("continue")  # the outer add: x*x + x  and  + b (broadcast from (1,))
    view = commands.run("backprop")
    assert "summed over axes (0,)" in view
    commands.run("back 100")
    assert "backprop explains a backward step" in commands.run("backprop")


def test_gradcheck_finds_a_broken_backward(make_session):
    session, commands = make_session()
    commands.run("break backward relu")
    commands.run("continue")
    assert "ok" in commands.run("gradcheck").splitlines()[0]
    with sg.ops.patch("relu", backward=lambda ctx, grad: (grad,)):
        out = commands.run("gradcheck")
    assert "MISMATCH" in out and "expected" in out and "received" in out
    assert "ok" in commands.run("gradcheck").splitlines()[0]


def test_step_into_walks_lines_with_locals(make_session):
    session, commands = make_session()
    commands.run("break forward linear")
    commands.run("continue")
    out = commands.run("step into")
    assert "Stepping into linear.forward" in out and "x = (16, 4)" in out
    assert session.state.line is not None
    first = session.state.line.lineno
    commands.run("step")
    assert session.state.line.lineno > first
    assert commands.run("p x.shape") == "(16, 4)"
    assert "->" in commands.run("list")
    assert "step into" in commands.run("where")
    commands.run("back")
    assert session.state.line.lineno == first
    out = commands.run("finish")
    assert session.state.line is None and "forward  linear_1" in out


def test_display_and_history(make_session):
    session, commands = make_session()
    assert "1: grad.norm" in commands.run("display grad.norm")
    out = commands.run("step 3")
    assert "grad.norm = (none at this step)" in out
    assert "grad.norm" in commands.run("display")
    commands.run("undisplay 1")
    assert "No displays" in commands.run("display")
    hist = commands.run("history 4")
    assert "-> #3" in hist and "of 256.0 MB" in hist


def test_history_limit_drops_old_events_and_says_so(make_session):
    session, commands = make_session(history_limit=6_000)
    out = commands.run("continue")
    assert session.history.dropped > 0
    assert "the oldest events are being dropped" in out
    out = commands.run(f"back {session.cursor + 1}")
    assert f"cannot go back past #{session.history.first}" in out
    assert "history limit is now 1.0 GB" in commands.run("set history 1GB")
    assert "cannot read" in commands.run("set history lots")


def test_crash_gives_a_post_mortem(make_session, programs):
    session, commands = make_session(programs["crashing"])
    out = commands.run("continue")
    state = session.state
    assert state.status == "crashed"
    assert "ShapeError: matmul: (4, 3) @ (4, 5): inner sizes 3 and 4 differ, at conftest.py" in out
    assert "Traceback" in state.error and "session.py" not in state.error
    assert state.event.op == "relu"
    assert commands.run("p out.shape") == "(4, 3)"


def test_interrupt_pauses_a_long_continue():
    from stepgrad.debug import Commands, Session

    def forever():
        x = sg.tensor([1.0])
        while True:
            x = x * 1.0

    session = Session(forever)
    session.start()
    commands = Commands(session)
    timer = threading.Timer(0.3, session.interrupt)
    timer.start()
    began = time.monotonic()
    out = commands.run("continue")
    assert "(interrupted)" in out and session.state.status == "paused"
    assert time.monotonic() - began < 5
    assert commands.run("quit") == "Bye."
    assert commands.finished and session.state.status == "closed"


def test_bad_commands_get_one_clear_line(make_session):
    session, commands = make_session()
    assert commands.run("stpe") == "*** unknown command 'stpe'; did you mean 'step'?"
    assert commands.run("zzz").startswith("*** unknown command 'zzz'")
    assert commands.run("step -2").startswith("*** expected a positive count")
    assert commands.run("break").startswith("No breakpoints")
    assert commands.run("break dead relu > lots").startswith("*** break dead")
    assert commands.run("hint").startswith("*** not in a lesson")
    assert "\n" not in commands.run("p {]")


def test_help_is_generated_from_docstrings(make_session):
    session, commands = make_session()
    text = commands.run("help")
    for name in (
        "step",
        "next",
        "continue",
        "finish",
        "back",
        "rcontinue",
        "goto",
        "until",
        "break",
        "tbreak",
        "clear",
        "disable",
        "enable",
        "condition",
        "ignore",
        "print",
        "pp",
        "info",
        "where",
        "list",
        "graph",
        "display",
        "undisplay",
        "history",
        "gradcheck",
        "backprop",
        "restart",
        "set",
        "quit",
    ):
        assert f"  {name} " in text
    assert "aliases: s" in commands.run("help s")
    names = {info.name: info.aliases for info in commands.infos()}
    for alias in ("s", "n", "c", "b", "p", "w", "l", "q", "h"):
        assert any(alias in aliases for aliases in names.values())


def test_completion(make_session):
    session, commands = make_session()
    commands.run("continue")
    assert commands.complete("ste") == ["step"]
    assert "relu" in commands.complete("break re")
    assert "fc1.weight" in commands.complete("break fc1.")
    assert "nan" in commands.complete("break n")
    assert "out" in commands.complete("p o")
    assert commands.complete("until e") == ["epoch"]
    assert commands.complete("step i") == ["into"]


def test_replay_of_a_saved_trace(tmp_path, programs):
    from stepgrad.debug import Commands, Session

    with sg.trace() as trace:
        programs["tiny_training"](iterations=1)
    path = tmp_path / "run.sgtrace"
    trace.save(path)
    session = Session.for_trace(sg.load_trace(path))
    commands = Commands(session)
    assert session.state.status == "replay" and session.cursor == 0
    commands.run("break backward relu")
    commands.run("continue")
    assert session.state.event.op == "relu" and session.state.event.phase == "backward"
    assert commands.run("p grad.shape") == "(16, 8)"
    commands.run("back 3")
    commands.run("clear")
    out = commands.run("continue")
    assert "end of the recorded trace" in out and session.cursor == len(trace) - 1
    commands.run("restart")
    assert session.cursor == 0


def test_the_core_imports_no_user_interface():
    import subprocess
    import sys

    code = (
        "import sys, stepgrad, stepgrad.debug, stepgrad.launch\n"
        "from stepgrad.debug import Session, Commands\n"
        "print(sorted(m for m in ('textual', 'prompt_toolkit', 'rich') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_gradcheck_all_names_the_broken_op(make_session):
    session, commands = make_session()
    commands.run("until iter 0")
    out = commands.run("gradcheck all")
    assert "MISMATCH" not in out and "linear" in out and "relu" in out
    with sg.ops.patch("relu", backward=lambda ctx, grad: (grad,)):
        out = commands.run("gradcheck all")
    line = next(row for row in out.splitlines() if "relu_" in row)
    assert line.split()[0] == "MISMATCH" and "expected" in line
    assert commands.complete("gradcheck a") == ["all"]


def test_friendlier_lines_for_missing_tensors_and_bad_names(make_session):
    session, commands = make_session()
    commands.run("step")  # a module_enter event: no node tensors here
    out = commands.run("p out.shape")
    assert out.startswith("*** AttributeError") and "is a module_enter event" in out
    assert commands.run("break ((").startswith("*** cannot read")
    assert commands.run("break 0.weight") == (  # issue 10: a near miss is refused
        "*** nothing is named '0.weight'; did you mean 'fc2.weight' or 'fc1.weight'?"
    )


def test_completion_of_attributes_and_usage_in_infos(make_session):
    session, commands = make_session()
    commands.run("break forward relu")
    commands.run("continue")
    assert "out.shape" in commands.complete("p out.sh")
    assert commands.complete("p out.__len") == ["out.__len__"]
    assert commands.complete("p out.mean().sh") == []  # no calls while completing
    info = next(i for i in commands.infos() if i.name == "step")
    assert info.usage == "step [N] | step into" and info.summary.startswith("Go to the next event")


def test_break_on_a_whole_phase(make_session):
    session, commands = make_session()
    assert commands.run("break backward") == "Breakpoint 1: backward"
    commands.run("continue")
    first = session.state.event
    assert isinstance(first, ev.BackwardStep) and first.op == "cross_entropy"
    commands.run("continue")
    assert isinstance(session.state.event, ev.BackwardStep)
    assert session.state.event.op == "linear"

"""Traces and history that keep what you need (issue 10 §6): save, the budget, what
eviction took, and a move that says when it evicted."""

from __future__ import annotations

from stepgrad import events as ev
from stepgrad.trace import load_trace


def test_save_writes_the_history_to_a_trace_that_loads(make_session, tmp_path):
    session, commands = make_session()
    commands.run("until iter 0")
    path = tmp_path / "run.sgtrace"
    out = commands.run(f"save {path}")
    last = session.state.head
    assert out == f"Saved events #0..#{last} to {path} ('stepgrad replay {path}' opens it)"
    trace = load_trace(path)
    assert len(trace) == last + 1 and isinstance(trace[last], ev.Iteration)


def test_save_refuses_in_one_line(make_session, tmp_path):
    session, commands = make_session()
    assert commands.run("save") == "*** save where? For example: save run.sgtrace"
    out = commands.run(f"save {tmp_path / 'missing' / 'run.sgtrace'}")
    assert out.startswith("*** could not save the trace to ") and "\n" not in out


def test_info_history_shows_the_budget(make_session):
    session, commands = make_session()
    commands.run("step 3")
    out = commands.run("info history")
    assert out.startswith("history: ") and " of 256.0 MB (0%), events #0..#3 (4 kept)" in out
    assert "dropped: nothing yet" in out
    assert commands.run("info nonsense") == "*** info, or info history"


def test_a_small_history_says_what_a_move_evicted(make_session):
    session, commands = make_session(history_limit=20_000)
    out = commands.run("continue")
    history = session.history
    assert history.dropped > 0
    assert f"note: {history.dropped} older events were dropped during this move" in out
    assert "gone: iteration" in out
    info = commands.run("info history")
    assert f"dropped: the {history.dropped} oldest events, including iteration" in info
    gone = [i.iteration for i in history.evicted_iterations]
    assert gone == list(range(len(gone))) and gone  # the boundaries, in order
    assert "(loss " in info
    assert "dropped" not in commands.run("back")  # walking history evicts nothing


def test_a_closed_session_frees_its_history_without_the_cyclic_collector():
    """No reference cycle holds a session: a closed one's history (often hundreds of MB) goes
    when its last reference does, not at the collector's rare full collection (three closed
    sessions once made the next run of an MNIST-size CNN 3x slower)."""
    import gc
    import weakref

    import stepgrad as sg
    from stepgrad.debug import Session

    def program() -> None:
        w = sg.randn(4, 3, requires_grad=True)
        (sg.ones(2, 4) @ w).relu().sum().backward()

    enabled = gc.isenabled()
    gc.disable()
    try:
        session = Session(program, stop_at_start=False)
        session.start()
        assert session.state.status == "finished"
        session.close()
        history = weakref.ref(session.history)
        del session
        assert history() is None
    finally:
        if enabled:
            gc.enable()

"""A tiny seeded training loop the REPL tests debug: 2 -> 4 -> 2 MLP, 3 iterations.

`python tiny_train.py N` runs N iterations instead (the Ctrl-C test wants a long run).
"""

import sys

import stepgrad as sg

sg.manual_seed(0)
model = sg.nn.Sequential(sg.nn.Linear(2, 4), sg.nn.ReLU(), sg.nn.Linear(4, 2))
optimizer = sg.optim.SGD(model.parameters(), lr=0.1)
x = sg.randn(5, 2)
y = [0, 1, 0, 1, 1]
for step in range(int(sys.argv[1]) if len(sys.argv) > 1 else 3):
    out = model(x)
    loss = sg.nn.functional.cross_entropy(out, y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    sg.mark_iteration(step, loss=loss)
print("trained")

"""Optimizers, with PyTorch's update rules exactly, so a run here and a run in PyTorch give
the same numbers; and learning-rate schedules in `stepgrad.optim.lr_scheduler`.

    import stepgrad.optim as optim
    from stepgrad.optim.lr_scheduler import StepLR
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = StepLR(optimizer, step_size=10, gamma=0.5)

PyTorch: `torch.optim`.
"""

from stepgrad.optim import lr_scheduler
from stepgrad.optim.adadelta import Adadelta
from stepgrad.optim.adagrad import Adagrad
from stepgrad.optim.adam import Adam, AdamW
from stepgrad.optim.adamax import Adamax
from stepgrad.optim.nadam import NAdam
from stepgrad.optim.optimizer import Optimizer
from stepgrad.optim.radam import RAdam
from stepgrad.optim.rmsprop import RMSprop
from stepgrad.optim.sgd import SGD

__all__ = ["SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "NAdam", "Optimizer",
           "RAdam", "RMSprop", "lr_scheduler"]


def __getattr__(name: str) -> object:
    """A PyTorch optim name stepgrad does not have fails here, at once, with what to do."""
    raise AttributeError(f"stepgrad.optim has no {name!r}: torch.optim.{name} is outside "
                         f"stepgrad's course subset (see stepgrad.optim.__all__ for what there is)")
